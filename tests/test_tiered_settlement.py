"""The hospital side of a tiered-care shift: re-priced and re-settled (issue 14 item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import payment
from payment import load_benefit_policy
from payment.monte_carlo import Distribution
from payment.overrides import override_policy
from payment.tiered_care import LevelShift
from payment.tiered_settlement import shift_monte_carlo, shift_settlement, with_patient_paid

OVER = {"coefficients.mode": "none", "settlement.tiers": [],
        "settlement.assessment.deposit_rate": 0.0,
        "settlement.budget": {"mode": "amount", "amount": 60_000.0},
        "point_value.reserve_rate": 0.05, "point_value.reimbursement_ratio": 1.0}


def _policy():
    return override_policy(payment.load_policy("national_drg"), OVER)


def _rows(year, spec):
    rows = []
    for i, (h, lvl, cost) in enumerate(spec):
        rows.append({"case_id": f"{year}-{i:02d}", "hospital_id": h, "hospital_level": lvl,
                     "drg": "A1", "status": "SUCCESS", "total_cost": cost, "los": 5,
                     "discharge_mode": 1, "month": 1 + i % 12, "year": year,
                     "patient_id": f"P{year}{i}", "insurance": "resident"})
    return pd.DataFrame(rows)


def _region():
    history = _rows(2023, [("H3", 3, 10_000.0)] * 6 + [("H2", 2, 10_000.0)] * 6)
    cases = _rows(2024, [("H3", 3, 10_000.0)] * 4 + [("H2", 2, 10_000.0)] * 2)
    pol = _policy()
    return cases, payment.compute_weights(history, pol), pol


def test_all_level_3_cases_moved_by_hand():
    """RW 1.0, 100 points a case, coefficients off: 600 points both sides. Budget 60,000, reserve
    3,000 → PV 57,000 ÷ 600 = 95. Baseline H3 4 × 100 × 95 = 38,000, H2 19,000; after moving
    H3's four cases to H2 at 0.8 of the cost (r 0.8, still normal): H2 57,000, H3 0; H2's
    fee-for-service amount 20,000 + 4 × 8,000 = 52,000."""
    cases, w, pol = _region()
    r = shift_settlement(cases, w, pol, LevelShift(share=1.0, from_level=3, to_level=2,
                                                   cost_factor=0.8))
    assert r.moved == 4
    h = r.hospitals.set_index("hospital_id")
    assert h.loc["H3", "entitlement_baseline"] == 38_000.00
    assert h.loc["H2", "entitlement_baseline"] == 19_000.00
    assert h.loc["H2", "entitlement_variant"] == 57_000.00
    assert h.loc["H3", "entitlement_variant"] == 0.0 and h.loc["H3", "cases_variant"] == 0
    assert h.loc["H2", "final_amount_diff"] == 38_000.00
    assert r.variant.statement.set_index("hospital_id").loc["H2", "ffs_amount"] == 52_000.00
    s = r.summary.set_index("metric")
    assert s.loc["point_value", "baseline"] == s.loc["point_value", "variant"] == 95.0
    for side in (r.baseline, r.variant):
        x = side.summary
        assert round(x["paid"] + x["reserve_kept"] + x["returned"], 2) == x["budget"]


def test_shift_changes_class_and_point_value():
    """Moved at 0.3 of the cost the cases become low-multiple (r 0.3 ≤ 0.4): 30 points each,
    so Σ points = 200 + 4 × 30 = 320 and PV = 57,000 ÷ 320 = 178.125 (4 decimals)."""
    cases, w, pol = _region()
    r = shift_settlement(cases, w, pol, LevelShift(share=1.0, from_level=3, to_level=2,
                                                   cost_factor=0.3))
    assert (r.variant_priced["case_class"].astype(str).iloc[:4] == "low").all()
    assert r.summary.set_index("metric").loc["point_value", "variant"] == 178.125
    assert r.hospitals.set_index("hospital_id").loc["H2", "points_variant"] == pytest.approx(320)


def test_benefit_policy_gives_settlements_patient_payments():
    """Resident at level 3: deductible 900, 60 % of 9,100 = 5,460 basic → patient_paid 4,540;
    level 2: 600, 75 % of 9,400 = 7,050 → 2,950 (benefits_example)."""
    cases, w, pol = _region()
    pp = with_patient_paid(cases, load_benefit_policy("benefits_example"))["patient_paid"]
    assert list(pp) == [4_540.0] * 4 + [2_950.0] * 2
    r = shift_settlement(cases, w, pol, LevelShift(share=0.0, from_level=3, to_level=2),
                         benefits=load_benefit_policy("benefits_example"))
    st = r.baseline.statement.set_index("hospital_id")
    # entitlement = points × PV − patient payments: 38,000 − 4 × 4,540
    assert st.loc["H3", "entitlement"] == 38_000.00 - 4 * 4_540.00


def test_monte_carlo_over_the_shift_is_seeded():
    cases, w, pol = _region()
    shift = LevelShift(share=0.5, from_level=3, to_level=2, cost_factor=0.8)
    kw = {"draws": 6, "seed": 7, "cost_growth": Distribution(dist="uniform", low=0.0, high=0.1)}
    a, ha = shift_monte_carlo(cases, w, pol, shift, Distribution(dist="uniform", low=0, high=1),
                              **kw)
    b, hb = shift_monte_carlo(cases, w, pol, shift, Distribution(dist="uniform", low=0, high=1),
                              **kw)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 6 and a["moved"].between(0, 4).all()
    # the full shift draw equals shift_settlement's variant
    full, _ = shift_monte_carlo(cases, w, pol, shift, Distribution(value=1.0), draws=1)
    one = shift_settlement(cases, w, pol, shift.model_copy(update={"share": 1.0}))
    assert full.loc[0, "paid"] == one.variant.summary["paid"]
    assert np.isfinite(ha["mean"]).all()
