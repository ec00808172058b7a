"""Hand-computed numbers for the independent payment reference (tests/ref_payment) and the
constructed examples of domain.md §4, §8 and §13 reproduced by it.

Each expected number is derived in the test's comment or docstring, not by running the code.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from ref_payment import (
    RefWeights,
    budget_point_value,
    classify,
    quota,
    readmissions,
    ref_policy,
    ref_price,
    ref_settle,
    ref_weights,
    tier_parts,
    trimmed,
)

D = Decimal
INF = math.inf


def hand_weights(groups, region_mean=10_000.0, hosp=None, levels=None, budget_pv=100.0):
    """``groups[g] = (mean_cost, base_points[, small])``; hosp[(h, g)] = coefficient;
    levels[(level, g)] = mean_cost."""
    w = RefWeights(points_scale=100.0, region_mean=region_mean, budget_pv=budget_pv,
                   years=[2023], year_weights=[1.0])
    for g, spec in groups.items():
        mean, base = spec[0], spec[1]
        w.groups[g] = {"cases": 100, "kept_cases": 100, "mean_cost": mean, "mean_los": 10.0,
                       "rw": base / 100, "base_points": base,
                       "small": spec[2] if len(spec) > 2 else False, "cv": 0.5,
                       "stable": True, "daily_points": base / 10}
    for (h, g), c in (hosp or {}).items():
        w.hospital_groups[(h, g)] = {"cases": 10, "mean_cost": math.nan, "coefficient": c}
    for (lv, g), m in (levels or {}).items():
        w.level_groups[(lv, g)] = {"cases": 10, "mean_cost": m, "coefficient": 1.0}
    return w


def case(cid="c", h="H1", drg="A1", cost=10_000.0, los=10, mode=1, month=1, level=3, **kw):
    row = {"case_id": cid, "hospital_id": h, "hospital_level": level, "drg": drg,
           "total_cost": cost, "los": los, "discharge_mode": mode, "month": month, "year": 2024}
    row.update(kw)
    return row


# ------------------------------------------------------------------------------------ weights


def hist(drg, year, costs, h="H1", level=3, los=5):
    return [{"drg": drg, "hospital_id": h, "hospital_level": level, "total_cost": c, "los": los,
             "year": year} for c in costs]


HISTORY = (hist("A", 2021, [100.0, 300.0]) + hist("A", 2023, [400.0])
           + hist("B", 2022, [600.0]) + hist("B", 2023, [800.0, 1_000.0], h="H2"))


def test_year_weights_renormalised_over_years_with_cases_and_rw_4_decimals():
    """§13: A = (1·200 + 7·400) ÷ 8 = 375; B = (2·600 + 7·900) ÷ 9 = 833.33…; region = (1·200 +
    2·600 + 7·733.33…) ÷ 10 = 653.33…; RW A = 1125/1960 = 0.573979… → 0.5740, B = 2500/1960 =
    1.275510… → 1.2755; base points 57.40 and 127.55."""
    w = ref_weights(HISTORY, ref_policy())
    assert w.groups["A"]["mean_cost"] == pytest.approx(375.0, rel=1e-12)
    assert w.groups["B"]["mean_cost"] == pytest.approx(2500 / 3, rel=1e-12)
    assert w.region_mean == pytest.approx(1960 / 3, rel=1e-12)
    assert w.groups["A"]["rw"] == 0.574 and w.groups["B"]["rw"] == 1.2755
    assert w.groups["A"]["base_points"] == pytest.approx(57.40, rel=1e-12)
    # budget PV (§13): Σ w·cost_y ÷ Σ w·points_y = (400 + 2·600 + 7·2200) ÷ (114.8 + 2·127.55
    # + 7·312.5) = 17000 ÷ 2557.4
    assert w.budget_pv == pytest.approx(17_000 / 2_557.4, rel=1e-12)
    # unrounded option
    w2 = ref_weights(HISTORY, ref_policy({"weights": {"rw_rounding": "none"}}))
    assert w2.groups["A"]["rw"] == pytest.approx(1125 / 1960, rel=1e-12)
    w3 = ref_weights(HISTORY, ref_policy({"weights": {"rw_decimals": 2}}))
    assert w3.groups["B"]["rw"] == 1.28


def test_per_case_year_weighting_option():
    """A = (100 + 300 + 7·400) ÷ 9 = 355.55…; B = (2·600 + 7·1800) ÷ 16 = 862.5; region =
    (400 + 1200 + 7·2200) ÷ 25 = 680; RW 0.522875… → 0.5229 and 1.268382… → 1.2684."""
    w = ref_weights(HISTORY, ref_policy({"weights": {"year_weighting": "per_case"}}))
    assert w.groups["A"]["mean_cost"] == pytest.approx(3_200 / 9, rel=1e-12)
    assert w.groups["B"]["mean_cost"] == pytest.approx(862.5, rel=1e-12)
    assert w.region_mean == pytest.approx(680.0, rel=1e-12)
    assert (w.groups["A"]["rw"], w.groups["B"]["rw"]) == (0.5229, 1.2684)


def test_two_years_take_the_newest_weights_2_7():
    """Only 2022 and 2023 present: weights 2:7. A (2023 only) = 400."""
    w = ref_weights([r for r in HISTORY if r["year"] != 2021], ref_policy())
    assert w.years == [2022, 2023] and w.year_weights == [2.0, 7.0]
    assert w.groups["A"]["mean_cost"] == 400.0


@pytest.mark.parametrize(("trim", "extra", "kept"), [
    ("iqr", {"trim_k": 1.5}, [True] * 4 + [False]),        # q1 20, q3 40 → [-10, 70]
    ("sd", {"trim_k": 1.0}, [True] * 4 + [False]),         # 220 ± 436.18 → [-216.2, 656.2]
    ("percentile", {"trim_lower": 0.25, "trim_upper": 0.75}, [False, True, True, True, False]),
    ("none", {}, [True] * 5),
])
def test_trimming_rules(trim, extra, kept):
    wp = {**ref_policy()["weights"], "trim": trim, "trim_min_cases": 5, **extra}
    assert trimmed([10.0, 20.0, 30.0, 40.0, 1_000.0], wp) == kept
    # a set smaller than the minimum is left untrimmed
    assert trimmed([10.0, 20.0, 30.0, 40.0, 1_000.0], {**wp, "trim_min_cases": 6}) == [True] * 5


def test_small_and_stable_and_coefficients():
    """B has 3 raw cases < 5: small, never stable. H1's mean in A = (1·200 + 7·400)/8 = 375 =
    the group mean → 1.0; H2 has no A case (new group → new_group)."""
    w = ref_weights(HISTORY, ref_policy())
    assert w.groups["B"]["small"] and not w.groups["B"]["stable"]
    assert w.hospital_groups[("H1", "A")]["coefficient"] == pytest.approx(1.0)
    # B: H1 has 600 (2022), H2 has 900 (2023): coefficient 600 ÷ 833.33 = 0.72, 900 ÷ 833.33 = 1.08
    assert w.hospital_groups[("H1", "B")]["coefficient"] == pytest.approx(0.72, rel=1e-12)
    assert w.hospital_groups[("H2", "B")]["coefficient"] == pytest.approx(1.08, rel=1e-12)
    pol = ref_policy({"coefficients": {"new_group": 0.9}})
    assert classify(case(h="H2", drg="A", cost=375.0), w, pol)["coefficient"] == 0.9


def test_budget_point_value_by_hand():
    """docs/payment.md: costs 100, 200, 300 and points 1, 2, 3 with 1:2:7 → 2600 ÷ 26 = 100."""
    w = {2021: 1.0, 2022: 2.0, 2023: 7.0}
    pv = budget_point_value({2021: 100.0, 2022: 200.0, 2023: 300.0},
                            {2021: 1.0, 2022: 2.0, 2023: 3.0}, {2021: 1, 2022: 1, 2023: 1}, w)
    assert pv == 100.0


# ------------------------------------------------------------------------------- case classes

W = hand_weights({"A1": (10_000.0, 100.0), "B1": (30_000.0, 300.0, True)},
                 hosp={("H1", "A1"): 1.2}, levels={(2, "A1"): 8_000.0})


@pytest.mark.parametrize(("row", "over", "cls", "points"), [
    (case(cost=10_000.0), {}, "normal", 120.0),                     # 100 × 1.2
    (case(cost=35_000.0), {}, "high", 170.0),                       # 120 + 100 × (3.5 − 3)
    (case(cost=30_000.0), {}, "high", 120.0),                       # r = 3 is high (≥)
    (case(drg="B1", cost=60_000.0), {}, "high", 300.0),             # base 300 ≤ 300: band 2×
    (case(cost=4_000.0), {}, "low", 48.0),                          # 100 × 1.2 × 0.4
    (case(cost=4_000.0), {"outliers": {"low_with_coefficient": False}}, "low", 40.0),
    (case(cost=4_000.0), {"outliers": {"low_rule": "full"}}, "low", 120.0),
    (case(cost=4_001.0), {}, "normal", 120.0),
    (case(cost=4_000.0, level=2), {"outliers": {"comparison_base": "same_level"}},
     "normal", 120.0),                                              # r = 4000/8000 = 0.5
    (case(cost=3_000.0, level=2), {"outliers": {"comparison_base": "same_level"}},
     "low", 45.0),                                                  # 100 × 1.2 × 0.375
    (case(cost=5_000.0, mode=4), {"incomplete": {"enabled": True}}, "incomplete", 60.0),
    (case(cost=20_000.0, mode=4), {"incomplete": {"enabled": True}}, "incomplete", 100.0),
    (case(cost=5_000.0, mode=4), {"incomplete": {"enabled": True, "with_coefficient": False}},
     "incomplete", 50.0),
    (case(cost=40_000.0, mode=4), {"incomplete": {"enabled": True, "cap_at_base_points": False}},
     "incomplete", 480.0),                                          # 100 × 4 × 1.2
    (case(cost=40_000.0, mode=4), {"incomplete": {"enabled": True},
                                   "outliers": {"high_over_incomplete": True}}, "high", 220.0),
    (case(drg="", cost=5_000.0), {}, "ungroupable", 50.0),          # 5000 ÷ (10000 ÷ 100)
    (case(drg="0000", cost=5_000.0), {}, "ungroupable", 50.0),
    (case(drg="ZZ9", cost=5_000.0), {}, "ungroupable", 50.0),       # no weight
    (case(cost=5_000.0, status="QY"), {}, "ungroupable", 50.0),
    (case(drg="", cost=5_000.0), {"ungroupable": {"points": "zero"}}, "ungroupable", 0.0),
    (case(los=2), {"exclusions": {"los_min": 2}}, "excluded", 0.0),  # ≤ min
    (case(los=60), {"exclusions": {"los_max": 60}}, "excluded", 0.0),  # ≥ max
    (case(los=3), {"exclusions": {"los_min": 2}}, "normal", 120.0),
    (case(los=1), {"exclusions": {"los_min": 2}, "bed_day": {"groups": ["A1"]}},
     "bed_day", 10.0),                                              # 100/10 × 1 day, never excluded
    (case(cost=-1.0), {}, "excluded", 0.0),
])
def test_classes_and_points(row, over, cls, points):
    out = classify(row, W, ref_policy(over))
    assert out["case_class"] == cls
    assert out["points"] == pytest.approx(points, rel=1e-12, abs=1e-12)


def test_excluded_paid_fee_for_service_and_payment_rounded_once():
    pol = ref_policy({"exclusions": {"los_min": 2}, "point_value": {"source": "fixed",
                                                                    "value": 1.005}})
    out = ref_price([case("a", los=1, cost=1234.565), case("b", cost=10_000.0)], W, pol)
    assert out[0]["payment"] == D("1234.57")   # fee-for-service, half-up
    assert out[1]["payment"] == D("120.60")    # 120 × 1.005 = 120.6


def test_readmission_window_inclusive_and_same_hospital():
    """P1: s1 out 01-10, s2 in 01-25 (gap 15 → s1 halved), s2 out 02-09, s3 in 02-25 (gap 16).
    P2: s4 at H1 out 03-01, s5 at H2 in 03-05 → penalised unless same_hospital."""
    rows = [
        case("s1", patient_id="P1", admission_date="2024-01-01", discharge_date="2024-01-10"),
        case("s2", patient_id="P1", admission_date="2024-01-25", discharge_date="2024-02-09"),
        case("s3", patient_id="P1", admission_date="2024-02-25", discharge_date="2024-03-01"),
        case("s4", patient_id="P2", admission_date="2024-02-20", discharge_date="2024-03-01"),
        case("s5", h="H2", patient_id="P2", admission_date="2024-03-05",
             discharge_date="2024-03-09"),
        case("s6", patient_id="P3", drg="", admission_date="2024-01-01",
             discharge_date="2024-01-02"),
        case("s7", patient_id="P3", drg="", admission_date="2024-01-03",
             discharge_date="2024-01-04"),
    ]
    on = ref_policy({"readmission": {"enabled": True}})
    cls = [classify(r, W, on) for r in rows]
    assert readmissions(rows, cls, on) == [True, False, False, True, False, False, False]
    same = ref_policy({"readmission": {"enabled": True, "same_hospital": True}})
    assert readmissions(rows, cls, same)[3] is False
    jinhua = ref_policy({"readmission": {"enabled": True, "window_days": 10}})
    assert readmissions(rows, cls, jinhua)[0] is False
    out = ref_price(rows, W, on)
    assert out[0]["case_class"] == "readmission" and out[0]["points"] == 60.0
    exempt = ref_policy({"readmission": {"enabled": True, "exempt_prefixes": ["A"]}})
    assert not any(readmissions(rows, cls, exempt))


# ---------------------------------------------------------------------------- special review


@pytest.mark.parametrize(("base", "rate", "rounding", "q"), [
    (1_400, 0.005, "floor", 7), (299, 0.05, "floor", 14), (299, 0.05, "half_up", 15),
    (299, 0.05, "ceiling", 15), (290, 0.05, "half_up", 15), (290, 0.05, "floor", 14),
    (281, 0.05, "half_up", 14), (281, 0.05, "ceiling", 15), (100, 0.57, "floor", 57),
])
def test_quota_exact_decimals(base, rate, rounding, q):
    assert quota(base, rate, rounding) == q


SR = {"enabled": True, "los_limit": 60, "cost_multiple": 3.0, "new_tech": False,
      "ungroupable": True, "small_groups": False, "quota_rate": 1.0}


def test_cost_multiple_against_group_mean_not_rw_times_region():
    """Group mean 10,000.4 with RW 1.0000 (region 10,000): 3 × 10,000.4 = 30,001.2 > 30,001, so
    the case is not a candidate (RW × region mean = 30,000 would make it one)."""
    w = hand_weights({"A1": (10_000.4, 100.0)})
    out = ref_price([case(cost=30_001.0), case("d", cost=30_001.2)], w,
                    ref_policy({"special_review": SR}))
    assert [o["sr_reasons"] for o in out] == [[], ["cost_multiple"]]


def test_newborn_rule_only_up_to_28_days():
    sr = {**SR, "cost_multiple": None, "newborn_max_weight_g": 1_500.0}
    rows = [case("a", cost=25_000.0, birth_weight=1_499, age_days=28),
            case("b", cost=25_000.0, birth_weight=1_499, age_days=29),
            case("c", cost=25_000.0, birth_weight=1_500, age_days=3),
            case("d", cost=24_999.0, birth_weight=1_000, age_days=3),
            case("e", cost=25_000.0, birth_weight=1_000)]
    out = ref_price(rows, W, ref_policy({"special_review": sr}))
    assert [o["sr_candidate"] for o in out] == [True, False, False, False, False]
    sr40 = {**sr, "newborn_max_age_days": 40}
    assert ref_price(rows[1:2], W, ref_policy({"special_review": sr40}))[0]["sr_candidate"]


def test_selection_by_gain_quota_and_approval():
    """40 cases of H1 in Q1, 5 % quota = 2. Candidates (LOS 61): x costs 50,000 (high: 120 +
    100 × (5 − 3) = 320 points, gain 50,000 − 32,000 = 18,000), y and z 30,000 (high at r = 3:
    120 points, gain 18,000), w 11,000 (gain −1,000: no gain). Three-way tie by id: x, y apply.
    approval_rate 0.5 → floor(0.5 × 2) = 1 approved."""
    rows = [case(f"n{i:02d}", month=2) for i in range(36)]
    rows += [case("x", cost=50_000.0, los=61), case("z", cost=30_000.0, los=61),
             case("y", cost=30_000.0, los=61), case("w", cost=11_000.0, los=61)]
    sr = {**SR, "cost_multiple": None, "quota_rate": 0.05}
    out = {o["case_id"]: o for o in ref_price(rows, W, ref_policy({"special_review": sr}))}
    assert out["x"]["sr_gain"] == D("18000") and out["w"]["sr_gain"] == D("-1000")
    assert [c for c in "xyzw" if out[c]["sr_applied"]] == ["x", "y"]
    assert out["x"]["sr_amount"] == D("50000") and out["z"]["sr_amount"] == 0
    half = ref_price(rows, W, ref_policy({"special_review": {**sr, "approval_rate": 0.5}}))
    assert [o["case_id"] for o in half if o["sr_approved"]] == ["x"]
    ded = ref_price(rows, W, ref_policy({"special_review": {**sr, "deduction_share": 0.1}}))
    # 10 % deducted: x gains 45,000 − 32,000 = 13,000 < y, z 27,000 − 12,000 = 15,000
    assert [o["case_id"] for o in ded if o["sr_approved"]] == ["z", "y"]
    assert {o["case_id"]: o["sr_amount"] for o in ded}["y"] == D("27000.0")  # unrounded


# -------------------------------------------------------------------------------- settlement


def priced(h, points, cost, month=1, pp=None, sr=None):
    """A priced case as ref_price returns it (ypp 100)."""
    return {"case_id": f"{h}{points}{month}", "hospital_id": h, "month": month,
            "case_class": "normal", "points": points, "total_cost": cost, "patient_paid": pp,
            "yuan_per_point": 100.0, "sr_approved": sr is not None,
            "sr_amount": D(str(sr)) if sr is not None else D(0), "group_known": True,
            "base_points": 100.0}


QUOTA_TIERS = [  # §8 per-case-quota rule as fund shares of ratio slices
    {"lower": -INF, "upper": -0.1, "fund_share": 1.0},
    {"lower": -0.1, "upper": 0.0, "fund_share": 0.7},
    {"lower": 0.0, "upper": 0.2, "fund_share": 0.5},
    {"lower": 0.2, "upper": INF, "fund_share": 0.0},
]


def amount(budget, **st):
    return {"settlement": {"budget": {"mode": "amount", "amount": budget}, **st}}


def test_section4_point_value_example():
    """§4: 1,000,000,000 with 5 % withheld over 9,500,000 points → 100.00 (105.2632 not)."""
    rows = [priced("A", 6e6, 1.0), priced("B", 3.5e6, 1.0)]
    w = hand_weights({})
    r = ref_settle(rows, w, ref_policy(amount(1e9)))
    assert r["summary"]["point_value"] == D("100.0000")
    assert r["summary"]["reserve"] == D("50000000.00")
    r2 = ref_settle(rows, w, ref_policy({**amount(1e9), "point_value": {"reserve_withheld": False}}))
    assert r2["summary"]["point_value"] == D("105.2632") and r2["summary"]["reserve"] == 0


def test_section8_quota_tier_example():
    """§8: PV 100; A spends 650 M on a 500 M entitlement (30 % over): fund pays 50 % of the
    first 20 % = 50 M; B saves 5 % of 300 M: keeps 30 % = 4.5 M, 10.5 M taken back; C saves
    20 % of 150 M: keeps 3 % = 4.5 M, 25.5 M taken back. The reserve 50 M covers the sharing."""
    rows = [priced("A", 5e6, 650e6), priced("B", 3e6, 285e6), priced("C", 1.5e6, 120e6)]
    pol = ref_policy(amount(1e9, tier_ratio_base="entitlement", tiers=QUOTA_TIERS))
    r = ref_settle(rows, hand_weights({}), pol)
    h = r["hospitals"]
    assert [h[x]["entitlement"] for x in "ABC"] == [D("500e6"), D("300e6"), D("150e6")]
    assert [h[x]["sharing"] for x in "ABC"] == [D("50e6"), 0, 0]
    assert [h[x]["recovered"] for x in "ABC"] == [0, D("10.5e6"), D("25.5e6")]
    assert [h[x]["final_amount"] for x in "ABC"] == [D("550e6"), D("289.5e6"), D("124.5e6")]
    s = r["summary"]
    assert s["reserve_kept"] == 0 and s["budget"] == s["paid"] + s["reserve_kept"] + s["returned"]


TIERS = [{"lower": -INF, "upper": 0.0, "fund_share": 0.7},
         {"lower": 0.0, "upper": 0.2, "fund_share": 0.5}]
BASE_ROWS = [priced("H1", 100.0, 12_000.0, 1), priced("H2", 300.0, 25_000.0, 1),
             priced("H1", 200.0, 18_000.0, 2)]
ASSESS = {"deposit_rate": 0.1, "release": [{"min_score": 60.0, "release": 0.5},
                                           {"min_score": 80.0, "release": 1.0}],
          "scores": {"H1": 90.0, "H2": 70.0}}


def test_full_settlement_by_hand():
    """Budget 60,000, reserve 3,000, PV = 57,000 ÷ 600 = 95; entitlements 28,500 each; ffs
    30,000 / 25,000. H1 5 % over → fund pays 1,500 × 0.5 = 750; H2 saves 3,500 → 2,450 taken
    back. Deposits 10 % of 29,250 / 26,050 = 2,925 / 2,605; released 100 % / 50 % = 2,925 /
    1,302.50. Final 29,250 / 24,747.50. Advances 85 % at 100 yuan/point: H1 8,500 (Jan) +
    17,000 (Feb), H2 25,500 (Jan); clearing 3,750 / −752.50. Kept 3,000 − 750 = 2,250;
    returned 60,000 − 53,997.50 − 2,250 = 3,752.50 (= recovered 2,450 + forfeited 1,302.50)."""
    pol = ref_policy(amount(60_000.0, tiers=TIERS, assessment=ASSESS))
    r = ref_settle(BASE_ROWS, hand_weights({}), pol)
    h, s = r["hospitals"], r["summary"]
    assert s["point_value"] == D("95.0000")
    assert (h["H1"]["sharing"], h["H2"]["recovered"]) == (D("750.00"), D("2450.00"))
    assert (h["H1"]["deposit"], h["H2"]["deposit"]) == (D("2925.00"), D("2605.00"))
    assert (h["H1"]["release"], h["H2"]["release"]) == (D("2925.00"), D("1302.50"))
    assert (h["H1"]["final_amount"], h["H2"]["final_amount"]) == (D("29250.00"), D("24747.50"))
    assert r["advances"]["H1"][:3] == [D("8500.00"), D("17000.00"), 0]
    assert (h["H1"]["clearing"], h["H2"]["clearing"]) == (D("3750.00"), D("-752.50"))
    assert (s["paid"], s["reserve_kept"], s["returned"]) == (D("53997.50"), D("2250.00"),
                                                             D("3752.50"))
    # forfeited deposits stay in the reserve (option)
    pol2 = ref_policy(amount(60_000.0, tiers=TIERS, assessment={**ASSESS, "forfeited": "reserve"}))
    s2 = ref_settle(BASE_ROWS, hand_weights({}), pol2)["summary"]
    assert (s2["reserve_kept"], s2["returned"]) == (D("3552.50"), D("2450.00"))
    # deposit on the entitlement (option): H2 deposit 2,850, release 1,425 → 24,625
    pol3 = ref_policy(amount(60_000.0, tiers=TIERS,
                             assessment={**ASSESS, "deposit_base": "entitlement"}))
    h3 = ref_settle(BASE_ROWS, hand_weights({}), pol3)["hospitals"]
    assert (h3["H2"]["deposit"], h3["H2"]["final_amount"]) == (D("2850.00"), D("24625.00"))
    # tier ratio over the entitlement (option): H1 x = 1500/28500, still one slice → 750
    pol4 = ref_policy(amount(60_000.0, tiers=TIERS, tier_ratio_base="entitlement"))
    assert ref_settle(BASE_ROWS, hand_weights({}), pol4)["hospitals"]["H1"]["sharing"] == D("750")


SR_ROWS = BASE_ROWS + [priced("H2", 50.0, 6_000.0, 3, sr=6_000.0)]


@pytest.mark.parametrize(("conversion", "pv", "h1", "h2"), [
    # (57,000 − 6,000) ÷ 600 = 85; H2 = 300 × 85 + 6,000
    ("settlement_pv", "85.0000", "25500.00", "31500.00"),
    # 6,000 ÷ 100 = 60 points; 57,000 ÷ 660 = 86.3636; H2 = 360 × 86.3636 = 31,090.896
    ("budget_pv", "86.3636", "25909.08", "31090.90"),
    # region mean 12,000 ÷ 100 = 120 per point → 50 points; 57,000 ÷ 650 = 87.6923;
    # H2 = 350 × 87.6923 = 30,692.305 → 30,692.31 (an exact half, up)
    ("mean_cost", "87.6923", "26307.69", "30692.31"),
])
def test_special_review_conversions(conversion, pv, h1, h2):
    pol = ref_policy({**amount(60_000.0), "special_review": {"conversion": conversion}})
    r = ref_settle(SR_ROWS, hand_weights({}, region_mean=12_000.0), pol)
    assert r["summary"]["point_value"] == D(pv)
    assert r["hospitals"]["H1"]["entitlement"] == D(h1)
    assert r["hospitals"]["H2"]["entitlement"] == D(h2)
    # advances use points before special review: H2 March = 50 × 100 × 0.85 = 4,250
    assert r["advances"]["H2"][2] == D("4250.00")


def test_negative_point_value_scales_review_money_to_the_pool():
    """Re-priced 70,000 > pool 57,000: PV 0, the re-priced money cut to 57,000, nothing billed."""
    rows = BASE_ROWS + [priced("H2", 50.0, 70_000.0, 3, sr=70_000.0)]
    r = ref_settle(rows, hand_weights({}), ref_policy(amount(60_000.0)))
    s, h = r["summary"], r["hospitals"]
    assert s["point_value"] == 0 and s["point_value_status"] == "negative"
    assert h["H2"]["entitlement"] == D("57000.00") and h["H1"]["entitlement"] == 0
    assert s["returned"] == D("0.00") and s["reserve_kept"] == D("3000.00")


def test_zero_points():
    rows = [priced("H1", 0.0, 100.0)]
    r = ref_settle(rows, hand_weights({}), ref_policy(amount(100.0)))
    assert r["summary"]["point_value_status"] == "zero_points"
    assert r["summary"]["returned"] == D("95.00")


def test_pool_options_with_patient_payments():
    """pp 3,000 (H1) and 2,000 (H2), ratio 0.8. Default pool 57,000 ÷ 0.8 = 71,250, PV 118.75,
    H1 = 35,625 − 3,000 = 32,625. Option fund + Σ pp = 62,000, PV 103.3333, H1 = 30,999.99 −
    3,000 = 27,999.99; H2 = 28,999.99; the reserve is kept (3,000) and returned absorbs the rounding (0.02)."""
    rows = [priced("H1", 100.0, 12_000.0, 1, pp=1_000.0), priced("H2", 300.0, 25_000.0, 1,
                                                                 pp=2_000.0),
            priced("H1", 200.0, 18_000.0, 2, pp=2_000.0)]
    base = {**amount(60_000.0), "point_value": {"reimbursement_ratio": 0.8}}
    r = ref_settle(rows, hand_weights({}), ref_policy(base))
    assert r["summary"]["point_value"] == D("118.7500")
    assert r["hospitals"]["H1"]["entitlement"] == D("32625.00")
    # advances with patient payments: H1 Jan = 0.85 × (100 × 100 − 1,000) = 7,650
    assert r["advances"]["H1"][0] == D("7650.00")
    opt = ref_policy({**amount(60_000.0), "point_value": {"reimbursement_ratio": 0.8,
                                                          "pool": "fund_plus_patient_paid"}})
    r2 = ref_settle(rows, hand_weights({}), opt)
    assert r2["summary"]["point_value"] == D("103.3333")
    assert r2["hospitals"]["H1"]["entitlement"] == D("27999.99")
    assert r2["hospitals"]["H2"]["entitlement"] == D("28999.99")
    assert r2["summary"]["returned"] == D("0.02")
    # without patient payments: entitlement × ratio; H1 = 300 × 118.75 × 0.8 = 28,500
    r3 = ref_settle(BASE_ROWS, hand_weights({}), ref_policy(base))
    assert r3["hospitals"]["H1"]["entitlement"] == D("28500.00")
    assert r3["hospitals"]["H1"]["ffs_amount"] == D("24000.00")  # 30,000 × 0.8


def test_unrounded_point_value_allocates_by_largest_remainder():
    """Budget 100, no reserve, 1 point each at 3 hospitals: PV 33.33…, exact 33.333… each;
    floors 33.33 × 3 = 99.99; the last cent to the first id. Published PV 33.3333: 33.33 each,
    returned 0.01."""
    rows = [priced(h, 1.0, 1.0) for h in ("H1", "H2", "H3")]
    pol = ref_policy({**amount(100.0, reserve_rate=0.0), "point_value": {"rounding": "none"}})
    r = ref_settle(rows, hand_weights({}), pol)
    assert [r["hospitals"][h]["entitlement"] for h in ("H1", "H2", "H3")] == [
        D("33.34"), D("33.33"), D("33.33")]
    assert r["summary"]["returned"] == 0
    r2 = ref_settle(rows, hand_weights({}), ref_policy(amount(100.0, reserve_rate=0.0)))
    assert r2["summary"]["point_value"] == D("33.3333") and r2["summary"]["returned"] == D("0.01")
    r3 = ref_settle(rows, hand_weights({}), ref_policy({**amount(100.0, reserve_rate=0.0),
                                                        "point_value": {"decimals": 2}}))
    assert r3["summary"]["point_value"] == D("33.33")


def test_rate_method_rounds_the_base_rate():
    """Budget 60,001: reserve 3,000.05, fund 57,000.95. Rate method: weights 1+2+3 = 6, base
    rate 9,500.158… → 9,500.1583; H1 = 3 × 9,500.1583 = 28,500.4749 → 28,500.47. Points method:
    PV 95.001583… → 95.0016; H1 = 300 × 95.0016 = 28,500.48."""
    r = ref_settle(BASE_ROWS, hand_weights({}), ref_policy({**amount(60_001.0), "method": "rate"}))
    assert r["summary"]["point_value"] == D("9500.1583")
    assert r["hospitals"]["H1"]["entitlement"] == D("28500.47")
    r2 = ref_settle(BASE_ROWS, hand_weights({}), ref_policy(amount(60_001.0)))
    assert r2["hospitals"]["H1"]["entitlement"] == D("28500.48")


def test_sharing_beyond_the_reserve():
    """Fixed PV 100: entitlements 10,000, ffs 10,120 each; fund pays 50 % of 120 = 60 each
    (Σ 180). Reserve 40,000 × 0.0025 = 100 < 180: pro rata 33.333… each → 33.34 / 33.33 /
    33.33 (largest remainder, ties by id); pay in full: 60 each, kept 0, returned 40,000 −
    30,180 = 9,820."""
    rows = [priced(h, 100.0, 10_120.0) for h in ("H1", "H2", "H3")]
    tiers = [{"lower": 0.0, "upper": INF, "fund_share": 0.5}]
    st = dict(point_value_mode="fixed", reserve_rate=0.0025, tiers=tiers)
    r = ref_settle(rows, hand_weights({}), ref_policy(amount(40_000.0, **st)))
    assert [r["hospitals"][h]["sharing"] for h in ("H1", "H2", "H3")] == [
        D("33.34"), D("33.33"), D("33.33")]
    assert (r["summary"]["reserve_kept"], r["summary"]["returned"]) == (0, D("9900.00"))
    r2 = ref_settle(rows, hand_weights({}),
                    ref_policy(amount(40_000.0, sharing_beyond_reserve="pay_in_full", **st)))
    assert [r2["hospitals"][h]["sharing"] for h in ("H1", "H2", "H3")] == [D("60.00")] * 3
    assert (r2["summary"]["reserve_kept"], r2["summary"]["returned"]) == (0, D("9820.00"))


def test_tier_slices():
    """x = 0.3 over [0, 0.2) at 0.5 and [0.2, inf) at 0: 0.2 × 1000 × 0.5 = 100."""
    assert tier_parts(D(1300), D(1000), D(1000), TIERS) == (D("100.0"), 0)
    assert tier_parts(D(900), D(1000), D(1000), TIERS) == (0, D("70.0"))   # 100 × 0.7
    assert tier_parts(D(900), D(1000), D(0), TIERS) == (0, 0)               # base ≤ 0


def test_budget_growth_and_no_reserve_withheld_ledger():
    """Growth mode without a prior-year figure: prior = ffs of the settled cases (55,000),
    × 1.1 = 60,500. Reserve not withheld: none exists; budget = paid + kept + returned."""
    pol = ref_policy({"settlement": {"budget": {"growth": 0.1}, "tiers": TIERS},
                      "point_value": {"reserve_withheld": False}})
    r = ref_settle(BASE_ROWS, hand_weights({}), pol)
    s = r["summary"]
    assert s["budget"] == D("60500.00") and s["reserve"] == 0 and s["sharing"] == 0
    assert s["point_value"] == D("100.8333")
    assert s["budget"] == s["paid"] + s["reserve_kept"] + s["returned"]


def test_review_coefficient_repricing_and_periods():
    """Re-priced = points × review coefficient × yuan per point: 120 × 1.5 × 100 = 18,000; gain
    18,000 − 12,000 = 6,000. Quota periods: quarter of May = 2, month 5, year 1, unknown 0."""
    from ref_payment.review import period_of

    sr = {**SR, "cost_multiple": None, "repricing": "review_coefficient",
          "review_coefficient": 1.5}
    out = ref_price([case(los=61)], W, ref_policy({"special_review": sr}))[0]
    assert (out["sr_gain"], out["sr_amount"]) == (D("6000.00"), D("18000.0"))
    assert [period_of(5, p) for p in ("quarter", "month", "year")] == [2, 5, 1]
    assert period_of(0, "quarter") == 0


def test_provisional_point_value_from_the_budget():
    """source = budget: (10,000 − 5 % reserve) ÷ Σ points (120 at H1 + 100 at H2, a group new to
    H2 → 1.0) = 9,500 ÷ 220 = 43.1818…; H1's payment 120 × 43.1818… = 5,181.818… → 5,181.82."""
    pol = ref_policy({"point_value": {"source": "budget", "budget": 10_000.0}})
    out = ref_price([case("a"), case("b", h="H2")], W, pol)
    assert out[0]["yuan_per_point"] == pytest.approx(9_500 / 220, rel=1e-15)
    assert (out[0]["payment"], out[1]["payment"]) == (D("5181.82"), D("4318.18"))


def test_reference_arithmetic_ignores_the_callers_decimal_context():
    """The reference computes in its own 60-digit context: a caller's (or another test module's,
    tests/test_dip_docs.py sets ``getcontext().prec = 40`` for the pytest process) precision
    never changes its numbers. Re-priced = points × review coefficient × yuan per point of a
    low-multiple stay: 40 digits, which the default 28-digit context (or a 6-digit one) rounded."""
    from decimal import localcontext

    from ref_payment import dec

    sr = {**SR, "cost_multiple": None, "repricing": "review_coefficient",
          "review_coefficient": 1.2345678901234567}
    pol = ref_policy({"special_review": sr,
                      "point_value": {"source": "budget", "budget": 10_003.17}})
    runs = []
    for prec in (6, 28, 40):
        with localcontext() as ctx:
            ctx.prec = prec
            runs.append(ref_price([case(cost=3_456.789, los=61), case("b", h="H2")], W,
                                  pol)[0])
    o = runs[0]
    assert o["case_class"] == "low" and o["sr_approved"]
    with localcontext() as ctx:
        ctx.prec = 80
        exact = dec(o["points"]) * dec(sr["review_coefficient"]) * dec(o["yuan_per_point"])
    assert [r["sr_amount"] for r in runs] == [exact] * 3
    assert len(exact.as_tuple().digits) > 28
    assert len({(r["payment"], r["sr_gain"]) for r in runs}) == 1
