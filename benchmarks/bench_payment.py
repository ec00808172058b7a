"""Payment benchmarks (pytest-benchmark; not run in CI).

    python -m pytest benchmarks/bench_payment.py --benchmark-only -q

Grid: implementation (naive per-case reference on a 10k subset / vectorised + numba) × task
(pricing 1,000,000 cases; weights from 5,000,000 cases). Each vectorised benchmark records its
cases/s and the ratio to the naive reference measured in the same run in ``extra_info``, with
the 1-minute load average before and after (the machine may be shared: compare ratios).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import payment  # noqa: E402


def synth_cases(n: int, years=(2021, 2022, 2023), n_groups: int = 800, n_hosp: int = 200,
                seed: int = 0) -> pd.DataFrame:
    """Synthetic grouped cases: lognormal costs around a per-group level, 3 hospital levels."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_groups, n)
    h = rng.integers(0, n_hosp, n)
    level = np.exp(rng.normal(9.0, 0.6, n_groups))
    codes = np.array([f"G{i:04d}" for i in range(n_groups)])
    return pd.DataFrame({
        "case_id": np.char.add("C", np.arange(n).astype(str)),
        "hospital_id": np.array([f"H{i:03d}" for i in range(n_hosp)])[h],
        "hospital_level": (h % 3) + 1,
        "total_cost": level[g] * rng.lognormal(0.0, 0.4, n),
        "los": rng.integers(1, 30, n),
        "discharge_mode": rng.choice([1, 1, 1, 1, 1, 2, 4, 5], n),
        "year": rng.choice(years, n),
        "month": rng.integers(1, 13, n),
        "drg": codes[g],
    })


N_PRICE = 1_000_000
N_WEIGHTS = 5_000_000
N_NAIVE = 10_000


@pytest.fixture(scope="module")
def policy():
    return payment.load_policy("zhejiang_drg")


@pytest.fixture(scope="module")
def weights(policy):
    return payment.compute_weights(synth_cases(300_000, seed=1), policy)


@pytest.fixture(scope="module")
def cases():
    return synth_cases(N_PRICE, years=(2024,), seed=2)


@pytest.fixture(scope="module")
def naive_rate(cases, weights, policy):
    """Naive per-case pricer, cases/s on a 10k subset (same run)."""
    from naive_payment import naive_price

    sub = cases.head(N_NAIVE)
    t = time.perf_counter()
    naive_price(sub, weights, policy)
    return N_NAIVE / (time.perf_counter() - t)


@pytest.mark.parametrize("special_review", [True, False])
def test_price_1m(benchmark, cases, weights, policy, naive_rate, special_review):
    payment.price(cases.head(1000), weights, policy)  # compile outside the timing
    load0 = os.getloadavg()[0]
    out = benchmark.pedantic(payment.price, args=(cases, weights, policy),
                             kwargs={"special_review": special_review}, rounds=3, iterations=1)
    assert len(out) == N_PRICE
    rate = N_PRICE / benchmark.stats.stats.min
    benchmark.extra_info.update(cases_per_s=rate, naive_cases_per_s=naive_rate,
                                speedup=rate / naive_rate,
                                load_avg=(load0, os.getloadavg()[0]))


@pytest.mark.parametrize("trim", ["none", "iqr"])
def test_weights_5m(benchmark, policy, trim):
    hist = synth_cases(N_WEIGHTS, seed=3)
    pol = policy.with_overrides({"weights": {"trim": trim, "trim_k": 1.5}})
    payment.compute_weights(hist.head(1000), pol)  # compile outside the timing
    load0 = os.getloadavg()[0]
    w = benchmark.pedantic(payment.compute_weights, args=(hist, pol), rounds=2, iterations=1)
    assert len(w.groups) == 800
    benchmark.extra_info.update(cases_per_s=N_WEIGHTS / benchmark.stats.stats.min,
                                load_avg=(load0, os.getloadavg()[0]))
