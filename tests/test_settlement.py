"""Settlement (domain.md §8, §13): hand-computed examples and to-the-cent invariants.

Tolerances: money is compared exactly in integer cents unless a test says otherwise; the
point value (a float) to 1e-9 relative.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from payment import _settle_kernels as K
from payment.settlement import encode, prepare, settle, settle_inputs
from payment.settlement_policy import SettlementPolicy

INF = math.inf
QUOTA_TIERS = [  # §8 per-case-quota rule expressed as fund shares of ratio slices
    {"lower": -INF, "upper": -0.1, "fund_share": 1.0},
    {"lower": -0.1, "upper": 0.0, "fund_share": 0.7},
    {"lower": 0.0, "upper": 0.2, "fund_share": 0.5},
    {"lower": 0.2, "upper": INF, "fund_share": 0.0},
]


def case(h, points, total_cost, month=1, level=3, pv=100.0, **kw):
    row = {
        "hospital_id": h, "hospital_level": level, "month": month, "case_class": "normal",
        "points": points, "payment": points * pv, "total_cost": total_cost,
        "sr_approved": False, "sr_amount": 0.0, "sr_quarter": 0,
    }
    row.update(kw)
    return row


def policy(**kw) -> SettlementPolicy:
    return SettlementPolicy.model_validate(kw)


def full_policy(point_value: dict | None = None, **kw):
    """A full payment policy with this [settlement] table and [point_value] keys."""
    from payment.policy import Policy

    return Policy.model_validate({"name": "t", "kind": "drg", "settlement": kw,
                                  "point_value": point_value or {}})


def pv4(x: float) -> float:
    """The settlement point value as published (§13: 4 decimals, half-up)."""
    if not abs(x) < 4.5e11:  # past float64's integers at 4 decimals: nothing to round
        return x
    return float(Decimal(repr(float(x))).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def cents(x: float) -> int:
    return int(Decimal(repr(float(x))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)


# ---------------------------------------------------------------------------- hand examples


def test_point_value_example_section4():
    """§4: budget 1e9, 5 % reserve withheld, 9.5e6 points → 100.00 yuan/point (105.2632 if not)."""
    df = pd.DataFrame([case("A", 6e6, 1.0), case("B", 3.5e6, 1.0)])
    pol = policy(budget={"mode": "amount", "amount": 1e9}, reserve_rate=0.05)
    r = settle(df, pol)
    assert r.summary["point_value"] == pytest.approx(100.0, rel=1e-12)
    assert r.summary["reserve"] == 50_000_000.0
    r2 = settle(df, pol, reserve_withheld=False)
    assert round(r2.summary["point_value"], 4) == 105.2632


def test_tiered_quota_example_section8():
    """§8: overspend ≤ 20 % → fund pays 50 %; saving → 30 % reward, at most 3 % of the quota.

    PV = 100; entitlements 500 / 300 / 150 million. A spends 650 M (30 % over): fund pays
    50 % of the first 20 % = 50 M. B spends 285 M (5 % saving = 15 M): keeps 30 % = 4.5 M, fund
    takes back 10.5 M. C spends 120 M (20 % saving = 30 M): keeps 3 % of 150 M = 4.5 M, fund takes
    back 25.5 M. Reserve 50 M covers the 50 M sharing exactly.
    """
    df = pd.DataFrame([case("A", 5e6, 650e6), case("B", 3e6, 285e6), case("C", 1.5e6, 120e6)])
    pol = policy(budget={"mode": "amount", "amount": 1e9}, reserve_rate=0.05,
                 tier_ratio_base="entitlement", tiers=QUOTA_TIERS)
    r = settle(df, pol)
    s = r.statement.set_index("hospital_id")
    assert list(s["entitlement"]) == [500e6, 300e6, 150e6]
    assert list(s["sharing"]) == [50e6, 0.0, 0.0]
    assert list(s["recovered"]) == [0.0, 10.5e6, 25.5e6]
    assert list(s["final_amount"]) == [550e6, 289.5e6, 124.5e6]
    assert s.loc["B", "final_amount"] - s.loc["B", "ffs_amount"] == 0.3 * 15e6
    assert s.loc["C", "final_amount"] - s.loc["C", "ffs_amount"] == 0.03 * 150e6
    led = r.ledger.set_index("item")["yuan"]
    assert led["paid to hospitals"] == 964e6
    assert led["reserve kept"] == 0.0
    assert led["returned to the fund"] == 36e6


def test_default_ratio_base_is_ffs():
    """§13 default: ratio = (ffs − entitlement) ÷ ffs. A: (650 − 500) ÷ 650 = 23.08 % over."""
    df = pd.DataFrame([case("A", 5e6, 650e6), case("B", 4.5e6, 450e6)])
    pol = policy(budget={"mode": "amount", "amount": 1e9}, reserve_rate=0.05, tiers=QUOTA_TIERS)
    s = settle(df, pol).statement.set_index("hospital_id")
    assert s.loc["A", "tier_ratio"] == pytest.approx(150 / 650)
    # slice [0, 0.2] of 650 M at 50 % = 65 M; beyond 20 %: nothing
    assert s.loc["A", "sharing"] == 65e6 * (50e6 / 65e6)  # reserve 50 M < 65 M: scaled
    assert s.loc["B", "tier_ratio"] == 0.0


def test_sharing_scaled_pro_rata_by_largest_remainder():
    """Reserve 50 M against 50 M + 25 M of sharing: scale 2/3. §13: pro rata, each share
    rounded once; drgsim allocates the reserve by largest remainder so Σ = reserve exactly:
    A 33,333,333.33(3) and D 16,666,666.66(7) → floors leave 1 cent, to D (larger remainder).
    (Was: each rounded down, D 16,666,666.66 and 0.01 left in the reserve.)"""
    df = pd.DataFrame([case("A", 5e6, 650e6), case("D", 2.5e6, 325e6), case("E", 2e6, 200e6)])
    pol = policy(budget={"mode": "amount", "amount": 1e9}, reserve_rate=0.05,
                 tier_ratio_base="entitlement", tiers=QUOTA_TIERS)
    # 9.5 M points → PV 100; A 500 M ent / 650 M ffs; D 250 M / 325 M; reserve 50 M covers 75 M? no
    r = settle(df, pol)
    s = r.statement.set_index("hospital_id")
    scale = 50e6 / 75e6
    assert s.loc["A", "sharing"] == 33_333_333.33
    assert s.loc["D", "sharing"] == 16_666_666.67
    assert round(s["sharing"].sum(), 2) == 50e6
    assert r.summary["sharing_scale"] == pytest.approx(scale)


def test_special_review_point_value_solved_exactly():
    """§13: PV = (fund ÷ ratio − Σ re-priced) ÷ (all other points)."""
    df = pd.DataFrame([
        case("A", 1000.0, 150_000.0),
        case("A", 300.0, 90_000.0, sr_approved=True, sr_amount=80_000.0, sr_quarter=2),
        case("B", 700.0, 60_000.0),
    ])
    pol = policy(budget={"mode": "amount", "amount": 200_000.0}, reserve_rate=0.1)
    r = settle(df, pol, reimbursement_ratio=0.8)
    # (225,000 − 80,000) ÷ 1,700 = 85.294117… published to 4 decimals (§13 "Also default")
    pv = 85.2941
    assert r.summary["point_value"] == pv
    s = r.statement.set_index("hospital_id")
    assert s.loc["A", "entitlement"] == cents((1000 * pv + 80_000) * 0.8) / 100
    assert s.loc["B", "entitlement"] == cents(700 * pv * 0.8) / 100
    # advances: month 1 provisional at the budget PV (100) incl. the SR case's own points before
    # review; §13: no special-review money in an advance (was: a top-up of 50,000 × 0.8 × 0.85
    # in June), it is paid at the clearing
    adv = r.advances.set_index("hospital_id")
    assert adv.loc["A", "m01"] == cents(1300 * 100 * 0.8 * 0.85) / 100
    assert adv.loc["A", "m06"] == 0.0
    assert s.loc["A", "clearing"] == round(s.loc["A", "final_amount"] - adv.loc["A", "m01"], 2)


def test_patient_paid_and_deposit_release_section13_default():
    """§13 default: pool = fund ÷ reimbursement ratio (1.0) = 200,000 over 2,000 points → PV
    100; entitlement = points × PV − patient paid: A 80,000, B 70,000. Deposit 2 % of
    max(entitlement + tier adjustment, 0) (no tiers): 1,600 / 1,400; A (score 75) gets half
    back; the forfeited 800 returns to the fund (§13), so the reserve keeps 0."""
    df = pd.DataFrame([
        case("A", 1000.0, 120_000.0, patient_paid=20_000.0),
        case("B", 1000.0, 100_000.0, patient_paid=30_000.0),
    ])
    pol = policy(
        budget={"mode": "amount", "amount": 200_000.0}, reserve_rate=0.0,
        assessment={"deposit_rate": 0.02,
                    "release": [{"min_score": 0, "release": 0.0},
                                {"min_score": 60, "release": 0.5},
                                {"min_score": 90, "release": 1.0}],
                    "scores": {"A": 75.0}},
    )
    r = settle(df, pol)
    s = r.statement.set_index("hospital_id")
    assert r.summary["point_value"] == 100.0
    assert list(s["entitlement"]) == [80_000.0, 70_000.0]
    assert list(s["deposit"]) == [1_600.0, 1_400.0]
    assert list(s["release"]) == [800.0, 1_400.0]
    led = r.ledger.set_index("item")["yuan"]
    assert led["reserve kept"] == 0.0
    assert led["paid to hospitals"] == 150_000 - 3_000 + 2_200
    assert led["returned to the fund"] == 200_000 - 149_200


def test_patient_paid_and_deposit_release():
    """Options pool = "fund_plus_patient_paid", forfeited = "reserve": the total-cost pool is
    fund + what patients paid: PV = (200,000 + 50,000) ÷ 2,000 points = 125; entitlement =
    points × PV − patient paid, so entitlements add up to the fund. Deposit 2 % released by
    score table (the numbers this test asserted before §13 made these options)."""
    df = pd.DataFrame([
        case("A", 1000.0, 120_000.0, patient_paid=20_000.0),
        case("B", 1000.0, 100_000.0, patient_paid=30_000.0),
    ])
    pol = full_policy(
        {"pool": "fund_plus_patient_paid"},
        budget={"mode": "amount", "amount": 200_000.0}, reserve_rate=0.0,
        assessment={"deposit_rate": 0.02, "forfeited": "reserve",
                    "release": [{"min_score": 0, "release": 0.0},
                                {"min_score": 60, "release": 0.5},
                                {"min_score": 90, "release": 1.0}],
                    "scores": {"A": 75.0}},
    )
    r = settle(df, pol)
    s = r.statement.set_index("hospital_id")
    assert r.summary["point_value"] == 125.0
    assert list(s["entitlement"]) == [105_000.0, 95_000.0]
    assert list(s["ffs_amount"]) == [100_000.0, 70_000.0]
    assert list(s["deposit"]) == [2_100.0, 1_900.0]
    assert list(s["release"]) == [1_050.0, 1_900.0]
    led = r.ledger.set_index("item")["yuan"]
    assert led["reserve kept"] == 1_050.0  # forfeited deposit stays in the reserve
    assert led["paid to hospitals"] == 200_000 - 4_000 + 2_950
    assert led["returned to the fund"] == 0.0  # the whole fund is entitled
    assert led["budget"] == led["paid to hospitals"] + led["reserve kept"] + led["returned to the fund"]


def test_linear_assessment_mapping():
    df = pd.DataFrame([case("A", 1000.0, 100_000.0)])
    pol = policy(budget={"mode": "amount", "amount": 100_000.0}, reserve_rate=0.0,
                 assessment={"deposit_rate": 0.1, "mapping": "linear", "zero_score": 60,
                             "full_score": 100, "scores": {"A": 70.0}})
    s = settle(df, pol).statement.iloc[0]
    assert s["deposit"] == 10_000.0 and s["release"] == 2_500.0


def test_alliance_budget_charges_outside_care():
    """Alliance X: 1,000 insured × 150 yuan = 150,000. Its insured cost 100,000 at member M and
    80,000 at outside hospital O (charged 180,000): 30,000 over = 20 % of the budget; alliance
    tiers (ratio ÷ budget): fund bears 50 % of the first 10 % → alliance bears 30,000 − 7,500.
    """
    df = pd.DataFrame([
        case("M", 1000.0, 90_000.0, alliance_id="X"),
        case("O", 800.0, 80_000.0, alliance_id="X"),
        case("O", 200.0, 20_000.0, alliance_id=""),
    ])
    pol = policy(
        budget={"mode": "amount", "amount": 200_000.0}, reserve_rate=0.0,
        tier_ratio_base="entitlement",
        alliances=[{"id": "X", "members": ["M"], "per_capita": 150.0, "population": 1000,
                    "tiers": [{"lower": 0.0, "upper": 0.1, "fund_share": 0.5}]}],
    )
    r = settle(df, pol)
    al = r.alliances.set_index("alliance_id").loc["X"]
    assert (al["budget"], al["charged"], al["result"]) == (150_000.0, 180_000.0, -22_500.0)
    s = r.statement.set_index("hospital_id")
    assert s.loc["M", "alliance_adjustment"] == -22_500.0
    assert s.loc["M", "final_amount"] == 100_000.0 - 22_500.0
    assert s.loc["O", "final_amount"] == 100_000.0


def test_alliance_surplus_split_over_members_exactly():
    """A retained surplus of 100.00 split over three members with equal entitlement: 33.34/33.33/33.33."""
    df = pd.DataFrame([case(h, 100.0, 10_000.0, alliance_id="X") for h in ("M1", "M2", "M3")])
    pol = policy(budget={"mode": "amount", "amount": 30_000.0}, reserve_rate=0.0,
                 alliances=[{"id": "X", "members": ["M1", "M2", "M3"], "per_capita": 30_100.0,
                             "population": 1}])
    r = settle(df, pol)
    adj = sorted(r.statement["alliance_adjustment"].tolist(), reverse=True)
    assert adj == [33.34, 33.33, 33.33]
    assert r.alliances["result"].iloc[0] == 100.0


def test_rounding_half_up_once():
    """1.005 yuan → 1.01 (half-up on the decimal value); half-even keeps 1.00."""
    df = pd.DataFrame([case("A", 1.0, 1.005)])
    r = settle(df, policy(budget={"mode": "amount", "amount": 1.005}, reserve_rate=0.0))
    assert r.statement["entitlement"].iloc[0] == 1.01
    assert r.statement["ffs_amount"].iloc[0] == 1.01
    r = settle(df, policy(budget={"mode": "amount", "amount": 1.005}, reserve_rate=0.0,
                          rounding="half_even"))
    assert r.statement["entitlement"].iloc[0] == 1.0


def test_budget_growth_and_excluded_cases():
    df = pd.DataFrame([case("A", 100.0, 1_000.0), case("A", 50.0, 9_999.0, case_class="excluded")])
    r = settle(df, policy(budget={"prior_year_actual": 1_000.0, "growth": 0.05}, reserve_rate=0.0))
    assert r.summary["budget"] == 1_050.0
    assert r.statement["total_cost"].iloc[0] == 1_000.0
    # without a prior-year actual the cases' own fee-for-service fund amount is the baseline
    r = settle(df, policy(budget={"growth": 0.1}, reserve_rate=0.0), reimbursement_ratio=0.5)
    assert r.summary["budget"] == 550.0


def test_fixed_point_value_mode():
    df = pd.DataFrame([case("A", 100.0, 12_000.0, pv=110.0), case("B", 100.0, 9_000.0, pv=110.0)])
    r = settle(df, policy(budget={"mode": "amount", "amount": 20_000.0}, reserve_rate=0.0,
                          point_value_mode="fixed"))
    assert list(r.statement["entitlement"]) == [11_000.0, 11_000.0]
    assert r.summary["point_value"] == pytest.approx(110.0)
    assert r.summary["returned"] == -2_000.0  # fixed point value overspends the budget


def test_policy_validation():
    with pytest.raises(ValidationError, match="overlaps"):
        policy(tiers=[{"lower": 0, "upper": 0.2, "fund_share": 0.5},
                      {"lower": 0.1, "upper": 1, "fund_share": 0.2}])
    with pytest.raises(ValidationError, match="sorted"):
        policy(tiers=[{"lower": 0.2, "upper": 0.3, "fund_share": 0.5},
                      {"lower": 0.0, "upper": 0.1, "fund_share": 0.2}])
    with pytest.raises(ValidationError):
        policy(tiers=[{"lower": 0, "upper": 0.2, "fund_share": 1.5}])
    with pytest.raises(ValidationError, match="both"):
        policy(alliances=[{"id": "X", "members": ["H"], "per_capita": 1, "population": 1},
                          {"id": "Y", "members": ["H"], "per_capita": 1, "population": 1}])


# ---------------------------------------------------------------------------- zero points, month 0, magnitudes

ALLIANCE_Y = [{"id": "Y", "members": ["H0"], "per_capita": 0.0, "population": 0}]


@pytest.mark.parametrize("alliances", [[], ALLIANCE_Y], ids=["no-alliance", "alliance-Y"])
@pytest.mark.parametrize("points", [0.0, 5e-324, 1e-310], ids=["zero", "min-subnormal", "subnormal"])
def test_zero_points_point_value_undefined_budget_returned(points, alliances):
    """Regression (hypothesis falsifying example): one case at H0 whose points are 0 — or so
    small (subnormal) that 2.00 ÷ points overflows to inf, which made every amount INT64_MIN.

    Rule (payment.settlement docstring, "Zero points"): point value undefined → 0, nothing paid
    on points, the whole budget returned. By hand: budget 2.00 = 200 cents, reserve 0 (rate 0),
    fund 200; entitlement 0, ffs 0 (total cost 0), no tiers, deposit 0, month 0 → no advance;
    alliance Y: budget 0 × 0 = 0, charged 0, result 0. Paid 0, kept 0, returned 200 cents.
    """
    df = pd.DataFrame([case("H0", points, 0.0, month=0, level=1)])
    pol = policy(budget={"mode": "amount", "amount": 2.0}, reserve_rate=0.0, advance_ratio=0.0,
                 point_value_mode="floating", tiers=[],
                 assessment={"deposit_rate": 0.0, "scores": {"H0": 0.0}}, alliances=alliances)
    r = settle(df, pol, reimbursement_ratio=1.0, reserve_withheld=False)
    assert r.summary["point_value"] == 0.0
    assert (r.summary["budget"], r.summary["paid"], r.summary["reserve_kept"],
            r.summary["returned"]) == (2.0, 0.0, 0.0, 2.0)
    assert r.cents["hospital"].tolist() == [[0] * K.OH]
    assert r.cents["advances"].tolist() == [[0] * 12]
    assert r.cents["alliance"].tolist() == [[0] * K.OA] * len(alliances)
    led = r.ledger.set_index("item")["yuan"]
    assert led["budget"] == 2.0 and led["paid to hospitals"] == 0.0
    assert led["returned to the fund"] == 2.0


@pytest.mark.parametrize("alliances", [[], ALLIANCE_Y], ids=["no-alliance", "alliance-Y"])
def test_excluded_only_case_returns_the_budget(alliances):
    """The same policy with the one case excluded: no settled hospital, budget 2.00 returned."""
    df = pd.DataFrame([case("H0", 10.0, 500.0, month=0, level=1, case_class="excluded")])
    pol = policy(budget={"mode": "amount", "amount": 2.0}, reserve_rate=0.0, advance_ratio=0.0,
                 assessment={"scores": {"H0": 0.0}}, alliances=alliances)
    r = settle(df, pol, reimbursement_ratio=1.0, reserve_withheld=False)
    assert len(r.statement) == 0
    assert r.summary["point_value"] == 0.0
    assert (r.summary["paid"], r.summary["reserve_kept"], r.summary["returned"]) == (0.0, 0.0, 2.0)
    assert r.cents["alliance"].tolist() == [[0] * K.OA] * len(alliances)


def test_zero_points_special_review_still_paid():
    """Points to divide by 0 while a re-priced amount exists: PV 0, the re-priced amount is paid.

    Budget 200, ratio 0.8: A's case (10 points, payment 1,000) is approved, re-priced 50.00,
    decided in quarter 1; B's case has 0 points, month 0. PV = (200 ÷ 0.8 − 50) ÷ 0 → undefined → 0.
    Entitlement A = 50 × 0.8 = 40.00, B = 0; paid 40.00, returned 160.00. Advances (ratio 0.5):
    §13 — points before special review × provisional PV, no special-review money: A m03 =
    10 × 100 × 0.8 × 0.5 = 400.00 (was 20.00 with the top-up), clearing 40 − 400 = −360.00 (the
    hospital pays back); B none (month 0).
    """
    df = pd.DataFrame([
        case("A", 10.0, 100.0, month=3, sr_approved=True, sr_amount=50.0, sr_quarter=1),
        case("B", 0.0, 30.0, month=0),
    ])
    pol = policy(budget={"mode": "amount", "amount": 200.0}, reserve_rate=0.0, advance_ratio=0.5)
    r = settle(df, pol, reimbursement_ratio=0.8)
    assert r.summary["point_value"] == 0.0
    s = r.statement.set_index("hospital_id")
    assert list(s["entitlement"]) == [40.0, 0.0]
    assert list(s["ffs_amount"]) == [80.0, 24.0]
    assert list(s["advances"]) == [400.0, 0.0]
    assert list(s["clearing"]) == [-360.0, 0.0]
    assert r.advances.set_index("hospital_id").loc["A", "m03"] == 400.0
    assert r.summary["point_value_status"] == "zero_points"
    assert (r.summary["paid"], r.summary["reserve_kept"], r.summary["returned"]) == (40.0, 0.0, 160.0)


def test_unknown_month_paid_at_clearing():
    """Month 0 (unknown) or outside 1–12: no monthly advance, the whole final amount at clearing.

    PV = 300,000 ÷ 3,000 = 100; each case's entitlement 100,000. Only the month-2 case is
    advanced: 1,000 × 100 × 0.85 = 85,000.00; its clearing 15,000.00.
    """
    df = pd.DataFrame([case("A", 1000.0, 90_000.0, month=0), case("B", 1000.0, 90_000.0, month=13),
                       case("C", 1000.0, 90_000.0, month=2)])
    pol = policy(budget={"mode": "amount", "amount": 300_000.0}, reserve_rate=0.0)
    r = settle(df, pol)
    s = r.statement.set_index("hospital_id")
    assert list(s["final_amount"]) == [100_000.0] * 3
    assert list(s["advances"]) == [0.0, 0.0, 85_000.0]
    assert list(s["clearing"]) == [100_000.0, 100_000.0, 15_000.0]
    assert r.advances.drop(columns="hospital_id").to_numpy().sum() == 85_000.0


def test_fixed_mode_point_value_nan_without_points():
    """Fixed mode reports Σ payment ÷ Σ points; 1.00 ÷ 5e-324 is not finite → NaN. The
    entitlement is points × that point value rounded once (§13 "Money"): with no finite point
    value it is 0, so paid 0.00, returned 100.00 (before issue 11: the recorded payment, 1.00)."""
    df = pd.DataFrame([case("A", 5e-324, 100.0, payment=1.0)])
    r = settle(df, policy(budget={"mode": "amount", "amount": 100.0}, reserve_rate=0.0,
                          point_value_mode="fixed"))
    assert math.isnan(r.summary["point_value"])
    assert (r.summary["paid"], r.summary["returned"]) == (0.0, 100.0)


def test_largest_accepted_amounts_do_not_overflow():
    """Budget and totals at MAX_YUAN (1e12 yuan): amounts exact to the cent, the ledger holds.

    Fund 0.95e12 over 4 points → PV 2.375e11; entitlements 7.125e11 and 2.375e11 yuan."""
    from payment.settlement_policy import MAX_YUAN
    df = pd.DataFrame([case("A", 3.0, MAX_YUAN / 2, month=1, pv=MAX_YUAN / 6),
                       case("B", 1.0, MAX_YUAN / 2, month=12, pv=MAX_YUAN / 2)])
    pol = policy(budget={"mode": "amount", "amount": MAX_YUAN}, reserve_rate=0.05,
                 advance_ratio=1.0, tiers=QUOTA_TIERS,
                 assessment={"deposit_rate": 0.1, "scores": {"A": 90.0, "B": 10.0}},
                 alliances=[{"id": "X", "members": ["B"], "per_capita": MAX_YUAN / 1e4,
                             "population": 10_000}])
    r = settle(df, pol)
    h = r.cents["hospital"]
    assert (np.abs(h) < 10**16).all()
    assert list(h[:, K.OH_ENT]) == [71_250_000_000_000, 23_750_000_000_000]
    budget, paid = cents(r.summary["budget"]), int(h[:, K.OH_FINAL].sum())
    assert budget == 10**14
    assert budget == paid + cents(r.summary["reserve_kept"]) + cents(r.summary["returned"])
    assert np.array_equal(r.cents["advances"].sum(axis=1) + h[:, K.OH_CLEAR], h[:, K.OH_FINAL])


def test_absurd_inputs_rejected_not_overflowed():
    df = pd.DataFrame([case("A", 100.0, 1_000.0)])
    ok = policy(budget={"mode": "amount", "amount": 1_000.0}, reserve_rate=0.0)
    for bad in ({"budget": {"mode": "amount", "amount": 1e300}},
                {"budget": {"mode": "amount", "amount": INF}},
                {"budget": {"prior_year_actual": 1e11, "growth": 1e6}},
                {"alliances": [{"id": "X", "members": ["A"], "per_capita": 1e7, "population": 10**6}]},
                {"assessment": {"scores": {"A": float("nan")}}},
                {"assessment": {"mapping": "linear", "zero_score": -INF}}):
        with pytest.raises(ValidationError):
            policy(**bad)
    with pytest.raises(ValueError, match="reimbursement_ratio"):
        settle(df, ok, reimbursement_ratio=0.0)
    with pytest.raises(ValueError, match="total-cost basis"):
        settle(df, policy(budget={"mode": "amount", "amount": 9e11}), reimbursement_ratio=0.5)
    with pytest.raises(ValueError, match="budget"):
        settle(df, policy(budget={"growth": 0.0}), prior_year_actual=1e300)
    with pytest.raises(ValueError, match="scores"):
        settle(df, ok, scores={"A": INF})
    for col, value, msg in (("points", INF, "non-finite points"), ("points", -1.0, "negative"),
                            ("total_cost", 1e300, "total_cost totals"),
                            ("payment", -INF, "non-finite payment"),
                            ("patient_paid", 1e13, "patient_paid totals")):
        with pytest.raises(ValueError, match=msg):
            settle(df.assign(**{col: value}), ok)
    # an excluded case's numbers are not settled, so they are not checked
    r = settle(pd.concat([df, df.assign(total_cost=1e300, case_class="excluded")]), ok)
    assert r.summary["paid"] == 1_000.0


# ---------------------------------------------------------------------------- properties


tier_rows = st.lists(
    st.tuples(st.floats(-0.6, 0.6), st.floats(0.01, 0.5), st.floats(0.0, 1.0)),
    max_size=4,
)


def _tiers(rows):
    out, lo = [], -1.0
    for start, width, share in sorted(rows):
        a = max(start, lo)
        out.append({"lower": a, "upper": a + width, "fund_share": share})
        lo = a + width
    return out


@st.composite
def scenarios(draw):
    nh = draw(st.integers(1, 6))
    n = draw(st.integers(1, 25))
    rows = []
    for _ in range(n):
        h = f"H{draw(st.integers(0, nh - 1))}"
        pts = draw(st.one_of(st.floats(0.0, 5_000.0), st.sampled_from([0.0, 5e-324, 1e-310])))
        tc = draw(st.floats(0.0, 500_000.0))
        sr = draw(st.booleans()) and draw(st.booleans())
        rows.append(case(
            h, pts, tc, month=draw(st.integers(0, 12)), level=draw(st.integers(1, 3)),
            pv=draw(st.floats(50.0, 150.0)), sr_approved=sr,
            sr_amount=draw(st.floats(0.0, 300_000.0)) if sr else 0.0,
            sr_quarter=draw(st.integers(0, 4)),
            alliance_id=draw(st.sampled_from(["", "X", "Y"])),
            case_class=draw(st.sampled_from(["normal", "normal", "high", "excluded"])),
        ))
    df = pd.DataFrame(rows)
    if draw(st.booleans()):
        df["patient_paid"] = df["total_cost"] * draw(st.floats(0.0, 0.5))
    hs = sorted(set(df["hospital_id"]))
    members = draw(st.lists(st.sampled_from(hs), unique=True, max_size=len(hs)))
    cut = len(members) // 2
    alliances = []
    for aid, mem in (("X", members[:cut]), ("Y", members[cut:])):
        if mem:
            alliances.append({"id": aid, "members": mem, "per_capita": draw(st.floats(0, 2_000)),
                              "population": draw(st.integers(0, 1_000)),
                              "tiers": _tiers(draw(tier_rows))})
    pol = {
        "budget": draw(st.sampled_from([
            {"mode": "amount", "amount": draw(st.floats(0.0, 5e6))},
            {"growth": draw(st.floats(-0.2, 0.3))},
        ])),
        "reserve_rate": draw(st.floats(0.0, 0.2)),
        "advance_ratio": draw(st.floats(0.0, 1.0)),
        "point_value_mode": draw(st.sampled_from(["floating", "fixed"])),
        "tier_ratio_base": draw(st.sampled_from(["ffs", "entitlement"])),
        "tiers": _tiers(draw(tier_rows)),
        "assessment": {"deposit_rate": draw(st.floats(0.0, 0.1)),
                       "mapping": draw(st.sampled_from(["table", "linear"])),
                       "scores": {h: draw(st.floats(0, 100)) for h in hs}},
        "alliances": alliances,
        "alliance_members_tiered": draw(st.booleans()),
        "rounding": draw(st.sampled_from(["half_up", "half_even"])),
    }
    kw = {"reimbursement_ratio": draw(st.floats(0.3, 1.0)),
          "reserve_withheld": draw(st.booleans())}
    return df, SettlementPolicy.model_validate(pol), kw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_to_the_cent(sc):
    df, pol, kw = sc
    inputs = prepare(df, pol)
    params = encode(inputs, pol, **kw)
    r = settle_inputs(inputs, params)
    h = r.cents["hospital"]
    adv = r.cents["advances"]
    # a hospital's advances + clearing = its final amount, and the final amount is its parts
    assert np.array_equal(adv.sum(axis=1) + h[:, K.OH_CLEAR], h[:, K.OH_FINAL])
    parts = (h[:, K.OH_ENT] + h[:, K.OH_SHARE] - h[:, K.OH_RECOV] - h[:, K.OH_DEPOSIT]
             + h[:, K.OH_RELEASE] + h[:, K.OH_ALLY])
    assert np.array_equal(parts, h[:, K.OH_FINAL])
    assert (adv >= 0).all()
    # ledger: budget = paid + reserve kept + returned, with "returned" derived independently
    # (§13: no reserve exists when it is not withheld; forfeited deposits return to the fund)
    budget = cents(r.summary["budget"])
    reserve = cents(r.summary["reserve"])
    if kw["reserve_withheld"]:
        assert reserve == cents(budget / 100 * params.p[K.P_RESERVE_RATE])
    else:
        assert reserve == 0
    fund = budget - reserve
    paid = int(h[:, K.OH_FINAL].sum())
    kept = reserve - int(h[:, K.OH_SHARE].sum())
    returned = (fund - int(h[:, K.OH_ENT].sum()) + int(h[:, K.OH_RECOV].sum())
                - int(h[:, K.OH_ALLY].sum()) + int((h[:, K.OH_DEPOSIT] - h[:, K.OH_RELEASE]).sum()))
    assert budget == paid + kept + returned
    assert cents(r.summary["paid"]) == paid
    assert cents(r.summary["reserve_kept"]) == kept
    assert cents(r.summary["returned"]) == returned
    # sharing never overdraws the reserve; deposits released within [0, deposit]
    assert 0 <= h[:, K.OH_SHARE].sum() <= reserve
    assert ((h[:, K.OH_RELEASE] >= 0) & (h[:, K.OH_RELEASE] <= h[:, K.OH_DEPOSIT])).all()
    # each alliance's result is split over its members exactly
    al = r.cents["alliance"]
    for a in range(al.shape[0]):
        mem = inputs.member_of == a
        if mem.any():
            assert h[mem, K.OH_ALLY].sum() == al[a, K.OA_RESULT]
    # entitlement matches a decimal reference within a cent (float sums may differ by ulps)
    ratio = kw["reimbursement_ratio"]
    # fixed mode: points × the point value the cases were priced at, rounded once (§13 "Money")
    pv = r.summary["point_value"] if pol.point_value_mode == "floating" \
        else inputs.policy_point_value
    pv = pv if math.isfinite(pv) else 0.0
    col = K.HD_PTS
    srs = r.summary["special_review_scale"]
    for i in range(len(inputs.hospital_ids)):
        v = inputs.hd[i, col] * pv + inputs.hd[i, K.HD_SR] * srs
        ref = v - inputs.hd[i, K.HD_PP] if inputs.has_patient_paid else v * ratio
        # one cent at most (a largest-remainder share moves by one), up to float noise
        assert abs(h[i, K.OH_ENT] - ref * 100) <= 1.0 + 1e-6
    # a floating point value (§13 default pool fund ÷ ratio) is published to 4 decimals; it
    # hands out the pool up to that rounding when defined; otherwise it is 0, only the re-priced
    # amounts are paid, scaled down so they never exceed the pool
    if pol.point_value_mode == "floating":
        sum_pts = inputs.hd[:, K.HD_PTS].sum()
        sum_sr = inputs.hd[:, K.HD_SR].sum()
        pool = fund / 100 / ratio
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            q = (pool - sum_sr) / sum_pts if sum_pts > 0 else 0.0
        defined = sum_pts > 0 and math.isfinite(q) and q >= 0
        assert r.summary["point_value"] == (pv4(q) if defined else 0.0)
        pp = inputs.hd[:, K.HD_PP].sum() if inputs.has_patient_paid else 0.0
        if defined and abs(q) < 1e9:
            target = (pool - pp) * 100 if inputs.has_patient_paid else fund
            slack = len(h) + 0.5e-4 * sum_pts * 100
            assert abs(int(h[:, K.OH_ENT].sum()) - target) <= slack + 1
        elif not defined:
            assert srs <= 1.0 and sum_sr * srs <= max(pool, 0) * (1 + 1e-12)
    # no amount near the int64 limit (the overflow this test found showed as −2**63)
    for arr in r.cents.values():
        assert (np.abs(arr) < 10**16).all()


@settings(max_examples=40, deadline=None)
@given(st.floats(-0.9, 0.9), st.floats(1.0, 1e6), tier_rows)
def test_tier_parts_match_slices(x, base, rows):
    """Fund part = Σ share × |[0, x] ∩ tier| × base, by brute-force integration."""
    tiers = _tiers(rows)
    arr = np.array([[t["lower"], t["upper"], t["fund_share"]] for t in tiers] or [[0, 0, 0]])
    pay, take = K.tier_parts(x, base, arr, len(tiers))
    grid = np.linspace(min(0, x), max(0, x), 20_001)
    mid = (grid[:-1] + grid[1:]) / 2
    share = np.zeros_like(mid)
    for t in tiers:
        share[(mid >= t["lower"]) & (mid < t["upper"])] = t["fund_share"]
    ref = float((share * np.diff(grid)).sum() * base)
    got = pay if x > 0 else take
    assert got == pytest.approx(ref, abs=base * abs(x) / 5_000 + 1e-9)
    assert (pay == 0) or (take == 0)
