"""Dashboard response times (issue 16): settlement-only ≤ 200 ms, re-pricing ≤ 1 s on 1M cases;
the drill-down (statement + supervision signals, which are computed once on the first).

    DRGSIM_BENCH_CASES=1000000 python -m pytest benchmarks/bench_dashboard.py --benchmark-only -s

The region is the demo region's settlement year replicated to ``DRGSIM_BENCH_CASES`` cases
(default 1,000,000; history years kept once, so the weights are the demo's). Each answer is
what ``POST /api/answer`` returns (headline, ledger, every hospital's amounts as JSON-ready
rows), measured through :meth:`Dashboard.answer`:

* settlement-only lever (reserve rate): encode + settlement kernel on prepared aggregates;
* what-if lever (volume growth): the what-if kernel on the basis cells;
* re-pricing lever (special-review quota): weights + ``payment.price`` + cells + settlement,
  a new value each round so the cache never answers.

Baseline in the same run: ``payment.settle(priced_cases, policy)``, settling from the cases.
"""

from __future__ import annotations

import itertools
import os
import time

import pandas as pd
import pytest

import payment
from drgsim.dashboard import Dashboard, Settings, scenario_from_args

N = int(os.environ.get("DRGSIM_BENCH_CASES", "1000000"))


@pytest.fixture(scope="module")
def dash() -> Dashboard:
    demo = Dashboard(scenario_from_args(None, None, None))
    g = demo.grouped
    assert g is not None
    year = demo.scenario.year
    cur = g[pd.to_numeric(g["year"]) == year]
    k = max(1, -(-N // len(cur)))
    reps = []
    for i in range(k):
        r = cur.copy()
        r["case_id"] = r["case_id"].astype(str) + f"-{i}"
        if "patient_id" in r.columns:
            r["patient_id"] = r["patient_id"].astype(str) + f"-{i}"
        reps.append(r)
    big = pd.concat([g[pd.to_numeric(g["year"]) != year], *reps], ignore_index=True)
    big = pd.concat([big[pd.to_numeric(big["year"]) != year],
                     big[pd.to_numeric(big["year"]) == year].head(N)], ignore_index=True)
    t0 = time.perf_counter()
    d = Dashboard(demo.scenario, policy=demo.base_policy, grouped=big)
    print(f"\n{len(d.base.priced):,} priced cases; load {time.perf_counter() - t0:.1f} s")
    return d


def _ratio(benchmark, dash: Dashboard, label: str) -> None:
    t0 = time.perf_counter()
    payment.settle(dash.base.priced, dash.base_policy)
    base = time.perf_counter() - t0
    mean = benchmark.stats.stats.mean
    benchmark.extra_info.update(cases=len(dash.base.priced), mean_ms=mean * 1e3,
                                baseline_settle_ms=base * 1e3, speedup=base / mean)
    print(f"{label}: {mean * 1e3:.1f} ms per answer; payment.settle from the cases "
          f"{base * 1e3:.1f} ms (×{base / mean:.1f})")


def test_settlement_only_answer(benchmark, dash: Dashboard) -> None:
    vals = itertools.cycle([0.03, 0.04, 0.05, 0.06])
    benchmark(lambda: dash.answer(Settings.parse(
        {"levers": {"settlement.reserve_rate": next(vals)}})))
    _ratio(benchmark, dash, "settlement-only")


def test_whatif_answer(benchmark, dash: Dashboard) -> None:
    vals = itertools.cycle([0.01, 0.02, 0.03, 0.04])
    benchmark(lambda: dash.answer(Settings.parse(
        {"levers": {"whatif.volume_growth": next(vals)}})))
    _ratio(benchmark, dash, "what-if")


def test_repricing_answer(benchmark, dash: Dashboard) -> None:
    vals = (0.01 + i * 0.001 for i in itertools.count())

    def run() -> None:
        dash.answer(Settings.parse({"levers": {"special_review.quota_rate": next(vals)}}))

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    _ratio(benchmark, dash, "re-pricing")


def test_settlement_only_http(benchmark, dash: Dashboard) -> None:
    """The same answer through HTTP (FastAPI TestClient: routing, validation, JSON)."""
    from fastapi.testclient import TestClient

    from drgsim.dashboard import create_app

    client = TestClient(create_app(dash))
    vals = itertools.cycle([0.03, 0.04, 0.05, 0.06])
    benchmark(lambda: client.post("/api/answer", json={
        "levers": {"settlement.reserve_rate": next(vals)}}).raise_for_status())
    _ratio(benchmark, dash, "settlement-only over HTTP")


def test_drill_down(benchmark, dash: Dashboard) -> None:
    """A hospital's drill-down: ``POST /api/hospital/H001`` (statement, advances, case-class
    mix, DRGs by profit and loss) + ``GET /api/hospital/H001/supervision`` (signals and flagged
    cases). The region's signals are computed on the first drill-down (timed apart, once);
    the benchmark is every later drill-down at a new settlement lever."""
    t0 = time.perf_counter()
    first = dash.supervision().hospital("H001")
    once = time.perf_counter() - t0
    assert first["signals"], first["unavailable"]
    vals = itertools.cycle([0.03, 0.04, 0.05, 0.06])

    def run() -> None:
        dash.statement("H001", Settings.parse({"levers": {"settlement.reserve_rate": next(vals)}}))
        dash.supervision().hospital("H001")

    benchmark(run)
    mean = benchmark.stats.stats.mean
    sig = []
    for _ in range(5):
        t0 = time.perf_counter()
        dash.supervision().hospital("H001")
        sig.append(time.perf_counter() - t0)
    benchmark.extra_info.update(cases=len(dash.base.priced), mean_ms=mean * 1e3,
                                signals_once_ms=once * 1e3, signals_ms=min(sig) * 1e3)
    print(f"drill-down: {mean * 1e3:.1f} ms per hospital (statement + signals; the signals "
          f"part {min(sig) * 1e3:.1f} ms); the region's signals once on the first drill-down: "
          f"{once:.2f} s ({first['flagged_cases']} flagged cases at H001)")
