"""Streaming: case files larger than memory, processed in fixed-size chunks.

A source is a Parquet file, a directory of Parquet files (a dataset, read file by file in natural
name order: ``part-2`` before ``part-10``), a CSV file (UTF-8 or GB18030, streamed by
``pyarrow.csv.open_csv``) or an ``.xlsx`` workbook (read whole, then cut; workbooks are small).
Raw Arrow batches are re-cut to exactly ``chunk_rows`` rows (the last chunk may be shorter), each
chunk is made canonical by :func:`grouper.cases.canonicalise`, processed by a pure table function
and appended to the output (Parquet file, directory of Parquet parts, or CSV).

Peak memory is bounded by the chunk size, not the input size: at most one chunk is being read,
one processed and one written at a time (two bounded queues between three threads, so reading,
computing and writing overlap). Every row is processed exactly once and written in input order,
and the functions applied are row-wise, so the output is the same whatever ``chunk_rows`` and
``threads`` are.
"""

from __future__ import annotations

import queue
import re
import resource
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from grouper.cases import canonicalise
from grouper.errors import CaseFileError
from grouper.schema import DIAGNOSIS_PARTS, PROCEDURE_PARTS, alias_map

from . import outputs

#: Default rows per chunk: about 0.3-0.5 GB of working memory per chunk in flight (measured).
DEFAULT_CHUNK_ROWS = 500_000

#: Canonical columns that :func:`grouper.group` reads (``weight`` is its alias of birth_weight).
GROUP_INPUT_COLUMNS = (
    "case_id", "sex", "age", "age_days", "birth_weight", "weight", "dept", "los", "icu_hours",
    "diagnoses", "procedures",
)

#: Case columns :func:`payment.price` reads, besides the group column (kept in step with
#: payment/pricing.py and special_review.py; tests compare against unpruned pricing).
PRICE_INPUT_COLUMNS = (
    "case_id", "hospital_id", "hospital_level", "total_cost", "los", "discharge_mode",
    "admission_date", "discharge_date", "month", "year", "patient_id", "birth_weight", "new_tech",
    "new_tech_cost", "icu", "status", "age_days",
)

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt")


# --- reading ---------------------------------------------------------------------------------------


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.as_posix())]


def parquet_files(path: str | Path) -> list[Path]:
    """The Parquet files of a file or dataset directory, in natural name order."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise CaseFileError(str(p), None, None, "file or directory does not exist")
    files = [f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in PARQUET_SUFFIXES
             and not any(part.startswith((".", "_")) for part in f.relative_to(p).parts)]
    if not files:
        raise CaseFileError(str(p), None, None, "directory holds no .parquet files")
    return sorted(files, key=_natural_key)


def _wanted(names: Iterable[str], columns: Iterable[str] | None) -> list[str] | None:
    """Raw column names whose canonical column is in ``columns`` (None = all)."""
    if columns is None:
        return None
    want = set(columns)
    aliases = alias_map()
    parts = {c for grp in (*DIAGNOSIS_PARTS, *PROCEDURE_PARTS) for c in grp}
    keep = []
    for n in names:
        key = str(n).strip().lstrip("\ufeff")
        canon = aliases.get(key, key)
        if canon in want or key in want or (key in parts and ({"diagnoses", "procedures"} & want)):
            keep.append(n)
    return keep


def _sniff_encoding(path: Path) -> str:
    """'utf-8' when the first 4 MB decode as UTF-8, else 'gb18030' (the other encoding in use)."""
    with open(path, "rb") as f:
        head = f.read(4 << 20)
    for cut in range(4):  # the read may end inside a multi-byte character
        try:
            head[: len(head) - cut].decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            continue
    return "gb18030"


def _csv_header(path: Path, encoding: str) -> list[str]:
    import csv
    import io

    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    text = first.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="replace")
    return next(csv.reader(io.StringIO(text)), [])


class _Tell:
    """A binary file that remembers how far it has been read (for CSV progress)."""

    def __init__(self, path: Path):
        self.f = open(path, "rb")  # noqa: SIM115 - closed by the reader below
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        b = self.f.read(n)
        self.pos += len(b)
        return b

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        self.f.close()

    @property
    def closed(self) -> bool:
        return self.f.closed

    def readable(self) -> bool:
        return True


class CaseSource:
    """A case file or dataset read in chunks of exactly ``chunk_rows`` raw rows.

    ``columns``: canonical column names to read (raw Chinese headers that map to them are kept);
    None reads every column. ``num_rows`` is exact for Parquet and None for CSV, where
    ``fraction_read()`` tells how much of the file has been consumed.
    """

    def __init__(self, path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                 columns: Iterable[str] | None = None, encoding: str | None = None):
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
        self.path = Path(path)
        self.chunk_rows = int(chunk_rows)
        self.columns = None if columns is None else tuple(columns)
        self._pos: Callable[[], float] = lambda: 0.0
        suffix = self.path.suffix.lower()
        if self.path.is_dir() or suffix in PARQUET_SUFFIXES:
            self.kind = "parquet"
            self.files = parquet_files(self.path)
            schemas, n = [], 0
            for f in self.files:
                try:
                    meta = pq.read_metadata(f)
                except (pa.ArrowInvalid, OSError) as e:
                    raise CaseFileError(str(f), None, None, f"not a readable Parquet file: {e}") from None
                schemas.append(meta.schema.to_arrow_schema())
                n += meta.num_rows
            try:
                # files may differ (a column missing, int in one and text in another)
                self.schema = pa.unify_schemas(schemas, promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                raise CaseFileError(str(self.path), None, None, f"files have incompatible columns: {e}") from None
            self.num_rows: int | None = n
        elif suffix in CSV_SUFFIXES:
            if not self.path.is_file():
                raise CaseFileError(str(self.path), None, None, "file does not exist")
            self.kind = "csv"
            self.encoding = encoding or _sniff_encoding(self.path)
            self.header = _csv_header(self.path, self.encoding)
            self.num_rows = None
        elif suffix in (".xlsx", ".xlsm"):
            self.kind = "xlsx"
            self.num_rows = None
        else:
            raise CaseFileError(str(self.path), None, None,
                                f"unknown file type {suffix!r}; allowed: .parquet, a directory of .parquet files, .csv, .xlsx")

    # raw record batches, in file order, of whatever size the reader gives
    def _batches(self) -> Iterator[pa.Table]:
        if self.kind == "parquet":
            # a pandas index written to the file is not a case column
            cols = [n for n in self.schema.names if not n.startswith("__index_level_")]
            names = cols if self.columns is None else _wanted(cols, self.columns)
            schema = pa.schema([self.schema.field(n) for n in names])
            done = 0
            total = max(1, self.num_rows or 1)
            self._pos = lambda: done / total
            for f in self.files:
                pf = pq.ParquetFile(f)
                have = [n for n in schema.names if n in pf.schema_arrow.names]
                for b in pf.iter_batches(batch_size=max(self.chunk_rows, 1024), columns=have):
                    t = pa.Table.from_batches([b])
                    for n in schema.names:  # a file that lacks a column of the dataset
                        if n not in have:
                            t = t.append_column(schema.field(n), pa.nulls(len(t), schema.field(n).type))
                    done += len(t)
                    yield t.select(schema.names).cast(schema)
        elif self.kind == "csv":
            names = _wanted(self.header, self.columns)
            f = _Tell(self.path)
            size = max(1, self.path.stat().st_size)
            self._pos = lambda: f.tell() / size
            try:
                reader = pacsv.open_csv(
                    f,
                    read_options=pacsv.ReadOptions(encoding=self.encoding, block_size=1 << 22),
                    # every column as text: "007" stays "007"; typing is canonicalise's job
                    convert_options=pacsv.ConvertOptions(
                        column_types={h: pa.string() for h in self.header},
                        strings_can_be_null=True, include_columns=names,
                    ),
                )
                for b in reader:
                    yield pa.Table.from_batches([b])
            except (pa.ArrowInvalid, UnicodeDecodeError) as e:
                raise CaseFileError(str(self.path), None, None,
                                    f"cannot be read as CSV in {self.encoding}: {e}") from None
            finally:
                f.close()
        else:
            from grouper.cases import _read_any

            df = _read_any(self.path)
            names = _wanted(df.columns, self.columns)
            if names is not None:
                df = df[names]
            self._pos = lambda: 1.0
            yield pa.Table.from_pandas(df, preserve_index=False)

    def fraction_read(self) -> float:
        """Share of the input consumed so far (bytes for CSV, rows for Parquet), 0..1."""
        return min(1.0, max(0.0, self._pos()))

    def tables(self) -> Iterator[pa.Table]:
        """Raw Arrow tables of exactly ``chunk_rows`` rows (the last one may be shorter)."""
        buf: list[pa.Table] = []
        have = 0
        proto: pa.Table | None = None
        for t in self._batches():
            proto = t if proto is None else proto
            buf.append(t)
            have += len(t)
            while have >= self.chunk_rows:
                whole = pa.concat_tables(buf) if len(buf) > 1 else buf[0]
                yield whole.slice(0, self.chunk_rows)
                proto = whole.slice(0, 1)  # something was yielded
                rest = whole.slice(self.chunk_rows)
                buf = [rest] if len(rest) else []
                have = len(rest)
        if have:
            yield pa.concat_tables(buf) if len(buf) > 1 else buf[0]
        elif proto is None or proto.num_rows == 0:
            # nothing was yielded. A header-only input still gives one empty chunk, so the output has its columns
            yield proto.slice(0, 0) if proto is not None else self._empty()

    def _empty(self) -> pa.Table:
        if self.kind == "csv":
            names = _wanted(self.header, self.columns) or self.header
            return pa.table({n: pa.array([], pa.string()) for n in names})
        cols = [n for n in self.schema.names if not n.startswith("__index_level_")]
        names = cols if self.columns is None else _wanted(cols, self.columns)
        return pa.schema([self.schema.field(n) for n in names]).empty_table()

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """Canonical case chunks (see :func:`grouper.cases.canonicalise`)."""
        offset = 0
        for t in self.tables():
            yield canonical_chunk(t, str(self.path), offset)
            offset += len(t)


def canonical_chunk(table: pa.Table, source: str = "<cases>", offset: int = 0) -> pd.DataFrame:
    """One raw chunk -> canonical DataFrame; error rows are numbered from the file start."""
    try:
        return canonicalise(table.to_pandas(), source)
    except CaseFileError as e:
        if e.row is None:
            raise
        raise CaseFileError(e.file, e.column, e.row + offset, e.problem) from None


def iter_cases(path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
               columns: Iterable[str] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical case chunks of a file or dataset, in file order."""
    return iter(CaseSource(path, chunk_rows=chunk_rows, columns=columns))


# --- writing ---------------------------------------------------------------------------------------


def _to_arrow(df: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(df, pa.Table):
        return df
    return pa.Table.from_pandas(df, preserve_index=False)


class ChunkWriter:
    """Append tables to a Parquet file, a directory of Parquet parts, or a CSV file.

    The kind follows the path: ``.parquet``/``.pq`` -> one file (one row group per chunk),
    ``.csv`` -> one CSV file (UTF-8, header once), ``.arrow`` -> an Arrow IPC file (one
    record batch per chunk, for scratch data), anything else -> a directory of
    ``part-000000.parquet`` files, one per chunk. Every chunk must have the first chunk's
    columns; types are cast to the first chunk's schema.

    Atomic: chunks go to a temporary beside the target, renamed into place by :meth:`commit`
    (``with`` commits on success and removes the temporary on any error or interruption).
    """

    def __init__(self, path: str | Path):
        self.target = Path(path)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        outputs.clean_stale(self.target)
        self.path = outputs.temporary_for(self.target)
        outputs.remove_path(self.path)
        suffix = self.target.suffix.lower()
        self.kind = ("parquet" if suffix in PARQUET_SUFFIXES else "csv" if suffix in CSV_SUFFIXES
                     else "arrow" if suffix == ".arrow" else "dir")
        self.schema: pa.Schema | None = None
        self._pq: pq.ParquetWriter | pa.ipc.RecordBatchFileWriter | None = None
        self._csv = None
        self.parts = 0
        self.rows = 0
        if self.kind == "dir":
            self.path.mkdir(parents=True, exist_ok=True)

    def write(self, chunk: pd.DataFrame | pa.Table) -> None:
        if self.kind == "csv":
            df = chunk.to_pandas() if isinstance(chunk, pa.Table) else chunk
            if self._csv is None:
                self._csv = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
                df.to_csv(self._csv, index=False)
            else:
                df.to_csv(self._csv, index=False, header=False)
            self.rows += len(df)
            return
        t = _to_arrow(chunk)
        if self.schema is None:
            self.schema = t.schema
        elif t.schema != self.schema:
            # e.g. an all-null chunk of a text column: keep the first chunk's types
            t = t.cast(self.schema)
        if self.kind == "parquet":
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, self.schema)
            self._pq.write_table(t, row_group_size=max(1, len(t)))
        elif self.kind == "arrow":  # scratch files between passes: exact types, no encoding cost
            if self._pq is None:
                # lz4: a priced case is ~200 bytes raw; compressed scratch is a fraction of that
                self._pq = pa.ipc.new_file(str(self.path), self.schema,
                                           options=pa.ipc.IpcWriteOptions(compression="lz4"))
            for b in t.combine_chunks().to_batches(max_chunksize=max(1, len(t))):
                self._pq.write_batch(b)
        else:
            pq.write_table(t, self.path / f"part-{self.parts:06d}.parquet")
        self.parts += 1
        self.rows += len(t)

    def close(self) -> None:
        """Finish the output and move it into place (same as :meth:`commit`)."""
        self.commit()

    def _close_writers(self) -> None:
        if self._pq is not None:
            self._pq.close()
            self._pq = None
        if self._csv is not None:
            self._csv.close()
            self._csv = None

    def commit(self) -> None:
        """Finish the file and move it into place."""
        self._close_writers()
        if self.target.exists() and not self.path.exists():
            return  # already committed
        if not self.path.exists():
            raise OSError(f"{self.target}: nothing was written")
        outputs.commit(self.path, self.target)

    def abort(self) -> None:
        """Drop everything written so far; a previous output at the target stays."""
        try:
            self._close_writers()
        finally:
            outputs.remove_path(self.path)

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()


# --- the pipeline ----------------------------------------------------------------------------------


@dataclass
class StreamStats:
    """What a streaming run did: rows, chunks, wall seconds, peak resident memory (MB)."""

    rows: int
    chunks: int
    seconds: float
    peak_rss_mb: float

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


def _producer(it: Iterator, q: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in it:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
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
    stop = threading.Event()
    raw_q: queue.Queue = queue.Queue(maxsize=1)
    out_q: queue.Queue = queue.Queue(maxsize=1)
    reader = threading.Thread(target=_producer, args=(source.tables(), raw_q, stop), daemon=True)
    writer_exc: list[BaseException] = []
    label = progress if isinstance(progress, str) else ("cases" if progress else None)
    ctx = make_progress() if label else nullcontext()
    rows = chunks = 0

    def write_loop(w: ChunkWriter | None) -> None:
        failed = False
        while True:
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
        out_q.put(_DONE)
        writer.join()
        stop.set()
        reader.join(timeout=5)
        if writer_exc:
            raise writer_exc[0]
        if bar is not None:
            bar.update(task, total=rows, completed=rows, shown_total=f"{rows:,}")
    return StreamStats(rows, chunks, time.perf_counter() - t0, peak_rss_mb())


# --- grouping --------------------------------------------------------------------------------------


def _scheme(scheme):
    from grouper import Scheme, load_scheme

    return scheme if isinstance(scheme, Scheme) else load_scheme(scheme)


def group_file(input: str | Path, output: str | Path | None, scheme, *, strict: bool = False,
               mapping: bool = True, keep_columns: bool = False,
               chunk_rows: int = DEFAULT_CHUNK_ROWS, threads: int | None = None,
               progress: bool | str = False,
               on_chunk: Callable[[pd.DataFrame], None] | None = None) -> StreamStats:
    """Group a case file or Parquet dataset chunk by chunk into ``output``.

    ``scheme``: a loaded :class:`grouper.Scheme` or its folder. The output holds what
    :func:`grouper.group` returns for the whole input (one row per case, input order), written
    as Parquet (``.parquet``), CSV (``.csv``) or a directory of Parquet parts. ``threads``:
    numba threads for the kernel (None = all cores). Without ``keep_columns`` only the columns
    the grouper reads are loaded.
    """
    from grouper import group

    s = _scheme(scheme)
    source = CaseSource(input, chunk_rows=chunk_rows,
                        columns=None if keep_columns else GROUP_INPUT_COLUMNS)

    def fn(df: pd.DataFrame) -> pd.DataFrame:
        return group(df, s, strict=strict, mapping=mapping, keep_columns=keep_columns, threads=threads)

    return run_chunks(source, fn, output, progress="grouping" if progress is True else progress,
                      on_chunk=on_chunk)


# --- pricing ---------------------------------------------------------------------------------------


def check_row_wise(policy, *, special_review: bool = True) -> None:
    """Raise when pricing under ``policy`` needs a step that looks across cases but the caller
    prices chunks independently (:func:`drgsim.dask_engine.price_rows`).

    :func:`group_price_file` and :func:`drgsim.dask_engine.price` do those steps exactly in
    extra passes (:class:`CrossCaseLedger`, :class:`ReviewLedger`) and do not call this.
    """
    problems = []
    if policy.readmission.enabled:
        problems.append("readmission.enabled = true (the rule looks at a patient's other stays)")
    if policy.point_value.source == "budget":
        problems.append('point_value.source = "budget" (yuan per point depends on all cases)')
    if problems:
        raise ValueError("cannot price chunk by chunk exactly: " + "; ".join(problems)
                         + ". Use stream.group_price_file / dask_engine.price, or payment.price.")


def needs_first_pass(policy) -> bool:
    """Whether pricing under ``policy`` looks across cases before yuan can be computed: the
    readmission rule (a patient's other stays) or a budget point value (Σ points of all)."""
    return bool(policy.readmission.enabled or policy.point_value.source == "budget")


_READMIT_COLUMNS = ("patient_id", "admission_date", "discharge_date")


class CrossCaseLedger:
    """First pass of pricing for the readmission rule and a budget point value.

    Each chunk is priced with no readmission penalty (``payment.price(...,
    readmit_flags=zeros)``), and :meth:`add` keeps, per stay the rule can order (patient id
    and both dates known), a compact fact: row, patient id text, hospital code, admission and
    discharge day, group code, whether it may be penalised (not excluded or ungrouped), and
    its points. With a spill folder the facts go to ``buckets`` Arrow files by a hash of the
    patient id, so every bucket holds all stays of its patients; :meth:`decide` then runs
    :func:`payment.outliers.readmission_flags` (the rule ``payment.price`` uses) on one bucket
    at a time, so the flags are exactly the whole-table ones and memory stays flat (the result
    kept is the penalised rows, 8 bytes each).

    For ``point_value.source = "budget"`` the points of every stay are summed exactly
    (:func:`payment.pricing.exact_partials`, a few floats per chunk); the points of stays that
    may still be penalised are added by :meth:`decide` once their flag is known. The total is
    ``math.fsum`` of all partials: the :func:`payment.pricing.total_points` of the whole table.
    """

    def __init__(self, weights, policy, spill_dir: str | Path | None = None,
                 buckets: int = 64) -> None:
        from payment.outliers import prefix_match
        from payment.pricing import _GroupTable

        table = _GroupTable(weights, policy)
        self.rule = policy.readmission
        self.readmit = bool(self.rule.enabled)
        self.budget = policy.point_value.source == "budget"
        self.index = table.index
        self.exempt = prefix_match(table.names, self.rule.exempt_groups,
                                   self.rule.exempt_prefixes)
        self.hosp: dict[str, int] = {}
        self.partials: list[float] = []
        self.nonfinite: list[float] = []
        self.rows = 0
        self.spill = Path(spill_dir) if spill_dir is not None else None
        self.buckets = max(1, int(buckets)) if spill_dir is not None else 1
        self.facts: list[pa.Table] = []
        self._writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
        self.flag_rows: np.ndarray | None = None
        self.points_total: float | None = None

    def _add_points(self, pts: np.ndarray) -> None:
        from payment.pricing import exact_partials

        fin = np.isfinite(pts)
        if not fin.all():
            self.nonfinite.append(float(pts[~fin].sum()))
        self.partials.extend(exact_partials(pts[fin]))
        if len(self.partials) > 4096:  # keep the list short: the same exact sum in fewer floats
            self.partials = exact_partials(np.asarray(self.partials))

    def add(self, priced: pd.DataFrame, cases: pd.DataFrame, offset: int) -> None:
        """Facts of one chunk priced with ``readmit_flags`` all False, rows from ``offset``."""
        from payment.outliers import CLASSES
        from payment.pricing import _DAY_UNKNOWN, _days, _text

        n = len(priced)
        self.rows += n
        pts = priced["points"].to_numpy(np.float64)
        later = np.zeros(n, bool)  # stays whose points wait for their flag
        if self.readmit and all(c in cases.columns for c in _READMIT_COLUMNS):
            pat = _text(cases, "patient_id").to_numpy(object)
            ad = _days(cases, "admission_date")
            dd = _days(cases, "discharge_date")
            ok = (pat != "") & (ad != _DAY_UNKNOWN) & (dd != _DAY_UNKNOWN)
            idx = np.flatnonzero(ok)
            cc = priced["case_class"].cat.codes.to_numpy()
            eligible = (cc != CLASSES.index("excluded")) & (cc != CLASSES.index("ungroupable"))
            later = ok & eligible
            gtext = _text(priced, "group")
            gcodes, guniq = pd.factorize(gtext.iloc[idx].to_numpy(object))
            gmap = (self.index.get_indexer(pd.Index(guniq)) if len(guniq)
                    else np.zeros(0, np.int64)).astype(np.int64)
            gmap = np.where(np.asarray(guniq, object) == "", -1, gmap)
            hcodes, huniq = pd.factorize(_text(cases, "hospital_id").iloc[idx].to_numpy(object))
            hmap = np.array([-1 if u == "" else self.hosp.setdefault(u, len(self.hosp))
                             for u in huniq], dtype=np.int64)
            t = pa.table({
                "row": pa.array(idx.astype(np.int64) + offset),
                "patient": pa.array(pat[idx], pa.large_string()),
                "hospital": pa.array(hmap[hcodes] if len(idx) else np.zeros(0, np.int64)),
                "admit": pa.array(ad[idx]), "discharge": pa.array(dd[idx]),
                "group": pa.array(gmap[gcodes] if len(idx) else np.zeros(0, np.int64)),
                "eligible": pa.array(eligible[idx]), "points": pa.array(pts[idx]),
            })
            self._store(t, pat[idx])
        if self.budget:
            self._add_points(pts[~later])

    def merge(self, facts: pa.Table | None, partials: list[float], nonfinite: list[float]
              ) -> None:
        """Add another ledger's ``facts`` (one table, or None) and point partials; parts must
        come in input order (as :func:`drgsim.dask_engine.price` hands them in)."""
        if facts is not None:
            self._store(facts)
        self.partials.extend(partials)
        self.nonfinite.extend(nonfinite)
        if len(self.partials) > 4096:
            from payment.pricing import exact_partials

            self.partials = exact_partials(np.asarray(self.partials))

    def _store(self, t: pa.Table, patients: np.ndarray | None = None) -> None:
        if self.spill is None:
            self.facts.append(t)
            return
        if patients is None:
            patients = t.column("patient").to_numpy(zero_copy_only=False)
        bucket = (pd.util.hash_array(patients, categorize=True) % np.uint64(self.buckets)
                  ).astype(np.int64)
        # one stable sort by bucket keeps input order inside each bucket; then one slice each
        order = np.argsort(bucket, kind="stable")
        t = t.take(pa.array(order))
        sb = bucket[order]
        starts = np.flatnonzero(np.r_[True, sb[1:] != sb[:-1]]) if len(sb) else np.zeros(0, int)
        ends = np.r_[starts[1:], len(sb)]
        for b, lo, hi in zip(sb[starts].tolist(), starts.tolist(), ends.tolist()):
            w = self._writers.get(b)
            if w is None:
                w = pa.ipc.new_file(str(self.spill / f"readmit-{b:03d}.arrow"), t.schema,
                                    options=pa.ipc.IpcWriteOptions(compression="lz4"))
                self._writers[b] = w
            w.write_table(t.slice(lo, hi - lo))

    def _tables(self) -> Iterator[pa.Table]:
        if self.spill is None:
            if self.facts:
                yield pa.concat_tables(self.facts)
            self.facts.clear()
            return
        for w in self._writers.values():
            w.close()
        for b in sorted(self._writers):
            path = self.spill / f"readmit-{b:03d}.arrow"
            with pa.OSFile(str(path)) as f:
                t = pa.ipc.open_file(f).read_all()
            path.unlink()
            yield t
        self._writers.clear()

    def decide(self) -> None:
        """Penalised rows (``flag_rows``, sorted) and, for a budget, ``points_total``."""
        from payment.outliers import readmission_flags

        found = [np.zeros(0, np.int64)]
        for t in self._tables():
            if t.num_rows == 0:
                continue
            # rows of a bucket are in input order (chunks arrive in order), as the rule needs
            # for its last tie-break
            pcodes = pd.factorize(t.column("patient").to_numpy(zero_copy_only=False))[0]
            eligible = t.column("eligible").to_numpy(zero_copy_only=False)
            pen = readmission_flags(
                pcodes.astype(np.int64), t.column("hospital").to_numpy(),
                t.column("admit").to_numpy(), t.column("discharge").to_numpy(),
                t.column("group").to_numpy(), eligible, self.exempt, self.rule)
            found.append(t.column("row").to_numpy()[pen])
            if self.budget:
                pts = t.column("points").to_numpy()[eligible]
                self._add_points(np.where(pen[eligible], pts * self.rule.factor, pts))
        self.flag_rows = np.sort(np.concatenate(found))
        if self.budget:
            import math

            self.points_total = (float(sum(self.nonfinite)) if self.nonfinite
                                 else math.fsum(self.partials))

    def flags(self, offset: int, n: int) -> np.ndarray | None:
        """Readmission flags of rows ``offset`` … ``offset + n - 1`` (None: rule off)."""
        if not self.readmit:
            return None
        rows = self.flag_rows
        lo, hi = np.searchsorted(rows, [offset, offset + n])
        out = np.zeros(n, bool)
        out[rows[lo:hi] - offset] = True
        return out


def review_facts(priced: pd.DataFrame, cases: pd.DataFrame, offset: int = 0
                 ) -> tuple[pa.Table, pd.DataFrame]:
    """What the special-review quota needs from one chunk of priced cases (row-wise part).

    Returns (positive candidates: row (``offset`` + position), hospital_id, year, period,
    gain_c and amount_c in cents, case_id; quota bases: hospital_id, year, period, n = cases
    not excluded). Both are small: candidates are a few per cent of cases.
    """
    from payment import round_half_up_cents
    from payment.outliers import CLASSES

    codes, uniq = pd.factorize(priced["hospital_id"].astype("str").fillna(""))
    uniq = np.asarray(uniq, dtype=object)
    year = _years(cases)
    if len(year) and (year.min() < 0 or year.max() >= 1 << 20):
        raise ValueError("special review: a year outside 0..1048575")
    period = priced["sr_quarter"].to_numpy(np.int64)
    key = (codes.astype(np.int64) << 25) | (year << 4) | period  # hospital × year × period
    in_scheme = priced["case_class"].cat.codes.to_numpy() != CLASSES.index("excluded")
    ks, counts = np.unique(key[in_scheme], return_counts=True)
    bases = pd.DataFrame({"hospital_id": uniq[ks >> 25] if len(uniq) else np.zeros(0, object),
                          "year": (ks >> 4) & ((1 << 21) - 1), "period": ks & 15, "n": counts})
    gain_c = np.round(priced["sr_gain"].to_numpy(np.float64) * 100.0)
    idx = np.flatnonzero(priced["sr_candidate"].to_numpy(bool) & (gain_c > 0))
    pay_c = round_half_up_cents(priced["payment"].to_numpy(np.float64)[idx])
    cands = pa.table({
        "row": pa.array(idx.astype(np.int64) + offset),
        "hospital_id": pa.array(uniq[codes[idx]] if len(idx) else np.zeros(0, object), pa.string()),
        "year": pa.array(year[idx]), "period": pa.array(period[idx]),
        "gain_c": pa.array(gain_c[idx]), "amount_c": pa.array(gain_c[idx] + pay_c),
        "case_id": pa.array(priced["case_id"].iloc[idx].astype("str").to_numpy(object),
                            pa.large_string()),
    })
    return cands, bases


class ReviewLedger:
    """The special-review facts of every chunk, kept compactly until the quota is decided.

    Per positive candidate about 50 bytes (row, one int64 hospital × year × period key, gain and
    amount in cents, case id for ties); per hospital × year × period one count. Hospitals are
    numbered in order of appearance: the numbering only groups rows.
    """

    def __init__(self, spill_dir: str | Path | None = None, buckets: int = 16) -> None:
        self.hosp: dict[str, int] = {}
        self.cands: list[pa.Table] = []
        self.base: dict[int, int] = {}
        # with a spill folder, candidates go to ``buckets`` files by hospital, and the quota is
        # decided one bucket at a time: memory stays flat however many cases there are
        self.spill = Path(spill_dir) if spill_dir is not None else None
        self.buckets = max(1, int(buckets)) if spill_dir is not None else 1
        self._writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}

    def _key(self, hospital: np.ndarray, year: np.ndarray, period: np.ndarray) -> np.ndarray:
        codes, uniq = pd.factorize(np.asarray(hospital, dtype=object))
        glob = np.array([self.hosp.setdefault(u, len(self.hosp)) for u in uniq], dtype=np.int64)
        h = glob[codes] if len(codes) else np.zeros(0, np.int64)
        return (h << 25) | (np.asarray(year, np.int64) << 4) | np.asarray(period, np.int64)

    def add_facts(self, cands: pa.Table, bases: pd.DataFrame) -> None:
        """Add one chunk's :func:`review_facts` (chunks may come in any order)."""
        bk = self._key(bases["hospital_id"].to_numpy(object), bases["year"].to_numpy(),
                       bases["period"].to_numpy())
        for k, c in zip(bk.tolist(), bases["n"].tolist()):
            self.base[k] = self.base.get(k, 0) + int(c)
        key = self._key(cands.column("hospital_id").to_numpy(zero_copy_only=False),
                        cands.column("year").to_numpy(), cands.column("period").to_numpy())
        t = pa.table({
            "row": cands.column("row"), "key": pa.array(key, pa.int64()),
            "gain_c": cands.column("gain_c"), "amount_c": cands.column("amount_c"),
            "case_id": cands.column("case_id"),
        })
        if self.spill is None:
            self.cands.append(t)
            return
        bucket = (key >> 25) % self.buckets
        for b in np.unique(bucket).tolist():
            w = self._writers.get(b)
            if w is None:
                w = pa.ipc.new_file(str(self.spill / f"review-{b:03d}.arrow"), t.schema,
                                    options=pa.ipc.IpcWriteOptions(compression="lz4"))
                self._writers[b] = w
            w.write_table(t.filter(pa.array(bucket == b)))

    def add(self, priced: pd.DataFrame, cases: pd.DataFrame, offset: int) -> None:
        """Add the facts of one chunk of priced cases starting at row ``offset``."""
        self.add_facts(*review_facts(priced, cases, offset))

    def _tables(self) -> Iterator[pa.Table]:
        if self.spill is None:
            if self.cands:
                yield pa.concat_tables(self.cands)
            self.cands.clear()
            return
        for w in self._writers.values():
            w.close()
        for b in sorted(self._writers):
            path = self.spill / f"review-{b:03d}.arrow"
            with pa.OSFile(str(path)) as f:
                t = pa.ipc.open_file(f).read_all()
            path.unlink()
            yield t
        self._writers.clear()

    def select(self, policy) -> pd.DataFrame:
        """The choice of :func:`payment.special_review.review` over all chunks: quota =
        floor(rate × base) per hospital × year × period; largest gain first, ties by case id;
        the first floor(approval rate × applied) are approved. Returns the applied rows only
        (row, approved, amount in yuan), sorted by row; other positive candidates are over
        quota."""
        from payment import quota

        sp = policy.special_review
        found = []
        for t in self._tables():
            if t.num_rows == 0:
                continue
            # Arrow orders text by UTF-8 bytes, which is code point order, as Python's sort
            order = pc.sort_indices(t, sort_keys=[("key", "ascending"), ("gain_c", "descending"),
                                                  ("case_id", "ascending")])
            t = t.drop_columns(["case_id"]).take(order)
            key = t.column("key").to_numpy()
            n = len(key)
            start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            glen = np.diff(np.r_[start, n])
            rank = np.arange(n) - np.repeat(start, glen)
            base = np.array([self.base.get(k, 0) for k in key[start].tolist()], dtype=np.int64)
            applied = rank < np.repeat(quota(base, sp.quota_rate), glen)
            n_applied = np.add.reduceat(applied.astype(np.int64), start)
            approved = applied & (rank < np.repeat(quota(n_applied, sp.approval_rate), glen))
            amount = np.where(approved, t.column("amount_c").to_numpy() / 100.0, 0.0)
            found.append(pd.DataFrame({"row": t.column("row").to_numpy()[applied],
                                       "approved": approved[applied], "amount": amount[applied]}))
        if not found:
            return pd.DataFrame({"row": np.zeros(0, np.int64), "approved": np.zeros(0, bool),
                                 "amount": np.zeros(0)})
        out = pd.concat(found, ignore_index=True)
        return out.sort_values("row", kind="stable").reset_index(drop=True)


def _years(cases: pd.DataFrame) -> np.ndarray:
    if "year" not in cases.columns:
        return np.zeros(len(cases), np.int64)
    return pd.to_numeric(cases["year"], errors="coerce").fillna(0).to_numpy(np.int64)


def apply_selection(priced: pd.DataFrame, sel: pd.DataFrame, offset: int) -> pd.DataFrame:
    """Set ``sr_applied, sr_approved, sr_status, sr_amount`` of rows ``offset``.. from the
    quota decision ``sel`` (:meth:`ReviewLedger.select`: the applied rows, sorted by row).

    Positive candidates not in ``sel`` are over quota; other rows keep their row-wise values.
    """
    from payment.special_review import STATUSES

    gain_c = np.round(priced["sr_gain"].to_numpy(np.float64) * 100.0)
    pos = priced["sr_candidate"].to_numpy(bool) & (gain_c > 0)
    if not pos.any():
        return priced
    lo, hi = np.searchsorted(sel["row"].to_numpy(), [offset, offset + len(priced)])
    part = sel.iloc[lo:hi]
    rows = part["row"].to_numpy() - offset
    ok = part["approved"].to_numpy(bool)
    out = priced.copy()
    applied = np.zeros(len(out), bool)
    applied[rows] = True
    approved = np.zeros(len(out), bool)
    approved[rows] = ok
    amount = np.where(pos, 0.0, out["sr_amount"].to_numpy(np.float64))
    amount[rows] = part["amount"].to_numpy()
    st = out["sr_status"].astype(object).to_numpy(object).copy()
    st[pos] = "over_quota"
    st[rows] = np.where(ok, "approved", "not_approved")
    out["sr_applied"] = applied
    out["sr_approved"] = approved
    out["sr_status"] = pd.Categorical(st, categories=list(STATUSES))
    out["sr_amount"] = amount
    return out


class _ScratchSource:
    """The record batches of an Arrow IPC scratch file, as a source for :func:`run_chunks`."""

    def __init__(self, path: Path):
        self.path = path
        with pa.OSFile(str(path)) as f:
            self.batches = pa.ipc.open_file(f).num_record_batches
        self.num_rows: int | None = None

    def tables(self) -> Iterator[pa.Table]:
        # plain reads, not a memory map: mapped pages of a 10 GB scratch file count as resident
        with pa.OSFile(str(self.path)) as f:
            rd = pa.ipc.open_file(f)
            for i in range(rd.num_record_batches):
                yield pa.Table.from_batches([rd.get_batch(i)])

    def fraction_read(self) -> float:
        return 0.0


def group_price_file(input: str | Path, output: str | Path, scheme, weights, policy, *,
                     strict: bool = False, mapping: bool = True, special_review: bool = True,
                     grouped: bool = False, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                     threads: int | None = None, progress: bool | str = False,
                     workdir: str | Path | None = None) -> StreamStats:
    """Group (unless ``grouped``) and price a case file chunk by chunk into ``output``.

    The output equals :func:`payment.price` on the whole input ("Priced cases" contract).
    ``weights``: a :class:`payment.Weights` or its directory; ``policy``: a Policy, preset name
    or TOML path. Steps that look across cases are done exactly in extra passes, with scratch
    files in ``workdir`` (default: beside ``output``):

    * the readmission rule and a budget point value (:func:`needs_first_pass`): a first pass
      groups each chunk, writes it to scratch (a grouped input is simply read again), prices it
      without readmission penalties and keeps compact facts (:class:`CrossCaseLedger`); the
      penalised stays and Σ points are then decided, and the pricing pass applies them;
    * special review, whose quota spans all cases of a hospital and period: the pricing pass
      writes priced chunks to scratch and keeps only positive candidates and quota bases
      (:class:`ReviewLedger`); a last pass applies the choice.

    ``grouped=True`` reads the group column from the input instead of grouping.
    """
    import tempfile

    from grouper import group
    from payment import Weights, load_policy, load_weights, price

    pol = policy if not isinstance(policy, (str, Path)) else load_policy(policy)
    w = weights if isinstance(weights, Weights) else load_weights(weights)
    s = None if grouped else _scheme(scheme)
    do_sr = special_review and pol.special_review.enabled
    first = needs_first_pass(pol)
    need = {*PRICE_INPUT_COLUMNS, pol.group_col, *([] if grouped else GROUP_INPUT_COLUMNS)}
    source = CaseSource(input, chunk_rows=chunk_rows, columns=sorted(need))
    label = ("pricing" if grouped else "grouping + pricing") if progress is True else progress

    def grouped_chunk(df: pd.DataFrame) -> pd.DataFrame:
        g = df if grouped else group(df, s, strict=strict, mapping=mapping, keep_columns=True,
                                     threads=threads)
        if not grouped and pol.group_col != "drg" and pol.group_col not in g.columns:
            raise KeyError(f"policy prices column {pol.group_col!r}; DRG grouping gives 'drg'")
        return g

    def pricer(cross: CrossCaseLedger | None, ledger: ReviewLedger | None):
        pos = {"offset": 0}

        def fn(g: pd.DataFrame) -> pd.DataFrame:
            off = pos["offset"]
            kw = {}
            if cross is not None:
                kw = {"readmit_flags": cross.flags(off, len(g)),
                      "points_total": cross.points_total}
            out = price(g, w, pol, special_review=special_review, **kw)
            out.attrs = {}
            if ledger is not None:
                ledger.add(out, g, off)
            pos["offset"] += len(out)
            return out
        return fn

    if not (do_sr or first):
        price_fn = pricer(None, None)
        return run_chunks(source, lambda df: price_fn(grouped_chunk(df)), output,
                          progress=label, canonical=not grouped)
    out_path = Path(output)
    tmp_dir = Path(workdir) if workdir is not None else out_path.resolve().parent
    tmp_dir.mkdir(parents=True, exist_ok=True)
    outputs.sweep_scratch(tmp_dir, "price")  # left by a killed run (SIGKILL cannot be caught)
    seconds = 0.0
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix=outputs.scratch_prefix("price")) as tmp:
        cross = None
        src2, canonical2, regroup = source, not grouped, True
        if first:
            # pass 1: group (kept as scratch), price without penalties, collect the facts
            cross = CrossCaseLedger(w, pol, spill_dir=tmp)
            pos = {"offset": 0}
            keep = {*PRICE_INPUT_COLUMNS, pol.group_col}

            def facts(df: pd.DataFrame) -> pd.DataFrame:
                g = grouped_chunk(df)
                pre = price(g, w, pol, special_review=False,
                            readmit_flags=np.zeros(len(g), bool), points_total=np.nan)
                cross.add(pre, g, pos["offset"])
                pos["offset"] += len(g)
                # the scratch keeps only what pricing reads (no diagnosis / procedure text)
                return g[[c for c in g.columns if c in keep]]

            scratch = None if grouped else Path(tmp) / "grouped.arrow"
            st = run_chunks(source, facts, scratch,
                            progress=f"{label} (pass 1 of 2)" if label else False,
                            canonical=not grouped)
            seconds += st.seconds
            cross.decide()
            if grouped:  # read the input again
                src2 = CaseSource(input, chunk_rows=chunk_rows, columns=sorted(need))
            else:
                src2, canonical2, regroup = _ScratchSource(scratch), False, False
        ledger = ReviewLedger(spill_dir=tmp) if do_sr else None
        priced_path = Path(tmp) / "priced.arrow" if do_sr else out_path
        price_fn = pricer(cross, ledger)

        def step(df: pd.DataFrame) -> pd.DataFrame:
            return price_fn(grouped_chunk(df) if regroup else df)

        st = run_chunks(src2, step, priced_path, canonical=canonical2,
                        progress=(f"{label} (pass 2 of 2)" if first else label) if label else False)
        seconds += st.seconds
        rows, chunks = st.rows, st.chunks
        if do_sr:
            sel = ledger.select(pol)
            done = {"n": 0}

            def patch(part: pd.DataFrame) -> pd.DataFrame:
                res = apply_selection(part, sel, done["n"])
                done["n"] += len(part)
                return res

            st = run_chunks(_ScratchSource(priced_path), patch, out_path, canonical=False)
            seconds += st.seconds
    return StreamStats(rows, chunks, seconds, peak_rss_mb())


# --- DIP -------------------------------------------------------------------------------------------


def dip_group_file(input: str | Path, output: str | Path | None, catalogue, scheme=None, *,
                   strict: bool = False, keep_columns: bool = False,
                   chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: bool | str = False,
                   on_chunk: Callable[[pd.DataFrame], None] | None = None) -> StreamStats:
    """:func:`grouper.dip.group` chunk by chunk (the catalogue is compiled once).

    ``catalogue``: a :class:`grouper.dip.Catalogue` or its folder; ``scheme`` as for
    :func:`grouper.dip.group`. Output columns are ``grouper.dip.OUTPUT_COLUMNS`` (the input
    columns first with ``keep_columns``).
    """
    from grouper.dip import Catalogue, compile_catalogue, load_catalogue
    from grouper.dip.group import group_frame

    cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    cc = compile_catalogue(cat, scheme)

    def fn(df: pd.DataFrame) -> pd.DataFrame:
        out = group_frame(df, cc, strict)
        if keep_columns:
            out = pd.concat([df.reset_index(drop=True), out.drop(columns=["case_id"])], axis=1)
        return out

    return run_chunks(CaseSource(input, chunk_rows=chunk_rows), fn, output,
                      progress="DIP grouping" if progress is True else progress, on_chunk=on_chunk)


# --- weights ---------------------------------------------------------------------------------------


def _compact_history(df: pd.DataFrame, gcol: str) -> pd.DataFrame:
    """The columns weight fitting reads, in small exact types (about 25 bytes a case)."""
    out = {}
    for c in (gcol, "hospital_id", "status"):
        if c in df.columns:
            out[c] = df[c].astype("str").astype("category")
    for c, t in (("hospital_level", np.float32), ("los", np.float32), ("year", np.float32),
                 ("total_cost", np.float64)):  # float32 holds these whole numbers exactly
        if c in df.columns:
            v = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
            if t is np.float32 and np.any(np.isfinite(v) & (v.astype(np.float32) != v)):
                t = np.float64  # a fractional LOS or a huge year: keep full precision
            out[c] = v.astype(t)
    return pd.DataFrame(out)


def weights_file(history: str | Path, policy, scheme=None, *, strict: bool = False,
                 mapping: bool = True, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                 threads: int | None = None, progress: bool | str = False):
    """:func:`payment.compute_weights` over a history file or dataset read in chunks.

    Chunks are grouped first when the history lacks the policy's group column (``scheme``
    needed, DRG only) and cut down to the seven columns the fit reads, in compact types, so
    memory is about 25 bytes a case (30 M cases: under 1 GB) instead of the whole table. The
    fit itself runs once on that table: trimmed means and quantiles per group do not decompose
    into per-chunk sums. Returns the same :class:`payment.Weights` as the in-memory call.
    """
    from pandas.api.types import union_categoricals

    from grouper import group
    from payment import compute_weights, load_policy

    pol = policy if not isinstance(policy, (str, Path)) else load_policy(policy)
    gcol = pol.group_col
    probe = CaseSource(history, chunk_rows=1)
    names = probe.schema.names if probe.kind == "parquet" else (
        probe.header if probe.kind == "csv" else [])
    grouped = gcol in names
    if not grouped and (scheme is None or gcol != "drg"):
        raise ValueError(f"{history}: no {gcol!r} column; group it first"
                         + (" (pass scheme= to group DRG histories on the way)" if gcol == "drg" else ""))
    s = None if grouped else _scheme(scheme)
    keep = [gcol, "hospital_id", "hospital_level", "total_cost", "los", "year", "status"]
    source = CaseSource(history, chunk_rows=chunk_rows,
                        columns=keep + ([] if grouped else list(GROUP_INPUT_COLUMNS)))
    parts: list[pd.DataFrame] = []

    def fn(df: pd.DataFrame) -> pd.DataFrame:
        g = df if grouped else group(df, s, strict=strict, mapping=mapping, keep_columns=True,
                                     threads=threads)
        return _compact_history(g, gcol)

    run_chunks(source, fn, None, on_chunk=parts.append, canonical=not grouped,
               progress="weights: reading" if progress is True else progress)
    if not parts:
        return compute_weights(pd.DataFrame({c: [] for c in keep}), pol)
    cols = {}
    for c in parts[0].columns:
        if isinstance(parts[0][c].dtype, pd.CategoricalDtype):
            cols[c] = pd.Series(union_categoricals([p[c] for p in parts]))
        else:
            cols[c] = np.concatenate([p[c].to_numpy() for p in parts])
        for p in parts:  # free each chunk's column as soon as it is merged
            del p[c]
    parts.clear()
    return compute_weights(pd.DataFrame(cols), pol)


# --- settlement ------------------------------------------------------------------------------------


def settlement_inputs_file(priced: str | Path, policy, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                           progress: bool | str = False):
    """:func:`payment.settlement.prepare` over a priced file read in chunks, merged once.

    Returns the per-hospital aggregates settlement runs on (memory: one chunk plus a few floats
    per hospital × month); sums equal the whole-table ones up to summation order, see
    :mod:`drgsim.aggregate`.
    """
    from payment import load_policy
    from payment.settlement import prepare

    from .aggregate import merge_settlement_inputs

    pol = policy if not isinstance(policy, (str, Path)) else load_policy(policy)
    parts = []
    run_chunks(CaseSource(priced, chunk_rows=chunk_rows), lambda df: df, None,
               on_chunk=lambda df: parts.append(prepare(df, pol)), canonical=False,
               progress="settlement: aggregating" if progress is True else progress)
    return merge_settlement_inputs(parts, pol)


__all__ = [
    "DEFAULT_CHUNK_ROWS", "GROUP_INPUT_COLUMNS", "PRICE_INPUT_COLUMNS", "CaseSource",
    "ChunkWriter", "CrossCaseLedger", "ReviewLedger", "StreamStats", "apply_selection",
    "canonical_chunk", "check_row_wise", "dip_group_file", "needs_first_pass",
    "group_file", "group_price_file", "iter_cases", "make_progress", "parquet_files",
    "peak_rss_mb", "run_chunks", "settlement_inputs_file", "weights_file",
]
