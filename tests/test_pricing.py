"""price(): classes, points and yuan against hand-computed domain.md examples (tolerance 1e-9
points unless stated; yuan exact to the cent)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive_payment import hand_weights, naive_price

import payment
from payment.pricing import point_value_from_budget, reserve_amount, round_half_up_cents

FIXED_PV = {"point_value": {"source": "fixed", "value": 100.0},
            "special_review": {"enabled": False}}


def drg_policy(**over):
    base = {**FIXED_PV}
    for k, v in over.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return payment.load_policy("national_drg", base)


def case(**kw):
    row = {"case_id": "C1", "hospital_id": "H1", "hospital_level": 3, "total_cost": 10_000.0,
           "los": 10, "discharge_mode": 1, "month": 3, "drg": "A1"}
    row.update(kw)
    return row


def run(rows, weights, policy):
    return payment.price(pd.DataFrame(rows), weights, policy)


# groups: A1 base 100 points (band <= 100: 3x), B1 base 200 (2x), C1 base 400 (1.5x)
W = hand_weights({"A1": (10_000.0, 100.0), "B1": (20_000.0, 200.0), "C1": (40_000.0, 400.0),
                  "A2": (10_000.0, 100.5)},
                 hospital_coef={("H1", "A1"): 1.2, ("H1", "B1"): 0.9})


# ---- point value (§4 example) -------------------------------------------------------------------

def test_point_value_example_with_and_without_reserve():
    assert point_value_from_budget(1_000_000_000, 9_500_000, 0.05, True) == 100.0
    assert round(point_value_from_budget(1_000_000_000, 9_500_000, 0.05, False), 4) == 105.2632
    # reimbursement ratio puts the fund on the total-cost basis: 950M / 0.8 / 9.5M = 125
    assert point_value_from_budget(1_000_000_000, 9_500_000, 0.05, True, 0.8) == 125.0


def test_reserve_rounded_half_up_to_cent():
    assert str(reserve_amount(1_000_000_000, 0.05)) == "50000000.00"
    assert str(reserve_amount(100.10, 0.05)) == "5.01"  # 5.005 -> 5.01 half-up


def test_round_half_up_cents():
    got = round_half_up_cents(np.array([2.675, 0.125, -2.675, 1.005, 0.0, np.nan]))
    assert list(got[:5]) == [268.0, 13.0, -268.0, 101.0, 0.0]
    assert math.isnan(got[5])


def test_budget_point_value_source_spends_the_fund_exactly():
    pol = drg_policy(point_value={"source": "budget", "budget": 1_000_000.0,
                                  "reserve_rate": 0.05, "reserve_withheld": True})
    out = run([case(case_id="a"), case(case_id="b", drg="B1", hospital_id="H2")], W, pol)
    # points 120 + 200 = 320; 950,000 / 320 = 2968.75 yuan/point
    assert out.attrs["yuan_per_point"] == 2968.75
    assert list(out["payment"]) == [356_250.0, 593_750.0]


# ---- DRG classes (§5, boundaries §13) -----------------------------------------------------------

def test_normal_base_points_times_coefficient():
    out = run([case()], W, drg_policy())
    assert out.loc[0, "case_class"] == "normal"
    assert out.loc[0, "points"] == pytest.approx(120.0)  # 100 x 1.2
    assert out.loc[0, "payment"] == 12_000.0
    assert out.loc[0, "gain"] == 2_000.0


def test_new_group_gets_coefficient_one():
    out = run([case(hospital_id="H9")], W, drg_policy())
    assert out.loc[0, "coefficient"] == 1.0 and out.loc[0, "points"] == 100.0


def test_high_multiple_band_and_formula():
    # r = 4 >= 3: 100 x 1.2 + 100 x (4 - 3) = 220
    out = run([case(total_cost=40_000.0)], W, drg_policy())
    assert (out.loc[0, "case_class"], out.loc[0, "points"]) == ("high", pytest.approx(220.0))
    # boundary r == 3 is high (>= threshold), excess 0
    out = run([case(total_cost=30_000.0)], W, drg_policy())
    assert (out.loc[0, "case_class"], out.loc[0, "points"]) == ("high", pytest.approx(120.0))
    out = run([case(total_cost=29_999.0)], W, drg_policy())
    assert out.loc[0, "case_class"] == "normal"


def test_band_includes_its_maximum():
    # base exactly 100 -> threshold 3; base 100.5 -> next band, threshold 2
    out = run([case(total_cost=25_000.0), case(drg="A2", total_cost=25_000.0)], W, drg_policy())
    assert list(out["case_class"]) == ["normal", "high"]
    # A2: 100.5 x 1 + 100.5 x (2.5 - 2) = 150.75
    assert out.loc[1, "points"] == pytest.approx(150.75)
    out = run([case(drg="C1", total_cost=60_000.0)], W, drg_policy())  # r 1.5 at base 400
    assert out.loc[0, "case_class"] == "high"


def test_low_multiple_inclusive_ratio_rule():
    out = run([case(total_cost=4_000.0), case(total_cost=4_001.0)], W, drg_policy())
    assert list(out["case_class"]) == ["low", "normal"]
    assert out.loc[0, "points"] == pytest.approx(48.0)  # 100 x 1.2 x 0.4
    full = run([case(total_cost=4_000.0)], W, drg_policy(outliers={"low_rule": "full"}))
    assert full.loc[0, "points"] == pytest.approx(120.0)


ZJ = {"incomplete": {"enabled": True, "with_coefficient": True, "cap_at_base_points": True}}
JH = {"incomplete": {"enabled": True, "with_coefficient": False, "cap_at_base_points": True}}


def test_zhejiang_vs_jinhua_incomplete_stay_and_cap():
    rows = [case(case_id=str(i), discharge_mode=2, total_cost=c)
            for i, c in enumerate([5_000.0, 9_000.0, 12_000.0, 50_000.0])]
    zj = run(rows, W, drg_policy(**ZJ))
    jh = run(rows, W, drg_policy(**JH))
    assert set(zj["case_class"]) == {"incomplete"}
    # Zhejiang: base x coef x r = 100 x 1.2 x {0.5, 0.9, 1.2, 5} capped at 100
    assert list(zj["points"]) == pytest.approx([60.0, 100.0, 100.0, 100.0])
    # Jinhua: base x r = 100 x {0.5, 0.9, 1.2, 5} capped at 100
    assert list(jh["points"]) == pytest.approx([50.0, 90.0, 100.0, 100.0])
    # a death (mode 4) and leaving against advice (5) are incomplete too; home (1) is not
    out = run([case(discharge_mode=4), case(discharge_mode=5), case(discharge_mode=1)],
              W, drg_policy(**JH))
    assert list(out["case_class"]) == ["incomplete", "incomplete", "normal"]


def test_incomplete_wins_over_high_unless_option():
    rows = [case(discharge_mode=2, total_cost=40_000.0)]
    assert run(rows, W, drg_policy(**ZJ)).loc[0, "case_class"] == "incomplete"
    pol = drg_policy(**ZJ, outliers={"high_over_incomplete": True})
    out = run(rows, W, pol)
    assert out.loc[0, "case_class"] == "high" and out.loc[0, "points"] == pytest.approx(220.0)


def test_incomplete_short_stay_by_los():
    pol = drg_policy(incomplete={"enabled": True, "max_los": 2, "discharge_modes": [4]})
    out = run([case(los=2, total_cost=5_000.0), case(los=3, total_cost=5_000.0)], W, pol)
    assert list(out["case_class"]) == ["incomplete", "normal"]
    assert out.loc[0, "class_reason"] == "incomplete stay: los <= incomplete.max_los"


def test_los_exclusion_boundaries_and_fee_for_service():
    pol = drg_policy(exclusions={"los_min": 2, "los_max": 60})
    out = run([case(los=2), case(los=3), case(los=59), case(los=60)], W, pol)
    assert list(out["case_class"]) == ["excluded", "normal", "normal", "excluded"]
    assert out.loc[0, "points"] == 0 and out.loc[0, "payment"] == 10_000.0
    assert out.loc[0, "gain"] == 0.0
    none = run([case(los=2)], W, drg_policy(exclusions={"los_min": 2, "payment": "none"}))
    assert none.loc[0, "payment"] == 0.0


def test_bed_day_never_los_excluded():
    w = hand_weights({"TR19": (30_000.0, 300.0)}, daily={"TR19": 12.5})
    pol = drg_policy(exclusions={"los_min": 2, "los_max": 60}, bed_day={"prefixes": ["TR"]})
    out = run([case(drg="TR19", los=90), case(drg="TR19", los=1)], w, pol)
    assert list(out["case_class"]) == ["bed_day", "bed_day"]
    assert list(out["points"]) == pytest.approx([12.5 * 90, 12.5])
    # explicit daily points in the policy win over the weights
    pol2 = drg_policy(bed_day={"prefixes": ["TR"], "daily_points": {"TR19": 20.0}})
    assert run([case(drg="TR19", los=30)], w, pol2).loc[0, "points"] == pytest.approx(600.0)


def test_readmission_window_exempt_and_same_hospital():
    pol = drg_policy(readmission={"enabled": True, "window_days": 15, "factor": 0.5,
                                  "exempt_groups": ["B1"]})
    rows = [
        # patient P1: A1 out 01-10, A1 back 01-25 (gap 15, inclusive) -> first halved
        case(case_id="1", patient_id="P1", admission_date="2024-01-01",
             discharge_date="2024-01-10"),
        case(case_id="2", patient_id="P1", admission_date="2024-01-25",
             discharge_date="2024-01-30", hospital_id="H2"),
        # gap 16 -> not penalised
        case(case_id="3", patient_id="P1", admission_date="2024-02-15",
             discharge_date="2024-02-20", hospital_id="H2"),
        # P2: exempt group B1 twice within 3 days
        case(case_id="4", patient_id="P2", drg="B1", admission_date="2024-03-01",
             discharge_date="2024-03-02"),
        case(case_id="5", patient_id="P2", drg="B1", admission_date="2024-03-05",
             discharge_date="2024-03-08"),
        # P3: different group next -> no penalty
        case(case_id="6", patient_id="P3", admission_date="2024-03-01",
             discharge_date="2024-03-02"),
        case(case_id="7", patient_id="P3", drg="B1", admission_date="2024-03-03",
             discharge_date="2024-03-08"),
    ]
    out = run(rows, W, pol)
    assert list(out["case_class"]) == ["readmission", "normal", "normal", "normal", "normal",
                                       "normal", "normal"]
    assert out.loc[0, "points"] == pytest.approx(60.0)  # 120 x 0.5
    assert out.loc[0, "priced_as"] == "normal"
    same = drg_policy(readmission={"enabled": True, "same_hospital": True})
    assert run(rows[:2], W, same).loc[0, "case_class"] == "normal"  # H1 then H2


def test_readmission_without_dates_is_skipped_with_a_note():
    pol = drg_policy(readmission={"enabled": True})
    out = run([case()], W, pol)
    assert out.loc[0, "case_class"] == "normal"
    assert "readmission rule skipped" in out.attrs["notes"][0]


def test_incentive_by_group_and_hospital():
    pol = drg_policy(incentives={"group": {"A1": 1.1}, "hospital": {"H1": 1.05}})
    out = run([case()], W, pol)
    assert out.loc[0, "points"] == pytest.approx(120.0 * 1.1 * 1.05)


def test_level_coefficients():
    w = hand_weights({"A1": (10_000.0, 100.0)}, level_rows=[(3, "A1", 12_000.0, 1.2),
                                                              (1, "A1", 8_000.0, 0.8)])
    pol = drg_policy(coefficients={"mode": "level"})
    out = run([case(hospital_level=3), case(hospital_level=1), case(hospital_level=2)], w, pol)
    assert list(out["coefficient"]) == [1.2, 0.8, 1.0]


def test_rate_method_payment():
    pol = drg_policy(method="rate", point_value={"source": "fixed", "base_rate": 12_000.0})
    out = run([case()], W, pol)
    # RW 1.0 x coefficient 1.2 x 12,000 yuan per unit of weight
    assert out.loc[0, "payment"] == 14_400.0


# ---- DIP deviation (§5) --------------------------------------------------------------------------

WD = hand_weights({"D1": (10_000.0, 100.0)}, kind="dip",
                  level_rows=[(3, "D1", 10_000.0, 1.0), (2, "D1", 8_000.0, 1.0)])


def dip_policy(**over):
    base = {**FIXED_PV, "coefficients": {"mode": "level"}}
    base.update(over)
    return payment.load_policy("national_dip", base)


def dip_case(cost, group="D1", **kw):
    row = case(total_cost=cost, **kw)
    del row["drg"]
    row["dip_group"] = group
    return row


@pytest.mark.parametrize(("cost", "cls", "points"), [
    (4_000.0, "low", 40.0),        # r 0.4 -> score x r
    (4_999.0, "low", 49.99),
    (5_000.0, "normal", 100.0),    # r 0.5: inclusive lower edge of the normal range
    (20_000.0, "normal", 100.0),   # r 2: continuous at 2
    (20_001.0, "high", 100.01),    # r > 2 -> score x (r - 1)
    (30_000.0, "high", 200.0),
    (50_000.0, "high", 400.0),     # r 5: not yet flagged for review
])
def test_dip_deviation_boundaries(cost, cls, points):
    out = run([dip_case(cost)], WD, dip_policy())
    assert out.loc[0, "case_class"] == cls
    assert out.loc[0, "points"] == pytest.approx(points)
    assert not out.loc[0, "review_flag"]


def test_dip_review_flag_above_5_and_same_level_base():
    out = run([dip_case(50_001.0)], WD, dip_policy())
    assert out.loc[0, "review_flag"] and out.loc[0, "case_class"] == "high"
    # level 2 compares with its own average 8,000: r = 20,000 / 8,000 = 2.5 -> 100 x 1.5
    out = run([dip_case(20_000.0, hospital_level=2)], WD, dip_policy())
    assert out.loc[0, "r"] == 2.5 and out.loc[0, "points"] == pytest.approx(150.0)
    region = dip_policy(deviation={"comparison_base": "region"})
    assert run([dip_case(20_000.0, hospital_level=2)], WD, region).loc[0, "r"] == 2.0
    # a level with no history falls back to the region average
    assert run([dip_case(20_000.0, hospital_level=1)], WD, dip_policy()).loc[0, "r"] == 2.0


# ---- bad input ---------------------------------------------------------------------------------

def test_bad_rows_get_class_and_reason_not_exception():
    rows = [case(total_cost=np.nan), case(total_cost=-5.0), case(total_cost=1e12),
            case(los=np.nan), case(los=-1), case(los=100_000), case(drg=""), case(drg=None),
            case(drg="ZZ99"), case(status="QY"), case(status="FAIL")]
    out = run(rows, W, drg_policy())
    assert list(out["case_class"]) == ["excluded"] * 6 + ["ungroupable"] * 5
    assert list(out["class_reason"]) == [
        "total_cost missing or negative", "total_cost missing or negative",
        "total_cost above input_checks.max_cost", "los missing or negative",
        "los missing or negative", "los above input_checks.max_los", "no group", "no group",
        "group has no weight", "ambiguous case (QY)", "grouper status not SUCCESS",
    ]
    ex = out.iloc[:6]
    assert (ex["points"] == 0).all() and (ex["payment"] == 0).all()
    assert (out["gain"].iloc[:2] == 0).all()
    # §13 "Also default": ungroupable cases get fee-for-service points = cost ÷ (all-case mean
    # 10,000 ÷ 100) = 100 (was 0 points, gain −10,000)
    ungr = out.iloc[6:]
    assert (ungr["points"] == 100.0).all()
    ypp = out.attrs["yuan_per_point"]
    assert out.loc[6, "gain"] == round(100.0 * ypp - 10_000.0, 2)
    zero = run(rows, W, drg_policy().with_overrides({"ungroupable": {"points": "zero"}}))
    assert (zero["points"] == 0).all() and (zero["payment"] == 0).all()
    assert zero.loc[6, "gain"] == -10_000.0


def test_text_costs_and_missing_columns_tolerated():
    df = pd.DataFrame([case()]).astype({"total_cost": str, "los": str})
    df.loc[0, "total_cost"] = "abc"
    out = payment.price(df.drop(columns=["discharge_mode", "month"]), W, drg_policy())
    assert out.loc[0, "case_class"] == "excluded" and out.loc[0, "month"] == 0


def test_contract_columns_and_order_kept():
    rows = [case(case_id=f"C{i}", total_cost=1000.0 * (i + 1)) for i in range(20)]
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=1)
    out = payment.price(df, W, drg_policy())
    contract = ["case_id", "hospital_id", "hospital_level", "total_cost", "los",
                "discharge_mode", "month", "group", "case_class", "class_reason", "r",
                "base_points", "coefficient", "points", "payment", "gain", "sr_candidate",
                "sr_reasons", "sr_applied", "sr_approved", "sr_status", "sr_quarter",
                "sr_amount"]
    assert [c for c in out.columns if c in contract] == contract
    assert list(out["case_id"]) == list(df["case_id"]) and list(out.index) == list(df.index)


def test_missing_group_column_is_a_clear_error():
    with pytest.raises(KeyError, match="no group column 'drg'"):
        payment.price(pd.DataFrame([case()]).drop(columns=["drg"]), W, drg_policy())


# ---- cross-check with the naive reference ----------------------------------------------------------

@pytest.mark.parametrize("over", [{}, ZJ, JH, {"exclusions": {"los_min": 2, "los_max": 60}},
                                  {"outliers": {"high_over_incomplete": True}, **ZJ}])
def test_matches_naive_reference(over):
    rng = np.random.default_rng(7)
    n = 400
    groups = ["A1", "B1", "C1", "A2", "ZZ"]
    df = pd.DataFrame({
        "case_id": [f"C{i}" for i in range(n)],
        "hospital_id": rng.choice(["H1", "H2"], n),
        "hospital_level": 3,
        "total_cost": rng.lognormal(9.5, 0.9, n),
        "los": rng.integers(0, 70, n).astype(float),
        "discharge_mode": rng.choice([1, 2, 4, 5, 9], n),
        "drg": rng.choice(groups, n),
    })
    pol = drg_policy(**over)
    fast = payment.price(df, W, pol)
    slow = naive_price(df, W, pol)
    assert list(fast["case_class"].astype(str)) == list(slow["case_class"])
    np.testing.assert_allclose(fast["points"], slow["points"], rtol=1e-12)


# ---- properties -------------------------------------------------------------------------------

costs = st.floats(min_value=0.0, max_value=500_000.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(a=costs, b=costs, mode=st.sampled_from([1, 2]), drg=st.sampled_from(["A1", "B1", "C1"]))
def test_payment_monotone_in_cost_within_class(a, b, mode, drg):
    lo, hi = sorted((a, b))
    out = run([case(total_cost=lo, discharge_mode=mode, drg=drg),
               case(total_cost=hi, discharge_mode=mode, drg=drg)], W, drg_policy(**ZJ))
    assert (out["points"] >= 0).all()
    if out.loc[0, "case_class"] == out.loc[1, "case_class"]:
        assert out.loc[0, "points"] <= out.loc[1, "points"] + 1e-9
        assert out.loc[0, "payment"] <= out.loc[1, "payment"]


@settings(max_examples=60, deadline=None)
@given(r=st.floats(min_value=0.0, max_value=20.0), level=st.sampled_from([1, 2, 3]))
def test_dip_points_nonnegative_and_continuous_at_high(r, level):
    out = run([dip_case(10_000.0 * r, hospital_level=level)], WD, dip_policy())
    assert out.loc[0, "points"] >= 0
    eps = 1e-7
    near = run([dip_case(20_000.0 - eps), dip_case(20_000.0 + eps)], WD, dip_policy())
    assert abs(near.loc[0, "points"] - near.loc[1, "points"]) < 1e-6


def test_dip_discontinuous_at_low_boundary():
    near = run([dip_case(4_999.999), dip_case(5_000.0)], WD, dip_policy())
    assert near.loc[1, "points"] - near.loc[0, "points"] == pytest.approx(50.0, abs=1e-3)
