"""Scenarios: grid sweeps and Monte Carlo reuse pricing and agree with full settlements.

Tolerances: cell re-aggregation sums the same numbers in another order, so money may differ by
a cent per hospital where a float lands on a half cent; the checks below allow 0.01 yuan per
hospital on totals and 1e-9 relative on the point value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from payment import _settle_kernels as K
from payment.scenario import (
    MonteCarloSpec,
    build_cells,
    demo_whatif,
    load_scenario,
    monte_carlo,
    override_policy,
    run_whatifs,
    sweep,
    sweep_settlement,
)
from payment.settlement import encode, prepare, settle
from payment.settlement_policy import SettlementPolicy

GROUPS = ["AA11", "AA13", "AA15", "BB13", "BB15", "CC19"]
BASE_POINTS = {"AA11": 300.0, "AA13": 180.0, "AA15": 90.0, "BB13": 70.0, "BB15": 40.0,
               "CC19": 120.0}
COEF = {1: 0.8, 2: 0.9, 3: 1.1}


def synthetic_priced(n: int = 3000, n_hosp: int = 12, seed: int = 1) -> pd.DataFrame:
    """Priced cases following the "Priced cases" contract (points at 100 yuan/point)."""
    rng = np.random.default_rng(seed)
    hosp = rng.integers(0, n_hosp, n)
    level = 1 + hosp % 3
    g = rng.choice(GROUPS, n)
    bp = np.array([BASE_POINTS[x] for x in g])
    coef = np.array([COEF[x] for x in level])
    pts = bp * coef
    tc = pts * 100 * rng.lognormal(0.0, 0.3, n)
    sr = rng.random(n) < 0.02
    return pd.DataFrame({
        "case_id": [f"c{i}" for i in range(n)],
        "hospital_id": [f"H{x:02d}" for x in hosp],
        "hospital_level": level,
        "month": rng.integers(1, 13, n),
        "group": g,
        "case_class": np.where(rng.random(n) < 0.03, "excluded", "normal"),
        "base_points": bp,
        "coefficient": coef,
        "points": pts,
        "payment": np.round(pts * 100.0, 2),
        "total_cost": np.round(tc, 2),
        "patient_paid": np.round(tc * 0.3, 2),
        "sr_approved": sr,
        "sr_amount": np.where(sr, np.round(tc * 0.95, 2), 0.0),
        "sr_quarter": np.where(sr, rng.integers(1, 5, n), 0),
        "alliance_id": np.where(hosp < 3, "X", ""),
    })


POLICY = SettlementPolicy.model_validate({
    "budget": {"growth": 0.02},
    "reserve_rate": 0.05,
    "tiers": [{"lower": -1.0, "upper": 0.0, "fund_share": 0.4},
              {"lower": 0.0, "upper": 0.15, "fund_share": 0.6}],
    "assessment": {"deposit_rate": 0.02, "mapping": "linear", "scores": {"H01": 75}},
    "alliances": [{"id": "X", "members": ["H00", "H01"], "per_capita": 800.0,
                   "population": 1000, "tiers": [{"lower": 0.0, "upper": 0.1,
                                                   "fund_share": 0.5}]}],
})


@pytest.fixture(scope="module")
def priced() -> pd.DataFrame:
    return synthetic_priced()


@pytest.fixture(scope="module")
def cells(priced):
    return build_cells(priced, POLICY)


def _close(a: pd.Series, b: float, n_hosp: int) -> bool:
    return abs(float(a) - b) <= 0.01 * n_hosp + 1e-6


def test_zero_whatif_equals_full_settlement(priced, cells):
    full = settle(priced, POLICY)
    summ, res = run_whatifs(cells, encode(cells.inputs, POLICY), np.zeros(K.W))
    assert summ["point_value"][0] == pytest.approx(full.summary["point_value"], rel=1e-9)
    for col in ("paid", "reserve_kept", "returned", "budget"):
        assert _close(summ[col][0], full.summary[col], 12)
    assert np.allclose(res[0], full.statement["result"].to_numpy(), atol=0.02)


def test_volume_growth_is_exact(priced, cells):
    grown = priced.copy()
    for c in ("points", "payment", "total_cost", "patient_paid", "sr_amount", "base_points"):
        grown[c] = grown[c] * 1.1
    prior = float((prepare(priced, POLICY).hd[:, K.HD_TC] - prepare(priced, POLICY).hd[:, K.HD_PP]).sum())
    full = settle(grown, POLICY, prior_year_actual=prior)
    w = np.zeros(K.W)
    w[K.W_VOLUME] = 0.1
    summ, _ = run_whatifs(cells, encode(cells.inputs, POLICY), w)
    assert summ["point_value"][0] == pytest.approx(full.summary["point_value"], rel=1e-9)
    assert _close(summ["paid"][0], full.summary["paid"], 12)


def test_upcoding_moves_points_to_next_severity(priced, cells):
    """All of AA15 coded as AA13 (share 1): points × 180/90 for AA15, × 300/180 for AA13."""
    up = priced.copy()
    nsr = ~up["sr_approved"]
    for src, dst in (("AA13", "AA11"), ("AA15", "AA13"), ("BB15", "BB13")):
        m = (priced["group"] == src) & nsr
        f = BASE_POINTS[dst] / BASE_POINTS[src]
        up.loc[m, "points"] = priced.loc[m, "points"] * f
        up.loc[m, "payment"] = priced.loc[m, "payment"] * f
    prior = 1e7
    full = settle(up, POLICY, prior_year_actual=prior)
    w = np.zeros(K.W)
    w[K.W_UPCODE] = 1.0
    summ, _ = run_whatifs(cells, encode(cells.inputs, POLICY, prior_year_actual=prior), w)
    assert summ["point_value"][0] == pytest.approx(full.summary["point_value"], rel=1e-9)
    # upcoding with a fixed budget lowers the point value
    base, _ = run_whatifs(cells, encode(cells.inputs, POLICY, prior_year_actual=prior),
                          np.zeros(K.W))
    assert summ["point_value"][0] < base["point_value"][0]


def test_level_shift_moves_simple_cases_to_level_1_2(cells):
    params = encode(cells.inputs, POLICY)
    w = np.zeros((2, K.W))
    w[1, K.W_SHIFT] = 0.5
    summ, res = run_whatifs(cells, params, w)
    lvl = cells.inputs.hospital_level
    # level-3 hospitals lose fee-for-service volume, level-1/2 gain: totals of cost move
    assert cells.g_simple.any()
    assert summ["budget"][0] == summ["budget"][1]  # the budget was set before the year
    assert not np.allclose(res[0][lvl == 3], res[1][lvl == 3])


def test_settlement_grid_matches_one_by_one(priced):
    grid = {"settlement.budget.growth": [0.0, 0.05],
            "settlement.reserve_rate": [0.03, 0.08],
            "settlement.tiers": [[], [{"lower": 0.0, "upper": 0.5, "fund_share": 0.5}]],
            "point_value.reimbursement_ratio": [0.7]}
    inputs = prepare(priced, POLICY)
    out = sweep_settlement(inputs, POLICY, grid)
    assert len(out) == 8
    for _, row in out.iterrows():
        pol = override_policy(POLICY, {k: row[k] for k in grid if k.startswith("settlement.")})
        one = settle(priced, pol, reimbursement_ratio=0.7)
        for col in ("point_value", "paid", "returned", "reserve_kept", "largest_loss"):
            assert row[col] == pytest.approx(one.summary[col], rel=1e-12, abs=1e-9), col


def test_overlapping_keys_fall_back_to_full_encoding(priced):
    """budget.mode and budget.amount touch the same slots: still exact."""
    inputs = prepare(priced, POLICY)
    grid = {"settlement.budget.mode": ["growth", "amount"],
            "settlement.budget.amount": [5e6, 6e6]}
    out = sweep_settlement(inputs, POLICY, grid)
    for _, row in out.iterrows():
        pol = override_policy(POLICY, {k: row[k] for k in grid})
        assert row["budget"] == settle(priced, pol).summary["budget"]


def test_mixed_sweep_with_whatif_keys(cells):
    out = sweep({"whatif.cost_growth": [0.0, 0.1], "settlement.advance_ratio": [0.9]}, POLICY,
                cells=cells)
    assert list(out.columns[:2]) == ["whatif.cost_growth", "settlement.advance_ratio"]
    # cost growth raises fee-for-service amounts: more hospitals overspend
    assert out["hospitals_overspend"][1] >= out["hospitals_overspend"][0]
    with pytest.raises(ValueError, match="re-pricing"):
        sweep({"outliers.low_multiple": [0.3]}, POLICY, cells=cells)


def test_monte_carlo_is_seeded_and_reports_percentiles(cells):
    spec = MonteCarloSpec(draws=64, seed=7,
                          volume_growth={"dist": "normal", "mean": 0.03, "sd": 0.02},
                          cost_growth={"dist": "uniform", "low": 0.0, "high": 0.06},
                          upcoding_share={"dist": "triangular", "low": 0, "high": 0.1},
                          level_shift_share={"dist": "fixed", "value": 0.05})
    params = encode(cells.inputs, POLICY)
    a = monte_carlo(cells, params, spec, chunk=16)
    b = monte_carlo(cells, params, spec)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    assert len(a.draws) == 64
    pv = a.percentiles.set_index("metric").loc["point_value"]
    assert pv["p5"] <= pv["p50"] <= pv["p95"]
    assert a.draws["level_shift_share"].eq(0.05).all()
    assert set(a.hospitals.columns) >= {"hospital_id", "p_loss", "p5", "p95"}
    c = monte_carlo(cells, params, spec.model_copy(update={"seed": 8}))
    assert not a.draws["volume_growth"].equals(c.draws["volume_growth"])
    # one draw re-run alone gives the same row: draws are independent of batching
    row = a.draws.iloc[5]
    w = row[["volume_growth", "cost_growth", "upcoding_share", "level_shift_share"]].to_numpy(
        dtype=float)
    one, _ = run_whatifs(cells, params, w)
    assert one["paid"][0] == row["paid"]


def test_demo_whatif(priced):
    out = demo_whatif(priced)
    assert out["scenario"].tolist()[0] == "baseline"
    assert len(out) == 6
    assert (out["budget"] == out["budget"][0]).all()


def test_load_scenario(tmp_path):
    (tmp_path / "s.toml").write_text(
        'name = "t"\npolicy = "national_drg"\npriced_cases = "p.parquet"\n'
        '[sweep]\n"settlement.reserve_rate" = [0.03, 0.05]\n'
        '[monte_carlo]\ndraws = 10\nseed = 3\n'
        '[monte_carlo.cost_growth]\ndist = "normal"\nmean = 0.02\nsd = 0.01\n',
        encoding="utf-8")
    s = load_scenario(tmp_path / "s.toml")
    assert s.path(s.priced_cases) == tmp_path / "p.parquet"
    assert s.monte_carlo.draws == 10
    (tmp_path / "bad.toml").write_text('name = "t"\n[sweep]\nx = []\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.toml"):
        load_scenario(tmp_path / "bad.toml")


def test_full_policy_overrides_and_point_value_keys(priced):
    """A full Policy: [settlement] overrides validate into SettlementPolicy; the reimbursement
    ratio comes from [point_value]."""
    from payment import load_policy

    pol = override_policy(load_policy("national_drg"),
                          {"settlement.reserve_rate": 0.03,
                           "point_value.reimbursement_ratio": 0.7})
    assert isinstance(pol.settlement, SettlementPolicy)
    assert pol.settlement.reserve_rate == 0.03
    no_pp = priced.drop(columns="patient_paid")
    r = settle(no_pp, pol)
    bare = settle(no_pp, SettlementPolicy(reserve_rate=0.03), reimbursement_ratio=0.7)
    assert r.summary == bare.summary
    out = sweep_settlement(prepare(no_pp, pol), pol,
                           {"point_value.reimbursement_ratio": [0.6, 0.7]})
    assert out["paid"][1] == pytest.approx(r.summary["paid"], abs=0.005)


def test_pricing_keys_reprice_each_combination(priced):
    from payment import load_policy

    pol = override_policy(load_policy("national_drg"), {"settlement.reserve_rate": 0.05})
    seen = []

    def reprice(p):
        seen.append(p.outliers.low_multiple)
        scaled = priced.copy()
        scaled["points"] *= 1 + p.outliers.low_multiple  # stands in for a real re-pricing
        return scaled

    cells = build_cells(priced, pol)
    out = sweep({"outliers.low_multiple": [0.2, 0.3], "settlement.advance_ratio": [0.9]}, pol,
                cells=cells, reprice=reprice)
    assert seen == [0.2, 0.3]
    assert len(out) == 2 and (out["settlement.advance_ratio"] == 0.9).all()


def test_whatif_values_out_of_range_are_refused():
    import numpy as np
    import pytest

    from payment import _settle_kernels as K
    from payment.scenario import _check_whatifs

    ok = np.zeros((1, K.W))
    ok[0, K.W_VOLUME] = 0.1
    _check_whatifs(ok)
    for col, value, key in ((K.W_VOLUME, 1e300, "volume_growth"), (K.W_COST, -1.0, "cost_growth"),
                            (K.W_UPCODE, 1.5, "upcoding_share"), (K.W_SHIFT, float("nan"), "level_shift_share")):
        w = np.zeros((1, K.W))
        w[0, col] = value
        with pytest.raises(ValueError, match=f"whatif.{key} = .* outside the allowed range"):
            _check_whatifs(w)
