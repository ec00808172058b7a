"""Cost-sharing benchmark (domain.md §9, issue 14 item 8), not run in CI.

    python -m pytest benchmarks/bench_cost_sharing.py --benchmark-only -s
    DRGSIM_BENCH_COST_SHARING_CASES=5000000 python -m pytest benchmarks/bench_cost_sharing.py ...

The 5,000,000-case / 2,000,000-person entry (rate and peak memory, one thread):

    NUMBA_NUM_THREADS=1 DRGSIM_BENCH_COST_SHARING_CASES=5000000 python -m pytest -p no:cacheprovider \
        benchmarks/bench_cost_sharing.py --benchmark-only -s --benchmark-json=cost_5m.json

Synthetic persons (2 cases per person on average, several stays, levels 1–3, both insurances,
assistance categories, referrals, out-of-area). The engine's rate (cases/s, excluding file
reading) is measured against the plain-Python reference ``tests/naive_cost_sharing.py`` on a
slice of the same cases in the same run; the ratio is printed and stored in extra_info.
Default size 200,000 cases (env var above for the 5,000,000-case / 2,000,000-person run).
"""

from __future__ import annotations

import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from payment import cost_sharing, load_benefit_policy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from naive_cost_sharing import naive_cost_sharing  # noqa: E402

N_CASES = int(os.environ.get("DRGSIM_BENCH_COST_SHARING_CASES", "200000"))
N_NAIVE = 20_000  # the reference's slice (whole persons)


def synthetic(n: int, seed: int = 11) -> pd.DataFrame:
    """``n`` cases of about n / 2.5 persons (seeded)."""
    rng = np.random.default_rng(seed)
    persons = max(1, int(n / 2.5))
    pid = np.sort(rng.integers(0, persons, n))
    day = rng.integers(0, 365, n)
    date = (np.datetime64("2025-01-01") + day).astype("datetime64[D]").astype(str)
    cost = np.round(rng.lognormal(9.0, 0.9, n), 2)
    cat = rng.choice(["general", "retiree", "minor", "tekun", "dibao", "dibian", "fanpin"], n,
                     p=[0.7, 0.15, 0.08, 0.01, 0.03, 0.02, 0.01])
    return pd.DataFrame({
        "case_id": np.char.add("C", np.arange(n).astype(str)),
        "patient_id": np.char.add("P", pid.astype(str)),
        "discharge_date": date,
        "hospital_level": rng.choice([1, 2, 3], n, p=[0.3, 0.4, 0.3]),
        "total_cost": cost,
        "insurance": rng.choice(["employee", "resident"], n, p=[0.35, 0.65]),
        "category": cat,
        "referral": rng.choice(["none", "up", "down", "irregular"], n, p=[0.85, 0.08, 0.05, 0.02]),
        "out_of_area": rng.choice(["local", "filed", "unfiled"], n, p=[0.92, 0.06, 0.02]),
        "self_pay": np.round(cost * rng.uniform(0, 0.1, n), 2),
        "partial_self_pay": np.round(cost * rng.uniform(0, 0.1, n), 2),
    })


@pytest.fixture(scope="module")
def data():
    return synthetic(N_CASES), load_benefit_policy("benefits_example")


def test_cost_sharing_rate_against_the_reference(benchmark, data):
    cases, pol = data
    cost_sharing(cases.iloc[:1000], pol)  # compile outside the timing
    out = benchmark.pedantic(cost_sharing, args=(cases, pol), rounds=3, iterations=1)
    assert len(out) == len(cases)
    rate = len(cases) / benchmark.stats.stats.min
    pids = cases["patient_id"].str[1:].astype(np.int64).to_numpy()  # sorted by construction
    cut = int(np.searchsorted(pids, pids[min(N_NAIVE, len(cases) - 1)]))  # whole persons
    rows = cases.iloc[:cut].to_dict("records")
    t = time.perf_counter()
    ref = naive_cost_sharing(rows, pol.model_dump())
    naive_rate = len(rows) / (time.perf_counter() - t)
    np.testing.assert_array_equal(out["oop"].to_numpy()[:cut],
                                  np.array([float(r["oop"]) for r in ref]))
    benchmark.extra_info.update({"cases": len(cases), "cases_per_s": rate,
                                 "naive_cases_per_s": naive_rate, "ratio": rate / naive_rate})
    print(f"\ncost sharing: {len(cases):,} cases at {rate:,.0f} cases/s; reference "
          f"{naive_rate:,.0f} cases/s on {len(rows):,}; ratio {rate / naive_rate:,.0f}x")


def _rss_peak_bytes() -> int:
    """The process's peak resident set so far (bytes; Linux reports kilobytes)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(kb) * (1 if sys.platform == "darwin" else 1024)


def test_cost_sharing_peak_memory(benchmark, data):
    """Peak memory of one cost-sharing run above its input (issue 14 item 8: target ≤ 150
    bytes per case): the tracemalloc peak (numpy and pandas allocations, the output included)
    and the growth of the process's peak RSS, both per case, in extra_info."""
    cases, pol = data
    cost_sharing(cases.iloc[:1000], pol)  # compiled before the measurement
    rss_before = _rss_peak_bytes()
    seen: dict[str, int] = {}

    def run() -> pd.DataFrame:
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        out = cost_sharing(cases, pol)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        seen["peak"] = peak - base
        return out

    out = benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(out) == len(cases)
    rss_growth = max(0, _rss_peak_bytes() - rss_before)
    n = len(cases)
    benchmark.extra_info.update({
        "cases": n, "persons": int(cases["patient_id"].nunique()),
        "tracemalloc_peak_bytes": seen["peak"], "bytes_per_case": seen["peak"] / n,
        "rss_peak_before_bytes": rss_before, "rss_peak_growth_bytes": rss_growth,
        "rss_growth_bytes_per_case": rss_growth / n,
        "input_bytes": int(cases.memory_usage(deep=True).sum())})
    print(f"\ncost sharing memory: {n:,} cases, peak {seen['peak'] / n:,.0f} bytes/case above "
          f"the input (tracemalloc), peak RSS growth {rss_growth / n:,.0f} bytes/case, "
          f"peak RSS {_rss_peak_bytes() / 2**20:,.0f} MiB")
