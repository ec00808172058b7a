"""Grouping benchmarks (issue 2): a grid of implementation x threads on 1,000,000 cases.

Cases are the CHS-DRG 1.1 conformance corpus replicated to ``DRGSIM_BENCH_N`` rows (default
1,000,000; the demo sample cases and scheme when ../shared is absent). Run with::

    python -m pytest benchmarks/bench_group.py --benchmark-only -p no:cacheprovider \
        --benchmark-columns=min,mean,rounds

``python benchmarks/report_group.py`` turns the saved JSON into the README table (cases/s and
the ratio to the naive per-case reference measured in the same run).
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import grouper  # noqa: E402
from grouper.engine import encode_cases, run_kernel  # noqa: E402

N = int(os.environ.get("DRGSIM_BENCH_N", "1000000"))
NAIVE_N = 5_000


def _source() -> tuple[grouper.Scheme, pd.DataFrame]:
    from shared_data import read_corpus, shared_dir

    sh = shared_dir()
    if sh is not None:
        base = sh / "schemes" / "chs-drg-1.1"
        return grouper.load_scheme(base), read_corpus(base / "conformance" / "cases.csv")
    cases = pd.read_csv(ROOT / "sample_cases" / "cases.csv", dtype=str, keep_default_na=False, na_values=[""])
    return grouper.load_scheme(grouper.demo_scheme_path()), cases


@pytest.fixture(scope="module")
def data():
    scheme, base = _source()
    reps = -(-N // len(base))
    big = pd.concat([base] * reps, ignore_index=True).iloc[:N].reset_index(drop=True)
    big["case_id"] = np.arange(len(big)).astype(str)
    grouper.group(base.iloc[:1000], scheme)  # compile once, outside the timings
    return scheme, base, big


def _rate(benchmark, n):
    benchmark.extra_info["cases"] = n
    benchmark.extra_info["cases_per_s"] = n / benchmark.stats.stats.min
    benchmark.extra_info["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_naive_reference(benchmark, data):
    from naive import NaiveGrouper

    scheme, base, _ = data
    ng = NaiveGrouper(scheme)
    recs = base.iloc[:NAIVE_N].to_dict("records")
    benchmark.pedantic(lambda: [ng.group(r) for r in recs], rounds=1, iterations=1)
    _rate(benchmark, len(recs))


@pytest.mark.parametrize("threads", [1, 2])
def test_end_to_end_dataframe(benchmark, data, threads):
    scheme, _, big = data
    benchmark.pedantic(lambda: grouper.group(big, scheme, threads=threads), rounds=3, iterations=1)
    _rate(benchmark, len(big))


@pytest.mark.parametrize("threads", [1, 2])
def test_end_to_end_arrow_strict(benchmark, data, threads):
    scheme, _, big = data
    tbl = pa.Table.from_pandas(big, preserve_index=False)
    benchmark.pedantic(lambda: grouper.group(tbl, scheme, strict=True, threads=threads), rounds=3, iterations=1)
    _rate(benchmark, len(big))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("path", ["decision_cache", "interpreter"])
def test_kernel_alone(benchmark, data, threads, path):
    """The kernel on encoded cases: the decision cache (warmed by one run first, so the timed
    rounds are its steady state) against the interpreter it is grown from, same run."""
    scheme, _, big = data
    arrays, _, _ = encode_cases(big, scheme)
    interp = path == "interpreter"
    want = run_kernel(arrays, scheme, threads=threads, interpreter=True)
    assert np.array_equal(run_kernel(arrays, scheme, threads=threads, interpreter=interp), want)
    benchmark.pedantic(lambda: run_kernel(arrays, scheme, threads=threads, interpreter=interp),
                       rounds=5, iterations=1)
    _rate(benchmark, len(big))
    benchmark.extra_info["loadavg"] = open("/proc/loadavg").read().split()[:3]


def test_scheme_load_cached(benchmark, data):
    scheme, _, _ = data
    path = scheme.path

    def load():
        s = grouper.load_scheme(path)
        return s.compiled

    benchmark.pedantic(load, rounds=3, iterations=1)
