"""Compact facts of the cross-case rules kept until their decision: in memory, or spilled to
lz4 Arrow files by bucket so that each decision reads one bucket at a time (flat memory)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa


class Spill:
    """Tables added in order; :meth:`tables` gives them back, one table per bucket.

    Without ``spill_dir`` everything stays in memory as one bucket. With it, rows go to the file
    ``<spill_dir>/<name>-NNN.arrow`` of their bucket (``buckets`` files at most), in the order
    they were added; each file is deleted once read back.
    """

    def __init__(self, spill_dir: str | Path | None, name: str, buckets: int) -> None:
        self.dir = Path(spill_dir) if spill_dir is not None else None
        self.name = name
        self.buckets = max(1, int(buckets)) if spill_dir is not None else 1
        self.memory: list[pa.Table] = []
        self._writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}

    def _path(self, b: int) -> Path:
        return self.dir / f"{self.name}-{b:03d}.arrow"

    def add(self, t: pa.Table, bucket: Callable[[], np.ndarray]) -> None:
        """Add rows of ``t``; ``bucket()`` (int per row, 0 … buckets − 1) is called only when
        spilling."""
        if self.dir is None:
            self.memory.append(t)
            return
        bucket = bucket()
        # one stable sort by bucket keeps the order inside each bucket; then one slice each
        order = np.argsort(bucket, kind="stable")
        t = t.take(pa.array(order))
        sb = np.asarray(bucket)[order]
        starts = np.flatnonzero(np.r_[True, sb[1:] != sb[:-1]]) if len(sb) else np.zeros(0, int)
        ends = np.r_[starts[1:], len(sb)]
        for b, lo, hi in zip(sb[starts].tolist(), starts.tolist(), ends.tolist()):
            w = self._writers.get(b)
            if w is None:
                w = pa.ipc.new_file(str(self._path(b)), t.schema,
                                    options=pa.ipc.IpcWriteOptions(compression="lz4"))
                self._writers[b] = w
            w.write_table(t.slice(lo, hi - lo))

    def tables(self) -> Iterator[pa.Table]:
        """Each bucket's rows as one table (in bucket order); empties the spill."""
        if self.dir is None:
            if self.memory:
                yield pa.concat_tables(self.memory)
            self.memory.clear()
            return
        for w in self._writers.values():
            w.close()
        for b in sorted(self._writers):
            with pa.OSFile(str(self._path(b))) as f:
                t = pa.ipc.open_file(f).read_all()
            self._path(b).unlink()
            yield t
        self._writers.clear()


__all__ = ["Spill"]
