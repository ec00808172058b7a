"""特例单议: eligibility boundaries, exact quota arithmetic, selection, approval, re-pricing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from naive_payment import hand_weights

import payment
from payment.special_review import quota

# region mean 10,000; A1 mean 10,000 (base 100); B1 mean 30,000 (base 300)
W = hand_weights({"A1": (10_000.0, 100.0), "B1": (30_000.0, 300.0)}, small={"B1"})
W_DIP = hand_weights({"D1": (10_000.0, 100.0)}, kind="dip")


def sr_policy(preset="zhejiang_drg", **sr):
    rules = {"los_limit": None, "cost_multiple": None, "newborn_max_weight_g": None,
             "new_tech": False, "ungroupable": False, "small_groups": False,
             "dip_review": False, "quota_rate": 1.0, "quota_period": "quarter"}
    rules.update(sr)
    return payment.load_policy(preset, {
        "point_value": {"source": "fixed", "value": 100.0},
        "incomplete": {"enabled": False}, "readmission": {"enabled": False},
        "special_review": {"enabled": True, **rules},
    })


def case(cid, **kw):
    row = {"case_id": cid, "hospital_id": "H1", "hospital_level": 3, "total_cost": 10_000.0,
           "los": 10, "discharge_mode": 1, "month": 2, "drg": "A1"}
    row.update(kw)
    return row


def run(rows, policy, weights=W):
    return payment.price(pd.DataFrame(rows), weights, policy).set_index("case_id")


def test_quota_is_floor_of_exact_decimal_product():
    assert quota(1_400, 0.005) == 7            # 5 per mille per quarter (Zhejiang)
    assert quota(299, 0.05) == 14              # 5 % of 299 = 14.95
    assert quota(199, 0.005) == 0
    assert 0.57 * 100 < 57                     # binary float would floor to 56
    assert quota(100, 0.57) == 57
    assert list(quota(np.array([100, 1_400, 0]), 0.005)) == [0, 7, 0]


def test_newborn_rule_zhejiang():
    pol = sr_policy(newborn_max_weight_g=1500, newborn_region_multiple=2.5,
                    newborn_group_multiple=1.0)
    # §13 "Also default": the newborn rule applies to age_days <= 28 only (the cases had no
    # age_days before; "old" at 29 days and "noage" without age_days do not qualify)
    out = run([
        case("ok", birth_weight=1499, total_cost=25_000.0, age_days=28),  # >= 2.5 x 10,000
        case("heavy", birth_weight=1500, total_cost=25_000.0, age_days=3),  # not < 1,500 g
        case("cheap", birth_weight=1200, total_cost=24_999.0, age_days=3),  # < 2.5 x region
        case("grp", birth_weight=1200, total_cost=26_000.0, drg="B1", age_days=3),  # < 30,000
        case("nobw", total_cost=50_000.0, age_days=3),
        case("old", birth_weight=1200, total_cost=25_000.0, age_days=29),
        case("noage", birth_weight=1200, total_cost=25_000.0),
    ], pol)
    assert out["sr_candidate"].to_dict() == {"ok": True, "heavy": False, "cheap": False,
                                             "grp": False, "nobw": False, "old": False,
                                             "noage": False}
    assert out.loc["ok", "sr_reasons"] == "newborn"


def test_los_and_cost_multiple_boundaries():
    pol = sr_policy(los_limit=60, cost_multiple=3.0)
    out = run([case("los60", los=60), case("los61", los=61),
               case("k3", total_cost=30_000.0), case("k3-", total_cost=29_999.0),
               case("both", los=61, total_cost=30_000.0)], pol)
    assert out["sr_candidate"].to_dict() == {"los60": False, "los61": True, "k3": True,
                                             "k3-": False, "both": True}
    assert out.loc["both", "sr_reasons"] == "los|cost_multiple"


def test_other_rules_new_tech_ungroupable_small_group_dip():
    pol = sr_policy(new_tech=True, ungroupable=True, small_groups=True)
    out = run([case("flag", new_tech=True), case("cost", new_tech_cost=500.0),
               case("ungr", drg=""), case("small", drg="B1", total_cost=30_000.0),
               case("plain")], pol)
    assert out["sr_reasons"].astype(str).to_dict() == {
        "flag": "new_tech", "cost": "new_tech", "ungr": "ungroupable", "small": "small_group",
        "plain": ""}
    dip = sr_policy("national_dip", dip_review=True)
    rows = [{**case("r5", total_cost=50_000.0), "dip_group": "D1"},
            {**case("r5+", total_cost=50_001.0), "dip_group": "D1"}]
    out = run(rows, dip, W_DIP)
    assert out["sr_candidate"].to_dict() == {"r5": False, "r5+": True}


def test_selection_largest_gain_first_ties_by_case_id_and_quota_per_quarter():
    # H1, quarter 1: 7 cases not excluded, quota floor(0.3 x 7) = 2
    rows = [case("big", los=61, total_cost=30_000.0),   # high: 100 points -> gain 20,000
            case("b", los=61, total_cost=20_000.0),     # normal 100 points -> gain 10,000
            case("a", los=61, total_cost=20_000.0),     # same gain: "a" before "b"
            case("loss", los=61, total_cost=5_000.0),   # gain < 0 -> does not apply
            case("n1"), case("n2"), case("n3"),
            case("q2", los=61, total_cost=20_000.0, month=4)]  # quarter 2: quota floor(0.3)=0
    out = run(rows, sr_policy(los_limit=60, quota_rate=0.3))
    assert out["sr_status"].astype(str).to_dict() == {
        "big": "approved", "b": "over_quota", "a": "approved", "loss": "no_gain",
        "n1": "", "n2": "", "n3": "", "q2": "over_quota"}
    assert list(out["sr_quarter"]) == [1] * 7 + [2]
    assert out.loc["big", "sr_amount"] == 30_000.0 and out.loc["b", "sr_amount"] == 0.0
    assert out.loc["big", "sr_gain"] == 20_000.0
    # the same cases spread over two hospitals get two separate quotas
    rows2 = [dict(r, hospital_id="H2") if r["case_id"] in ("b", "n3") else r for r in rows]
    out2 = run(rows2, sr_policy(los_limit=60, quota_rate=0.3))
    assert out2.loc["b", "sr_status"] == "over_quota"  # H2: 2 cases -> quota 0


def test_excluded_stays_neither_candidates_nor_quota_base():
    pol = sr_policy(los_limit=1, quota_rate=0.5)
    pol = pol.with_overrides({"exclusions": {"los_min": 2}})
    rows = [case("x1", los=1, total_cost=90_000.0), case("x2", los=2, total_cost=90_000.0),
            case("c1", los=3, total_cost=20_000.0), case("c2", los=3, total_cost=15_000.0),
            case("c3", los=3, total_cost=12_000.0)]
    out = run(rows, pol)
    # x1 excluded (los <= 2); x2 too; base = 3 -> quota 1
    assert not out.loc["x1", "sr_candidate"] and not out.loc["x2", "sr_candidate"]
    assert out["sr_applied"].sum() == 1 and out.loc["c1", "sr_approved"]


def test_approval_rate_and_deduction():
    pol = sr_policy(los_limit=60, approval_rate=0.5, deduction_share=0.1)
    out = run([case("a", los=61, total_cost=30_000.0), case("b", los=61, total_cost=20_000.0)],
              pol)
    # 2 applied, floor(0.5 x 2) = 1 approved: the larger gain
    assert out["sr_status"].astype(str).to_dict() == {"a": "approved", "b": "not_approved"}
    # fee-for-service less 10 % deduction: 30,000 x 0.9 = 27,000; gain 27,000 - 10,000
    assert out.loc["a", "sr_amount"] == 27_000.0 and out.loc["a", "sr_gain"] == 17_000.0


def test_review_coefficient_repricing():
    pol = sr_policy(cost_multiple=3.0, repricing="review_coefficient", review_coefficient=1.5)
    out = run([case("a", total_cost=40_000.0)], pol)
    # high: 100 x 1 + 100 x (4 - 3) = 200 points; x 1.5 x 100 yuan = 30,000
    assert out.loc["a", "points"] == pytest.approx(200.0)
    assert out.loc["a", "sr_amount"] == 30_000.0


def test_ungroupable_cases_reprice_at_fee_for_service():
    """With ``ungroupable.points = "zero"`` an ungroupable case is left to special review and
    re-priced at its cost. §13 default: it already gets fee-for-service points 8,000 ÷ (10,000
    ÷ 100) = 80, paid 8,000 at 100 yuan/point, so review gains nothing (was: approved, 8,000)."""
    pol = sr_policy(ungroupable=True).with_overrides({"ungroupable": {"points": "zero"}})
    out = run([case("u", drg="ZZ99", total_cost=8_000.0)], pol)
    assert out.loc["u", "case_class"] == "ungroupable"
    assert out.loc["u", "sr_approved"] and out.loc["u", "sr_amount"] == 8_000.0
    out = run([case("u", drg="ZZ99", total_cost=8_000.0)], sr_policy(ungroupable=True))
    assert out.loc["u", "points"] == 80.0 and out.loc["u", "payment"] == 8_000.0
    assert out.loc["u", "sr_candidate"] and out.loc["u", "sr_status"] == "no_gain"


def test_cost_multiple_against_the_groups_own_mean():
    """§13: cost ≥ k × the group's region mean, not RW × all-case mean. Group A1 mean 10,000,
    published base points 100.0049 would put RW × mean at 10,000.49; the case at 30,000 is
    exactly 3 × the group mean and qualifies."""
    w = hand_weights({"A1": (10_000.0, 100.0049)})
    out = run([case("k3", total_cost=30_000.0)], sr_policy(cost_multiple=3.0), weights=w)
    assert out.loc["k3", "sr_candidate"]


def test_quota_rounding_options():
    """§13: quota = floor (default), half-up or ceiling of rate × base, exact decimals."""
    assert quota(299, 0.05) == 14 and quota(299, 0.05, "half_up") == 15
    assert quota(290, 0.05, "half_up") == 15 and quota(289, 0.05, "half_up") == 14  # 14.5 / 14.45
    assert quota(281, 0.05, "ceiling") == 15 and quota(280, 0.05, "ceiling") == 14
    assert list(quota(np.array([1, 0]), 0.005, "ceiling")) == [1, 0]


def test_disabled_review_leaves_columns_empty():
    pol = sr_policy(los_limit=60).with_overrides({"special_review": {"enabled": False}})
    out = run([case("a", los=90)], pol)
    assert not out.loc["a", "sr_candidate"] and out.loc["a", "sr_status"] == ""
    assert out.loc["a", "sr_amount"] == 0.0
