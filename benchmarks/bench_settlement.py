"""Settlement benchmarks on a synthetic 1,000,000-case region-year (not run in CI).

    python -m pytest benchmarks/bench_settlement.py --benchmark-only -s

Three workloads, each against a naive baseline measured in the same run:

* settlement-only scenarios: a 10,000-point grid of settlement keys, one parallel batch over
  the per-hospital aggregates — naive: ``settle(cases, policy)`` from the cases each time;
* full re-price-and-settle scenarios: what-ifs that change every case's points and costs
  (volume, cost, upcoding, level shift), re-aggregated from the priced cells — naive: apply the
  what-if to the 1,000,000-row case table with pandas and settle it;
* a 1,000-draw Monte Carlo over the same what-ifs.

Each test prints scenarios/s and the ratio to its baseline, and stores them in extra_info.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from payment import _settle_kernels as K
from payment.scenario import MonteCarloSpec, build_cells, monte_carlo, run_whatifs, sweep_settlement
from payment.settlement import encode, prepare, settle
from payment.settlement_policy import SettlementPolicy

N_CASES = 1_000_000
N_HOSP = 200
N_ADRG = 200

POLICY = SettlementPolicy.model_validate({
    "budget": {"growth": 0.03},
    "reserve_rate": 0.05,
    "tiers": [{"lower": -1.0, "upper": -0.1, "fund_share": 1.0},
              {"lower": -0.1, "upper": 0.0, "fund_share": 0.5},
              {"lower": 0.0, "upper": 0.1, "fund_share": 0.7},
              {"lower": 0.1, "upper": 0.2, "fund_share": 0.3}],
    "assessment": {"deposit_rate": 0.02, "mapping": "linear"},
    "alliances": [{"id": "A1", "members": [f"H{i:03d}" for i in range(10)], "per_capita": 900.0,
                   "population": 200_000}],
})


def synthetic_region(n: int = N_CASES, seed: int = 0) -> pd.DataFrame:
    """Priced cases of a region-year: 200 hospitals, 200 ADRGs × severities 1/3/5."""
    rng = np.random.default_rng(seed)
    hosp = rng.integers(0, N_HOSP, n)
    level = np.where(hosp < 20, 3, np.where(hosp < 80, 2, 1))
    adrg = rng.integers(0, N_ADRG, n)
    sev = rng.choice(np.array([1, 3, 5]), n, p=[0.15, 0.3, 0.55])
    adrg_bp = rng.lognormal(4.2, 0.6, N_ADRG)
    bp = adrg_bp[adrg] * np.select([sev == 1, sev == 3], [1.6, 1.2], 1.0)
    coef = np.select([level == 3, level == 2], [1.1, 0.95], 0.8)
    pts = bp * coef
    tc = pts * 100.0 * rng.lognormal(0.0, 0.35, n)
    sr = rng.random(n) < 0.01
    codes = np.array([f"X{a:03d}" for a in range(N_ADRG)], dtype=object)
    group = pd.Series(codes[adrg]) + pd.Series(sev.astype(str))
    return pd.DataFrame({
        "hospital_id": pd.Series(np.array([f"H{h:03d}" for h in range(N_HOSP)])[hosp]),
        "hospital_level": level,
        "month": rng.integers(1, 13, n),
        "group": group,
        "case_class": np.where(rng.random(n) < 0.02, "excluded", "normal"),
        "base_points": bp,
        "coefficient": coef,
        "points": pts,
        "payment": np.round(pts * 100.0, 2),
        "total_cost": np.round(tc, 2),
        "patient_paid": np.round(tc * 0.3, 2),
        "sr_approved": sr,
        "sr_amount": np.where(sr, np.round(tc * 0.95, 2), 0.0),
        "sr_quarter": np.where(sr, rng.integers(1, 5, n), 0),
        "alliance_id": np.where(rng.random(n) < 0.05, "A1", ""),
    })


@pytest.fixture(scope="module")
def region() -> pd.DataFrame:
    return synthetic_region()


@pytest.fixture(scope="module")
def cells(region):
    return build_cells(region, POLICY, simple_max_points=80.0)


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def _report(benchmark, name: str, n: int, naive_rate: float) -> None:
    fast = _rate(n, benchmark.stats.stats.min)
    benchmark.extra_info.update({"scenarios_per_s": fast, "naive_per_s": naive_rate,
                                 "speedup": fast / naive_rate})
    print(f"\n{name}: {fast:,.0f} scenarios/s (naive {naive_rate:,.2f}/s, ×{fast / naive_rate:,.0f})")


def _naive_time(fn, repeat: int) -> float:
    t = time.perf_counter()
    for i in range(repeat):
        fn(i)
    return (time.perf_counter() - t) / repeat


GRID = {
    "settlement.budget.growth": list(np.round(np.linspace(0.0, 0.12, 25), 4)),
    "settlement.reserve_rate": list(np.round(np.linspace(0.0, 0.095, 20), 4)),
    "settlement.advance_ratio": list(np.round(np.linspace(0.8, 0.99, 20), 4)),
}


def test_settlement_only(benchmark, region):
    inputs = prepare(region, POLICY)
    n = int(np.prod([len(v) for v in GRID.values()]))
    sweep_settlement(inputs, POLICY, {k: v[:2] for k, v in GRID.items()})  # compile

    def naive(i: int) -> None:
        pol = POLICY.model_copy(update={"reserve_rate": 0.01 * i})
        settle(region, pol)

    naive_rate = 1.0 / _naive_time(naive, 2)
    out = benchmark.pedantic(sweep_settlement, args=(inputs, POLICY, GRID), rounds=3,
                             iterations=1)
    assert len(out) == n
    _report(benchmark, "settlement-only", n, naive_rate)


def _naive_whatif(region: pd.DataFrame, w: np.ndarray) -> None:
    """The what-if applied case by case with pandas, then a settlement from the cases."""
    df = region.copy()
    vol, cost = 1 + w[K.W_VOLUME], 1 + w[K.W_COST]
    for c in ("points", "payment", "total_cost", "patient_paid", "sr_amount"):
        df[c] = df[c] * vol
    for c in ("total_cost", "patient_paid", "sr_amount"):
        df[c] = df[c] * cost
    sev = df["group"].str[-1]
    up = (sev != "1") & ~df["sr_approved"]
    f = np.where(sev == "5", 1.2, 1.6 / 1.2)
    df.loc[up, "points"] *= 1 + w[K.W_UPCODE] * (f[up.to_numpy()] - 1)
    df.loc[up, "payment"] *= 1 + w[K.W_UPCODE] * (f[up.to_numpy()] - 1)
    settle(df, POLICY, prior_year_actual=5e9)


def test_full_reprice_and_settle(benchmark, cells):
    rng = np.random.default_rng(1)
    n = 200
    w = np.column_stack([rng.normal(0.03, 0.02, n), rng.uniform(0, 0.05, n),
                         rng.uniform(0, 0.1, n), rng.uniform(0, 0.1, n)])
    params = encode(cells.inputs, POLICY, prior_year_actual=5e9)
    run_whatifs(cells, params, w[:2])  # compile

    region = synthetic_region()
    naive_rate = 1.0 / _naive_time(lambda i: _naive_whatif(region, w[i]), 2)
    benchmark.pedantic(run_whatifs, args=(cells, params, w), rounds=3, iterations=1)
    _report(benchmark, f"full re-price-and-settle ({cells.n_cells:,} cells)", n, naive_rate)


def test_monte_carlo_1000(benchmark, cells, region):
    spec = MonteCarloSpec(draws=1000, seed=42,
                          volume_growth={"dist": "normal", "mean": 0.03, "sd": 0.02},
                          cost_growth={"dist": "uniform", "low": 0.0, "high": 0.05},
                          upcoding_share={"dist": "triangular", "low": 0.0, "high": 0.1},
                          level_shift_share={"dist": "uniform", "low": 0.0, "high": 0.1})
    params = encode(cells.inputs, POLICY, prior_year_actual=5e9)
    monte_carlo(cells, params, spec.model_copy(update={"draws": 2}))  # compile
    w = spec.sample()
    naive_rate = 1.0 / _naive_time(lambda i: _naive_whatif(region, w[i]), 2)
    res = benchmark.pedantic(monte_carlo, args=(cells, params, spec), rounds=1, iterations=1)
    assert len(res.draws) == 1000
    _report(benchmark, "Monte Carlo draws", 1000, naive_rate)
