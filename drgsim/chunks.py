"""run_chunks(): read, compute and write chunks in three threads, with progress and stats.

Peak memory is bounded by the chunk size, not the input size: at most one chunk is being read,
one processed and one written at a time (two bounded queues between three threads, so reading,
computing and writing overlap). Every row is processed exactly once and written in input order.
"""

from __future__ import annotations

import os
import queue
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .sources import CaseSource, canonical_chunk
from .writer import ChunkWriter


@dataclass
class StreamStats:
    """What a streaming run did: rows, chunks, wall seconds, peak resident memory (MB).

    ``cpu_seconds``: CPU time of the whole process over the run (all threads, numba's
    included); ``read_cpu``, ``compute_cpu`` and ``write_cpu``: CPU seconds of the reader,
    compute and writer threads (numba worker threads count in ``cpu_seconds`` only). Their
    ratios to ``seconds`` say which stage bounds the run and whether both cores were busy.
    """

    rows: int
    chunks: int
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float = 0.0
    read_cpu: float = 0.0
    compute_cpu: float = 0.0
    write_cpu: float = 0.0

    @property
    def cores_busy(self) -> float:
        """Average cores in use: process CPU seconds per wall second."""
        return self.cpu_seconds / self.seconds if self.seconds > 0 else float("nan")

    def __add__(self, other: StreamStats) -> StreamStats:
        """Two passes over the same cases: times add up, rows and chunks are the later pass's."""
        return StreamStats(other.rows, other.chunks, self.seconds + other.seconds,
                           max(self.peak_rss_mb, other.peak_rss_mb),
                           self.cpu_seconds + other.cpu_seconds, self.read_cpu + other.read_cpu,
                           self.compute_cpu + other.compute_cpu, self.write_cpu + other.write_cpu)

    @property
    def rate(self) -> float:
        """Cases per second."""
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _producer(it: Iterator, q: queue.Queue, stop: threading.Event, cpu: list[float]) -> None:
    try:
        for item in it:
            cpu[0] = time.thread_time()
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        cpu[0] = time.thread_time()
        q.put(_DONE)
    except BaseException as e:  # handed to the consumer, which re-raises it
        q.put(_Failed(e))


def _consume(q: queue.Queue) -> Iterator:
    while True:
        item = q.get()
        if item is _DONE:
            return
        if isinstance(item, _Failed):
            raise item.exc
        yield item


def make_progress():
    """A rich progress bar: cases done of total (``~`` when estimated), cases/s, ETA, elapsed."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            s = task.finished_speed or task.speed
            if not s and task.elapsed and task.completed:
                s = task.completed / task.elapsed
            return Text(f"{s:,.0f} cases/s" if s else "- cases/s")

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.fields[shown_total]} cases"), Rate(),
        TextColumn("eta"), TimeRemainingColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=False,
    )


@contextmanager
def step_progress(quiet: bool = False) -> Iterator[Callable[..., None]]:
    """:func:`make_progress` for whole-table steps: yields ``step(label, cases=None)``, which
    marks the previous step done and shows a line for the next (``cases``: its size, kept for
    later steps when None; the same label again only sets the size). Nothing is shown when
    ``quiet``."""
    if quiet:
        yield lambda label, cases=None: None
        return
    state: dict = {"task": None, "cases": None, "label": None}
    with make_progress() as bar:
        def finish() -> None:
            n = state["cases"]
            if state["task"] is not None:
                bar.update(state["task"], total=n or 1, completed=n or 1,
                           shown_total=f"{n:,}" if n is not None else "?")
                bar.stop_task(state["task"])  # its time (and cases/s) stop here

        def step(label: str, cases: int | None = None) -> None:
            if cases is not None:
                state["cases"] = int(cases)
            n = state["cases"]
            shown = f"{n:,}" if n is not None else "?"
            if state["task"] is not None and state["label"] == label:  # the count, known now
                bar.update(state["task"], total=n, shown_total=shown)
                return
            finish()
            state["label"] = label
            state["task"] = bar.add_task(label, total=n, shown_total=shown)

        yield step
        finish()


def run_chunks(source: CaseSource, fn: Callable[[pd.DataFrame], pd.DataFrame | pa.Table],
               output: str | Path | None, *, progress: bool | str = False,
               on_chunk: Callable[[pd.DataFrame | pa.Table], None] | None = None,
               canonical: bool = True) -> StreamStats:
    """Read ``source`` chunk by chunk, apply ``fn`` to each canonical chunk, append to ``output``.

    Reading (Arrow, releases the GIL), computing and writing run in three threads joined by
    queues of one chunk each, so at most about four chunks are alive at once. ``on_chunk`` sees
    every result chunk in order (for aggregations over the whole input). With ``output=None``
    results are only passed to ``on_chunk``. ``progress`` may be a label. ``canonical=False``
    hands ``fn`` the raw columns (for already grouped files, which need no case columns).
    """
    t0 = time.perf_counter()
    c0 = _process_cpu()
    stop = threading.Event()
    raw_q: queue.Queue = queue.Queue(maxsize=1)
    out_q: queue.Queue = queue.Queue(maxsize=1)
    read_cpu, write_cpu = [0.0], [0.0]
    reader = threading.Thread(target=_producer, args=(source.tables(), raw_q, stop, read_cpu),
                              daemon=True)
    writer_exc: list[BaseException] = []
    label = progress if isinstance(progress, str) else ("cases" if progress else None)
    ctx = make_progress() if label else nullcontext()
    rows = chunks = 0

    def write_loop(w: ChunkWriter | None) -> None:
        failed = False
        while True:
            write_cpu[0] = time.thread_time()
            item = out_q.get()
            if item is _DONE or isinstance(item, _Failed):
                return
            if failed:  # keep draining so the compute thread never blocks on a dead writer
                continue
            try:
                if w is not None:
                    w.write(item)
                if on_chunk is not None:
                    on_chunk(item)
            except BaseException as e:
                writer_exc.append(e)
                stop.set()
                failed = True

    with (ChunkWriter(output) if output is not None else nullcontext()) as w, ctx as bar:
        task = None
        if bar is not None:
            shown = f"{source.num_rows:,}" if source.num_rows is not None else "?"
            task = bar.add_task(label, total=source.num_rows, shown_total=shown)
        writer = threading.Thread(target=write_loop, args=(w,), daemon=True)
        reader.start()
        writer.start()
        offset = 0
        cc0 = time.thread_time()
        try:
            for raw in _consume(raw_q):
                if stop.is_set():
                    break
                df = canonical_chunk(raw, str(source.path), offset) if canonical else raw.to_pandas()
                del raw
                res = fn(df)
                if len(res) != len(df):
                    raise RuntimeError(f"chunk function returned {len(res)} rows for {len(df)}")
                del df
                offset += len(res)
                rows += len(res)
                chunks += 1
                out_q.put(res)
                del res
                if bar is not None:
                    total = source.num_rows
                    if total is None:  # CSV: estimate the row count from the bytes read
                        frac = source.fraction_read()
                        total = int(rows / frac) if frac > 0 else None
                        bar.update(task, total=total, shown_total=f"~{total:,}" if total else "?")
                    bar.update(task, completed=rows)
        except BaseException as e:
            stop.set()
            out_q.put(_Failed(e))
            writer.join()
            reader.join(timeout=5)
            raise
        compute_cpu = time.thread_time() - cc0
        out_q.put(_DONE)
        writer.join()
        stop.set()
        reader.join(timeout=5)
        if writer_exc:
            raise writer_exc[0]
        if bar is not None:
            bar.update(task, total=rows, completed=rows, shown_total=f"{rows:,}")
    return StreamStats(rows, chunks, time.perf_counter() - t0, peak_rss_mb(),
                       _process_cpu() - c0, read_cpu[0], compute_cpu, write_cpu[0])


def _process_cpu() -> float:
    t = os.times()
    return t.user + t.system



__all__ = ["StreamStats", "make_progress", "peak_rss_mb", "run_chunks", "step_progress"]
