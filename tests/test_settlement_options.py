"""Settlement under the §13 defaults and each option key (issue 11), hand-computed to the cent."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payment.policy import Policy
from payment.settlement import settle

INF = math.inf
QUOTA_TIERS = [
    {"lower": -INF, "upper": -0.1, "fund_share": 1.0},
    {"lower": -0.1, "upper": 0.0, "fund_share": 0.7},
    {"lower": 0.0, "upper": 0.2, "fund_share": 0.5},
    {"lower": 0.2, "upper": INF, "fund_share": 0.0},
]


def case(h, points, total_cost, month=1, **kw):
    row = {"hospital_id": h, "hospital_level": 3, "month": month, "case_class": "normal",
           "points": points, "payment": round(points * 100.0, 2), "total_cost": total_cost,
           "sr_approved": False, "sr_amount": 0.0, "sr_quarter": 0}
    row.update(kw)
    return row


def pol(point_value=None, method="points", special_review=None, **settlement):
    return Policy.model_validate({"name": "t", "kind": "drg", "method": method,
                                  "settlement": settlement, "point_value": point_value or {},
                                  "special_review": special_review or {}})


def frame(rows, **attrs):
    df = pd.DataFrame(rows)
    df.attrs.update(attrs)
    return df


def ledger(r):
    led = r.ledger.set_index("item")["yuan"]
    assert round(led["paid to hospitals"] + led["reserve kept"] + led["returned to the fund"],
                 2) == led["budget"]
    return led


AMOUNT = {"mode": "amount", "amount": 2.0}


def test_published_point_value_and_returned_absorbs_rounding():
    """2.00 over 3 × 1 point: PV 0.666… published 0.6667; each entitlement 0.67, Σ 2.01, so
    "returned" is −0.01 (§13: the returned line absorbs the rounding)."""
    df = pd.DataFrame([case("A", 1.0, 1.0), case("B", 1.0, 1.0), case("C", 1.0, 1.0)])
    r = settle(df, pol(budget=AMOUNT, reserve_rate=0.0))
    assert r.summary["point_value"] == 0.6667
    assert list(r.statement["entitlement"]) == [0.67, 0.67, 0.67]
    assert ledger(r)["returned to the fund"] == -0.01


def test_unrounded_point_value_allocates_by_largest_remainder():
    """rounding = "none": exact 0.6666… each; floors 0.66 × 3 leave 2 cents, to A and B (equal
    remainders: hospital order). Σ = 2.00 exactly, nothing overpaid."""
    df = pd.DataFrame([case("A", 1.0, 1.0), case("B", 1.0, 1.0), case("C", 1.0, 1.0)])
    r = settle(df, pol({"rounding": "none"}, budget=AMOUNT, reserve_rate=0.0))
    assert r.summary["point_value"] == pytest.approx(2 / 3, rel=1e-15)
    assert list(r.statement["entitlement"]) == [0.67, 0.67, 0.66]
    assert ledger(r)["returned to the fund"] == 0.0


def test_point_value_decimals_option():
    df = pd.DataFrame([case("A", 3.0, 1.0)])
    r = settle(df, pol({"decimals": 2}, budget={"mode": "amount", "amount": 1000.0},
                       reserve_rate=0.0))
    assert r.summary["point_value"] == 333.33  # 333.333… to 2 decimals


def test_rate_method_publishes_yuan_per_weight():
    """费率法: 3 hospitals × 10,000 points (100 weights each), fund 1,000,000: base rate
    3,333.3333 per weight → 100 × 3,333.3333 = 333,333.33 each; the points method publishes
    PV 33.3333 → 10,000 × 33.3333 = 333,333.00."""
    df = pd.DataFrame([case(h, 10_000.0, 1.0) for h in "ABC"])
    amount = {"mode": "amount", "amount": 1e6}
    rate = settle(df, pol(method="rate", budget=amount, reserve_rate=0.0))
    assert rate.summary["point_value"] == 3333.3333
    assert list(rate.statement["entitlement"]) == [333_333.33] * 3
    points = settle(df, pol(budget=amount, reserve_rate=0.0))
    assert points.summary["point_value"] == 33.3333
    assert list(points.statement["entitlement"]) == [333_333.0] * 3


def sharing_frame():
    return pd.DataFrame([case("A", 5e6, 650e6), case("D", 2.5e6, 325e6), case("E", 2e6, 200e6)])


SHARING = {"budget": {"mode": "amount", "amount": 1e9}, "reserve_rate": 0.05,
           "tier_ratio_base": "entitlement", "tiers": QUOTA_TIERS}


def test_sharing_paid_in_full_option():
    """PV 100; A 500 M ent / 650 M ffs → 50 M sharing, D 25 M; reserve 50 M. In full: 75 M paid,
    reserve kept 0, the excess 25 M from the fund line: returned = 1e9 − 1.025e9 = −25 M."""
    r = settle(sharing_frame(), pol(sharing_beyond_reserve="pay_in_full", **SHARING))
    s = r.statement.set_index("hospital_id")
    assert (s.loc["A", "sharing"], s.loc["D", "sharing"]) == (50e6, 25e6)
    led = ledger(r)
    assert led["reserve kept"] == 0.0 and led["returned to the fund"] == -25e6


def test_deposit_base_after_tiers_and_entitlement_option():
    """Deposit 1 %: §13 default base = entitlement + tier adjustment = 500 M + 33,333,333.33
    → 5,333,333.33; option "entitlement": 5,000,000.00."""
    a = {"deposit_rate": 0.01}
    r = settle(sharing_frame(), pol(assessment=a, **SHARING)).statement.set_index("hospital_id")
    assert r.loc["A", "deposit"] == 5_333_333.33
    r = settle(sharing_frame(), pol(assessment={**a, "deposit_base": "entitlement"}, **SHARING))
    assert r.statement.set_index("hospital_id").loc["A", "deposit"] == 5_000_000.0


def test_forfeited_deposit_returned_or_kept():
    a = {"deposit_rate": 0.1, "scores": {"A": 0.0},
         "release": [{"min_score": 0, "release": 0.0}, {"min_score": 60, "release": 1.0}]}
    df = pd.DataFrame([case("A", 10.0, 1000.0)])
    base = {"budget": {"mode": "amount", "amount": 1000.0}, "reserve_rate": 0.0}
    led = ledger(settle(df, pol(assessment=a, **base)))
    assert (led["reserve kept"], led["returned to the fund"]) == (0.0, 100.0)
    led = ledger(settle(df, pol(assessment={**a, "forfeited": "reserve"}, **base)))
    assert (led["reserve kept"], led["returned to the fund"]) == (100.0, 0.0)


def test_no_reserve_when_not_withheld():
    """reserve_withheld = false: the whole budget is the fund, no reserve exists (was: a
    reserve kept of 5 % and a negative "returned")."""
    df = pd.DataFrame([case("A", 9.5e6, 1.0)])
    r = settle(df, pol({"reserve_withheld": False}, budget={"mode": "amount", "amount": 1e9},
                       reserve_rate=0.05))
    led = ledger(r)
    assert r.summary["point_value"] == 105.2632  # §4 example
    assert led["reserve withheld"] == 0.0 and led["reserve kept"] == 0.0
    assert led["returned to the fund"] == round(1e9 - 9.5e6 * 105.2632, 2)


def test_negative_point_value_is_reported_and_never_billed():
    """Re-priced 300 against a pool of 100: PV 0 (status "negative"), the re-priced amount is
    paid scaled to the pool (100.00), B's points get nothing, nothing is negative."""
    df = pd.DataFrame([case("A", 1.0, 300.0, sr_approved=True, sr_amount=300.0),
                       case("B", 10.0, 50.0)])
    r = settle(df, pol(budget={"mode": "amount", "amount": 100.0}, reserve_rate=0.0))
    assert r.summary["point_value"] == 0.0
    assert r.summary["point_value_status"] == "negative"
    assert r.summary["special_review_scale"] == pytest.approx(1 / 3)
    assert list(r.statement["entitlement"]) == [100.0, 0.0]
    assert ledger(r)["returned to the fund"] == 0.0


def test_scaled_repriced_money_is_shared_in_cents_by_largest_remainder():
    """Re-priced 100 + 100 + 100 against a pool of 100.00 (PV negative): each hospital's scaled
    share is 33.333… yuan, allocated in cents by largest remainder so Σ = 100.00 exactly
    (33.34, 33.33, 33.33: the tie goes to the first hospital), then the entitlement of each."""
    df = pd.DataFrame([case(h, 1.0, 100.0, sr_approved=True, sr_amount=100.0) for h in "ABC"]
                      + [case("D", 10.0, 50.0)])
    r = settle(df, pol(budget={"mode": "amount", "amount": 100.0}, reserve_rate=0.0))
    assert r.summary["point_value_status"] == "negative"
    assert list(r.statement["entitlement"]) == [33.34, 33.33, 33.33, 0.0]
    assert ledger(r)["returned to the fund"] == 0.0


SR_ROWS = [case("A", 1000.0, 150_000.0),
           case("A", 300.0, 90_000.0, sr_approved=True, sr_amount=50_000.0, sr_quarter=2),
           case("B", 700.0, 60_000.0)]
SR_BUDGET = {"budget": {"mode": "amount", "amount": 200_000.0}, "reserve_rate": 0.0}


@pytest.mark.parametrize(("conversion", "pv", "ents"), [
    # (200,000 − 50,000) ÷ 1,700 = 88.2352… → 88.2353; A 88,235.30 + 50,000
    ("settlement_pv", 88.2353, [138_235.30, 61_764.71]),
    # 50,000 ÷ 100 = 500 points; 200,000 ÷ 2,200 = 90.9090… → 90.9091
    ("budget_pv", 90.9091, [136_363.65, 63_636.37]),
    # 50,000 ÷ (8,000 ÷ 100) = 625 points; 200,000 ÷ 2,325 = 86.0215…
    ("mean_cost", 86.0215, [139_784.94, 60_215.05]),
])
def test_special_review_conversion_options(conversion, pv, ents):
    df = frame(SR_ROWS, yuan_per_point=100.0, region_mean_cost=8000.0, points_scale=100.0)
    r = settle(df, pol(special_review={"conversion": conversion}, **SR_BUDGET))
    assert r.summary["point_value"] == pv
    assert list(r.statement["entitlement"]) == ents
    ledger(r)


def test_conversion_without_pricing_attrs_is_a_clear_error():
    with pytest.raises(ValueError, match="conversion = 'mean_cost'.*allowed"):
        settle(pd.DataFrame(SR_ROWS), pol(special_review={"conversion": "mean_cost"},
                                          **SR_BUDGET))


def test_advance_is_one_rounding_per_month_from_unrounded_points():
    """Two cases of 1/3 point at 100 yuan/point: payments 33.33 each (rounded per case), but
    the advance is round(1.0 × 66.666…) = 66.67 (was 66.66 from the rounded payments)."""
    third = 1 / 3
    df = frame([case("A", third, 1.0), case("A", third, 1.0)], yuan_per_point=100.0)
    assert list(df["payment"]) == [33.33, 33.33]
    r = settle(df, pol(budget={"mode": "amount", "amount": 100.0}, reserve_rate=0.0,
                       advance_ratio=1.0))
    assert r.advances.loc[0, "m01"] == 66.67


def test_cmi_is_mean_rw_of_cases_with_a_weight():
    """A: base points 150 (normal), 50 (LOS-excluded: counted), nan (ungroupable: not) →
    CMI (1.5 + 0.5) ÷ 2 = 1.0, independent of the points scale (1,000 here: 1.5 and 0.5 again
    from 1,500 and 500)."""
    rows = [case("A", 150.0, 1.0, base_points=150.0),
            case("A", 0.0, 1.0, base_points=50.0, case_class="excluded"),
            case("A", 1.0, 1.0, base_points=np.nan, case_class="ungroupable")]
    r = settle(frame(rows, points_scale=100.0), pol(budget=AMOUNT, reserve_rate=0.0))
    assert r.statement.loc[0, "cmi"] == 1.0
    rows10 = [dict(x, base_points=x["base_points"] * 10) for x in rows]
    r = settle(frame(rows10, points_scale=1000.0), pol(budget=AMOUNT, reserve_rate=0.0))
    assert r.statement.loc[0, "cmi"] == 1.0


def _largest_remainder_by_scans(exact, target):
    """The allocation as first written: one scan for the largest fractional part per cent."""
    import math

    out = [math.floor(x + 1e-7) for x in exact]
    frac = [x - math.floor(x + 1e-7) for x in exact]
    left = target - sum(out)
    while left > 0 and exact:
        best = 0
        for h in range(1, len(exact)):
            if frac[h] > frac[best]:
                best = h
        out[best] += 1
        frac[best] = -2.0
        left -= 1
    return out


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.floats(0, 1e7, allow_nan=False).map(lambda x: round(x, 3)), min_size=1,
                max_size=40), st.integers(-2, 3))
def test_largest_remainder_sorted_equals_one_scan_per_cent(exact, extra):
    """Ties (equal fractional parts) go to the lower index, as in the scan."""
    from payment._money_kernels import largest_remainder

    target = int(round(sum(exact))) + max(extra, 0)
    got = np.zeros(len(exact), dtype=np.int64)
    largest_remainder(np.array(exact, dtype=np.float64), np.int64(target), got)
    assert got.tolist() == _largest_remainder_by_scans(exact, target)
