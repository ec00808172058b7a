"""The decision cache: the grouping kernel's answer decided from what decides it.

The interpreter (:func:`grouper._kernels.group_one`) walks MDC entries, steps, rule entries
and branches for every case. Most of what it tests is fixed by two codes: ``pdx_in`` leaves
and the step / MDC indexes read only the principal diagnosis's list-membership row,
``main_proc_in`` only the main procedure's row, ``has_proc`` only whether there are
procedures. Codes with equal rows form a class; the pair of classes is the **key**.

Given the key, the interpreter's path is a function of the answers of the other
(*residual*) leaves it tests, in order: has_mcc / has_cc, ages, lengths of stay, weight,
department, any-diagnosis / any-procedure lists, region counts. So each key holds a decision
tree over residual leaves, and a case costs one table probe plus the few residual leaves on
its path (usually just the severity split over the secondary diagnoses). Trees are grown from
the interpreter itself: a case whose path is not in the tree yet is grouped by the
interpreter, and afterwards interpreted again with its residual leaves recorded and the path
grafted (checking it agrees with every node it passes). Exact by construction; held to the
interpreter on every conformance corpus and on random cases by tests/test_decision_cache.py.

Falls back to the interpreter (exact, not cached): a case whose tree path is not grown yet; a
case whose main call gives no group in a scheme with the whole-case retry (zhejiang-2022); a
path of more than :data:`TRACE_LEAVES` residual leaves; anything once the cache is at
:data:`MAX_NODES` nodes or :data:`MAX_KEYS` keys. ``DRGSIM_DECISION_CACHE=0`` turns it off.

Thread safety: kernel runs read the trees under a shared lock; grafting takes the exclusive
lock only when no run is reading (else it is left to a later run), so readers never wait on
more than one graft.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

from . import _decision_kernels as D
from .compile import ACCEPT, REJECT

ENABLED = os.environ.get("DRGSIM_DECISION_CACHE", "1") != "0"
TRACE_LEAVES = 1024
MAX_NODES = 1 << 24  # 16.8 M nodes = 200 MB at most
MAX_KEYS = 1 << 22
_START_BITS = 12
_START_NODES = 1 << 14


def classes(bits: np.ndarray) -> tuple[np.ndarray, int]:
    """(class id int32 per code, number of classes): codes with equal membership rows share one."""
    if bits.shape[0] == 0:
        return np.zeros(0, dtype=np.int32), 0
    _, inv = np.unique(np.ascontiguousarray(bits), axis=0, return_inverse=True)
    inv = inv.reshape(-1).astype(np.int32)
    return inv, int(inv.max()) + 1


def leaf_program(prog: np.ndarray) -> np.ndarray:
    """``prog`` with every leaf's jumps ending the program: run from ``pc`` it answers the one
    leaf at ``pc`` with the interpreter's own code."""
    out = prog.copy()
    out[:, 3] = ACCEPT
    out[:, 4] = REJECT
    return out


class _ReadWrite:
    """Many readers, or one writer that never waits (try_write)."""

    def __init__(self) -> None:
        self._c = threading.Condition()
        self._readers = 0
        self._writing = False

    def acquire_read(self) -> None:
        with self._c:
            while self._writing:
                self._c.wait()
            self._readers += 1

    def release_read(self) -> None:
        with self._c:
            self._readers -= 1
            if self._readers == 0:
                self._c.notify_all()

    def try_write(self) -> bool:
        with self._c:
            if self._writing or self._readers:
                return False
            self._writing = True
            return True

    def release_write(self) -> None:
        with self._c:
            self._writing = False
            self._c.notify_all()


@dataclass
class RunStats:
    """What one run did: cases decided by a tree, by the interpreter (path not grown yet /
    whole-case retry), and the cache's size afterwards."""

    decided: int
    missed: int
    retried: int
    keys: int
    nodes: int


class DecisionCache:
    """Decision trees of one compiled scheme, grown as cases are grouped (see module doc)."""

    def __init__(self, c) -> None:
        nw = c.dx_bits.shape[1] - 1  # the last word is severity, read per case
        self.dx_class, self.n_pc = classes(c.dx_bits[:, :nw])
        self.pr_class, self.n_mc = classes(c.pr_bits)
        self.leaf_prog = leaf_program(c.prog)
        self.table = np.full((1 << _START_BITS, 2), D.EMPTY, dtype=np.int64)
        self.nodes = np.full((_START_NODES, 3), D.UNKNOWN, dtype=np.int32)
        self.meta = np.array([0, 0, _START_BITS, 0], dtype=np.int64)
        self.full = False
        self._lock = _ReadWrite()

    @property
    def keys(self) -> int:
        return int(self.meta[0])

    @property
    def n_nodes(self) -> int:
        return int(self.meta[1])

    def group(self, cases, s, out: np.ndarray, n_chunks: int) -> RunStats:
        """Result ids of ``cases`` (:class:`grouper._kernels.CaseArrays`) into ``out``, equal to
        :func:`grouper._kernels.group_cases`; then grow the trees from the cases that missed."""
        miss = np.empty(len(out), dtype=np.uint8)
        self._lock.acquire_read()
        try:
            D.decide_cases(cases, s, self.dx_class, self.pr_class, self.n_pc, self.n_mc,
                           self.table, int(self.meta[2]), self.nodes, self.leaf_prog, out, miss,
                           n_chunks)
        finally:
            self._lock.release_read()
        counts = np.bincount(miss, minlength=4)
        if counts[D.MISS] and not self.full and self._lock.try_write():
            try:
                self._graft(cases, s, out, miss)
            finally:
                self._lock.release_write()
        return RunStats(int(counts[0]), int(counts[D.MISS]), int(counts[D.MISS_RETRY]),
                        self.keys, self.n_nodes)

    def _graft(self, cases, s, out, miss) -> None:
        trace = np.zeros(2 * TRACE_LEAVES, dtype=np.int32)
        status = np.zeros(2, dtype=np.int64)
        start = 0
        while True:
            D.graft(start, cases, s, self.dx_class, self.pr_class, self.n_pc, self.n_mc,
                    self.table, self.nodes, self.meta, out, miss, trace, status)
            if status[1] >= 0:  # pragma: no cover - would be a bug in the key's claim
                raise AssertionError(f"decision cache: case {int(status[1])} disagrees with the interpreter")
            if status[0] < 0:
                return
            start = int(status[0])
            if not self._grow():
                self.full = True
                return

    def _grow(self) -> bool:
        """Double whichever array is out of room; False at the size limits."""
        grew = False
        if self.meta[0] + 1 > self.table.shape[0] // 2:
            bits = int(self.meta[2]) + 1
            if (1 << bits) > 2 * MAX_KEYS:
                return False
            new = np.full((1 << bits, 2), D.EMPTY, dtype=np.int64)
            D.rehash(self.table, new, bits)
            self.table = new
            self.meta[2] = bits
            grew = True
        if self.meta[1] + TRACE_LEAVES > self.nodes.shape[0]:
            size = 2 * self.nodes.shape[0]
            if size > MAX_NODES:
                return False
            new = np.full((size, 3), D.UNKNOWN, dtype=np.int32)
            new[: self.nodes.shape[0]] = self.nodes
            self.nodes = new
            grew = True
        return grew


_CACHES: dict[str, DecisionCache] = {}
_MAKE = threading.Lock()


def cache_for(c) -> DecisionCache:
    """The process's decision cache of a compiled scheme (one per content hash)."""
    got = _CACHES.get(c.content_hash)
    if got is None:
        with _MAKE:
            got = _CACHES.get(c.content_hash)
            if got is None:
                got = _CACHES[c.content_hash] = DecisionCache(c)
    return got
