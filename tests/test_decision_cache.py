"""The decision cache (grouper.decision_cache) equals the interpreter it is grown from.

Every scheme folder in ../shared/schemes (discovered as in test_all_schemes.py), every
conformance and edge corpus, mapping on / off / default: the cache cold (paths being grown),
warm (every path already grown: nothing left to the interpreter but whole-case retries), and
the interpreter give the same result ids. Hypothesis random cases built directly as code ids
(unknown codes, missing numbers, departments, long procedure lists) hold it to the
interpreter too, also with the fallbacks forced: traces too short to cache, a cache that is
full after a few nodes, a table that has to grow.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_data import read_corpus, shared_dir

import grouper
from grouper import _decision_kernels as D
from grouper import decision_cache
from grouper._kernels import DEPT_MISSING, CaseArrays
from grouper.decision_cache import DecisionCache, classes, leaf_program
from grouper.engine import encode_cases, engine_for, run_kernel

ROOT = Path(__file__).resolve().parents[1]


def _schemes() -> list[str]:
    d = shared_dir()
    if d is None:
        return []
    return sorted(p.name for p in (d / "schemes").iterdir()
                  if (p / "scheme.json").is_file() and (p / "conformance").is_dir())


_LOADED: dict[str, grouper.Scheme | None] = {}


def _load(name: str):
    if name not in _LOADED:
        try:
            _LOADED[name] = grouper.load_scheme(shared_dir() / "schemes" / name)
        except grouper.SchemeError:  # changzhou-2022: see test_all_schemes.KNOWN_GAPS
            _LOADED[name] = None
    if _LOADED[name] is None:
        pytest.skip(f"{name} does not load (a known gap of test_all_schemes)")
    return _LOADED[name]


def _interpret(arrays: dict, scheme) -> np.ndarray:
    return run_kernel(arrays, scheme, threads=1, interpreter=True)


def _cached(cache: DecisionCache, arrays: dict, scheme, n_chunks: int = 7):
    out = np.empty(len(arrays["todo"]), dtype=np.int32)
    stats = cache.group(CaseArrays(**arrays), engine_for(scheme).arrays, out, n_chunks)
    return out, stats


@pytest.mark.parametrize("name", _schemes())
def test_every_corpus_of_every_scheme(name):
    scheme = _load(name)
    conf = shared_dir() / "schemes" / name / "conformance"
    cache = DecisionCache(scheme.compiled)
    checked = 0
    for corpus in ("cases", "edge_cases"):
        if not (conf / f"{corpus}.csv").exists():
            continue
        cases = read_corpus(conf / f"{corpus}.csv")
        for mode in ({"strict": True}, {"strict": True, "mapping": False}, {}):
            arrays, _, _ = encode_cases(cases, scheme, **mode)
            want = _interpret(arrays, scheme)
            cold, _ = _cached(cache, arrays, scheme)
            warm, stats = _cached(cache, arrays, scheme)
            np.testing.assert_array_equal(cold, want)
            np.testing.assert_array_equal(warm, want)
            assert stats.missed == 0  # every path grown: a tree decided each case
            assert stats.decided + stats.retried == int(arrays["todo"].sum())
            checked += len(want)
    assert checked > 0
    assert cache.keys > 0 and cache.n_nodes > 0


def test_the_cache_decides_most_cases_of_the_national_corpus():
    if shared_dir() is None:
        pytest.skip("../shared absent")
    scheme = _load("chs-drg-1.1")
    cases = read_corpus(shared_dir() / "schemes" / "chs-drg-1.1" / "conformance" / "cases.csv")
    arrays, _, _ = encode_cases(cases, scheme)
    cache = DecisionCache(scheme.compiled)
    _, first = _cached(cache, arrays, scheme)
    _, second = _cached(cache, arrays, scheme)
    grouped = int(arrays["todo"].sum())
    assert first.missed > 0 and first.decided + first.missed == grouped
    assert second.missed == 0 and second.retried == 0 and second.decided == grouped
    # far fewer (principal, main procedure) classes than codes
    assert cache.n_pc < scheme.compiled.dx_bits.shape[0] // 10


def test_run_kernel_uses_the_cache_and_the_interpreter_alike():
    """The demo scheme and sample cases (no ../shared needed), one and two threads."""
    scheme = grouper.load_scheme(grouper.demo_scheme_path())
    cases = pd.read_csv(ROOT / "sample_cases" / "cases.csv", dtype=str, keep_default_na=False,
                        na_values=[""])
    arrays, _, _ = encode_cases(cases, scheme)
    want = run_kernel(arrays, scheme, interpreter=True)
    for _ in range(2):
        np.testing.assert_array_equal(run_kernel(arrays, scheme), want)
        np.testing.assert_array_equal(run_kernel(arrays, scheme, threads=2), want)


# --- random cases as code ids ---------------------------------------------------------------


def _random_cases(c, rng: np.random.Generator, n: int) -> dict:
    """Cases drawn from the codes the scheme's lists name (so real paths are hit), plus
    unknown ids (-1), codes in no list, missing numbers and every department form."""
    nw = c.dx_bits.shape[1] - 1
    listed_dx = np.flatnonzero(c.dx_bits[:, :nw].any(axis=1))
    severe = np.flatnonzero(c.cc_level > 0)
    listed_pr = np.flatnonzero(c.pr_bits.any(axis=1))

    def pick(pool, all_n, k):
        u = rng.random(k)
        out = np.where(u < 0.8, pool[rng.integers(0, len(pool), k)], rng.integers(0, all_n, k))
        return np.where(u > 0.97, -1, out).astype(np.int32)

    n_dx = rng.integers(0, 7, n)
    n_pr = rng.integers(0, 5, n)
    dx = pick(listed_dx, c.dx_bits.shape[0], int(n_dx.sum()))
    sec = rng.random(len(dx)) < 0.4
    dx[sec] = severe[rng.integers(0, len(severe), int(sec.sum()))]
    pr = pick(listed_pr, c.pr_bits.shape[0], int(n_pr.sum()))
    nums = np.empty((6, n))
    nums[0] = rng.choice([1.0, 2.0, np.nan], n, p=[0.48, 0.48, 0.04])
    nums[1] = np.where(rng.random(n) < 0.15, 0.0, rng.integers(0, 100, n)).astype(float)
    nums[2] = rng.integers(0, 60, n)
    nums[3] = rng.choice([500.0, 1400.0, 2000.0, 2600.0, 3000.0, np.nan], n)
    nums[4] = rng.integers(0, 90, n)
    nums[5] = rng.choice([0.0, 24.0, 121.0, np.nan], n)
    n_dept = len(c.dept_literals)
    depts = rng.integers(-2, max(n_dept, 1), n).astype(np.int32)
    depts[depts == -2] = DEPT_MISSING
    return dict(
        dx_ids=dx, dx_off=np.concatenate([[0], np.cumsum(n_dx)]).astype(np.int64),
        pr_ids=pr, pr_off=np.concatenate([[0], np.cumsum(n_pr)]).astype(np.int64),
        nums=nums, depts=depts, todo=rng.random(n) < 0.97,
    )


_RANDOM_SCHEMES = ("chs-drg-1.1", "zhejiang-2022", "guangxi-2022", "foshan-2022", "beijing-2022")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from(_RANDOM_SCHEMES),
       n=st.integers(1, 3000))
def test_random_cases_equal_the_interpreter(seed, which, n):
    if shared_dir() is None:
        pytest.skip("../shared absent")
    scheme = _load(which)
    arrays = _random_cases(scheme.compiled, np.random.default_rng(seed), n)
    want = _interpret(arrays, scheme)
    cache = decision_cache.cache_for(scheme.compiled)  # shared across examples: it keeps growing
    for _ in range(2):
        got, _ = _cached(cache, arrays, scheme)
        np.testing.assert_array_equal(got, want)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), leaves=st.integers(0, 3), max_nodes=st.integers(1, 64))
def test_fallbacks_stay_exact(seed, leaves, max_nodes, monkeypatch_module):
    """Short traces (paths not cacheable), a cache full after a few nodes, a growing table."""
    if shared_dir() is None:
        pytest.skip("../shared absent")
    scheme = _load("zhejiang-2022")  # has the whole-case retry too
    arrays = _random_cases(scheme.compiled, np.random.default_rng(seed), 2000)
    want = _interpret(arrays, scheme)
    monkeypatch_module.setattr(decision_cache, "TRACE_LEAVES", leaves)
    monkeypatch_module.setattr(decision_cache, "MAX_NODES", 1 << 15 if max_nodes > 32 else max_nodes)
    monkeypatch_module.setattr(decision_cache, "_START_BITS", 2)
    monkeypatch_module.setattr(decision_cache, "_START_NODES", 4)
    cache = DecisionCache(scheme.compiled)
    for _ in range(3):
        got, stats = _cached(cache, arrays, scheme)
        np.testing.assert_array_equal(got, want)
    if leaves == 0:  # no path with a residual leaf can be cached
        assert stats.missed > 0


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_concurrent_runs_agree():
    if shared_dir() is None:
        pytest.skip("../shared absent")
    scheme = _load("chs-drg-1.1")
    arrays = _random_cases(scheme.compiled, np.random.default_rng(7), 20000)
    want = _interpret(arrays, scheme)
    cache = DecisionCache(scheme.compiled)
    got: list[np.ndarray] = []

    def run():
        for _ in range(3):
            got.append(_cached(cache, arrays, scheme)[0])

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 9
    for g in got:
        np.testing.assert_array_equal(g, want)


# --- the parts, by hand -----------------------------------------------------------------------


def test_classes_group_equal_rows():
    bits = np.array([[1, 0], [2, 0], [1, 0], [0, 0], [2, 0]], dtype=np.uint64)
    cls, n = classes(bits)
    assert n == 3
    assert cls[0] == cls[2] and cls[1] == cls[4]
    assert len({int(cls[0]), int(cls[1]), int(cls[3])}) == 3


def test_leaf_program_ends_after_one_leaf():
    prog = np.array([[0, 1, 0, 1, -2], [6, 1, 2, -1, 0]], dtype=np.int32)
    lp = leaf_program(prog)
    assert lp[:, :3].tolist() == prog[:, :3].tolist()
    assert lp[:, 3].tolist() == [-1, -1] and lp[:, 4].tolist() == [-2, -2]


def test_case_key_and_insert_by_hand():
    dx_class = np.array([0, 1, 1], dtype=np.int32)
    pr_class = np.array([0, 0, 1], dtype=np.int32)
    # n_pc = 2, n_mc = 2: (principal class, main class) -> p * 4 + q
    assert D.case_key(2, 2, 1, dx_class, pr_class, 2, 2) == 1 * 4 + 1
    assert D.case_key(-1, -1, 1, dx_class, pr_class, 2, 2) == 2 * 4 + 2  # unknown main, has procs
    assert D.case_key(0, -1, 0, dx_class, pr_class, 2, 2) == 0 * 4 + 3  # no procedures
    table = np.full((8, 2), D.EMPTY, dtype=np.int64)
    nodes = np.full((4, 3), D.UNKNOWN, dtype=np.int32)
    meta = np.array([0, 0, 3, 0], dtype=np.int64)
    trace = np.array([5, 1, 9, 0], dtype=np.int32)  # leaf 5 true, then leaf 9 false -> result 7
    assert D._insert(table, nodes, meta, 13, trace, 4, 7) == D.GRAFT_OK
    assert meta[:2].tolist() == [1, 2]
    assert nodes[0].tolist() == [5, D.UNKNOWN, 1] and nodes[1].tolist() == [9, -2 - 7, D.UNKNOWN]
    assert D.probe(table, 3, 13) == 0 and D.probe(table, 3, 14) == D.UNKNOWN
    # the same path again changes nothing; a different result on it is refused
    assert D._insert(table, nodes, meta, 13, trace, 4, 7) == D.GRAFT_OK
    assert meta[:2].tolist() == [1, 2]
    assert D._insert(table, nodes, meta, 13, trace, 4, 8) == D.GRAFT_BAD
    # a path testing another leaf where the tree tests leaf 5 is refused
    assert D._insert(table, nodes, meta, 13, np.array([6, 1], dtype=np.int32), 2, 7) == D.GRAFT_BAD
