"""Patient cost-sharing (domain.md §9): hand-computed cases, policy validation, and property
tests holding the engine to the independent reference tests/naive_cost_sharing.py."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payment.benefit_policy import (
    PolicyError,
    load_benefit_policy,
    validate_benefit_policy,
)
from payment.cost_sharing import CostSharingInputError, cost_sharing
from tests.naive_cost_sharing import naive_cost_sharing

EX = load_benefit_policy("benefits_example")
LAYERS = ["basic", "critical", "assistance", "safety_net", "oop"]


def pol(**over) -> object:
    return EX.with_overrides(over)


def run(rows: list[dict], policy=EX) -> pd.DataFrame:
    base = {"patient_id": "p", "insurance": "resident", "hospital_level": 1}
    cases = [dict(base, case_id=f"c{i}", discharge_date=f"2024-01-{i + 1:02d}", **r)
             for i, r in enumerate(rows)]
    return cost_sharing(pd.DataFrame(cases), policy)


def row(df: pd.DataFrame, i: int = 0) -> dict:
    return df.iloc[i].to_dict()


# --- hand-computed ---------------------------------------------------------------------------


@pytest.mark.parametrize(("ins", "level", "ded", "ratio"), [
    ("resident", 1, 300, 0.85), ("resident", 2, 600, 0.75), ("resident", 3, 900, 0.60),
    ("employee", 1, 200, 0.90), ("employee", 2, 400, 0.85), ("employee", 3, 800, 0.80),
])
def test_deductible_and_ratio_by_level(ins, level, ded, ratio):
    r = row(run([{"total_cost": 10_000, "insurance": ins, "hospital_level": level}]))
    assert r["deductible"] == ded
    assert r["ratio"] == ratio
    assert r["basic"] == round((10_000 - ded) * ratio, 2)
    assert r["oop"] == pytest.approx(10_000 - r["basic"], abs=1e-9)


def test_catalogue_split_and_clipping():
    # compliant = 10000 - 1000 - 500 = 8500; basic = 0.85 * 8200 = 6970
    r = row(run([{"total_cost": 10_000, "self_pay": 1_000, "partial_self_pay": 500}]))
    assert (r["compliant"], r["deductible"], r["basic"], r["oop"]) == (8500, 300, 6970, 3030)
    # self_pay above total is clipped, partial then clipped to 0
    r = row(run([{"total_cost": 100, "self_pay": 150, "partial_self_pay": 20}]))
    assert (r["compliant"], r["basic"], r["oop"]) == (0, 0, 100)


def test_deductible_larger_than_compliant():
    r = row(run([{"total_cost": 200}]))
    assert (r["deductible"], r["basic"], r["oop"]) == (200, 0, 200)


def test_rank_factor_last_repeats():
    p = pol(deductible={"rank_factors": [1.0, 0.5, 0.0]})
    df = run([{"total_cost": 5_000, "hospital_level": 3}] * 4, p)
    assert list(df["deductible"]) == [900, 450, 0, 0]
    assert "rank_factor" in df["reasons"][1] and "rank_factor" not in df["reasons"][0]


def test_referral_up_pays_the_difference():
    # level 1 stay charged 300, then referred up to level 3: D = 900 - 300 = 600
    df = run([{"total_cost": 5_000}, {"total_cost": 5_000, "hospital_level": 3, "referral": "up"}])
    assert list(df["deductible"]) == [300, 600]
    assert df["basic"][1] == round(4_400 * 0.60, 2)
    assert "referral_up" in df["reasons"][1]


def test_referral_up_previous_charged_only_its_own_small_deductible():
    # previous stay cost 100 so it charged only 100; then D = 900 - 100 = 800
    df = run([{"total_cost": 100}, {"total_cost": 5_000, "hospital_level": 3, "referral": "up"}])
    assert list(df["deductible"]) == [100, 800]


def test_referral_up_without_previous_pays_full():
    r = row(run([{"total_cost": 5_000, "hospital_level": 3, "referral": "up"}]))
    assert r["deductible"] == 900 and "referral_up_no_previous" in r["reasons"]


def test_referral_down_and_irregular():
    r = row(run([{"total_cost": 5_000, "hospital_level": 2, "referral": "down"}]))
    assert (r["deductible"], r["basic"]) == (0, 3_750)
    r = row(run([{"total_cost": 5_000, "hospital_level": 2, "referral": "irregular"}]))
    assert r["deductible"] == 600 and r["ratio"] == 0.65 and r["basic"] == 2_860


def test_retiree_minor_out_of_area():
    # retiree employee level 3: 1 - 0.2 * 0.8 = 0.84
    r = row(run([{"total_cost": 10_800, "insurance": "employee", "hospital_level": 3,
                  "category": "retiree"}]))
    assert r["ratio"] == 0.84 and r["basic"] == 8_400
    r = row(run([{"total_cost": 1_300, "category": "minor"}]))
    assert r["ratio"] == 0.90 and r["basic"] == 900
    r = row(run([{"total_cost": 1_300, "out_of_area": "filed"}]))
    assert r["ratio"] == 0.75 and r["basic"] == 750
    r = row(run([{"total_cost": 1_300, "out_of_area": "unfiled", "referral": "irregular"}]))
    assert r["ratio"] == pytest.approx(0.55) and r["basic"] == 550


def test_ratio_clipped_to_one():
    p = pol(ratio={"minor_points": 0.5})
    r = row(run([{"total_cost": 1_300, "category": "minor"}], p))
    assert r["ratio"] == 1.0 and r["basic"] == 1_000


def test_ratio_bands():
    p = pol(ratio={"bands": [{"upto": 5_000.0, "ratio": 0.65}, {"upto": 10_000.0, "ratio": 0.7},
                             {"upto": 50_000.0, "ratio": 0.75}, {"ratio": 0.8}]})
    # eligible 60,000: 3250 + 3500 + 30000 + 8000 = 44,750
    r = row(run([{"total_cost": 60_300}], p))
    assert r["basic"] == 44_750


def test_annual_cap_crossed_inside_an_admission():
    # resident level 3, each stay eligible 199,100 -> 119,460; cap 150,000
    df = run([{"total_cost": 200_000, "hospital_level": 3}] * 2)
    assert list(df["basic"]) == [119_460, 30_540]
    assert "basic_cap_reached" in df["reasons"][1]
    assert "basic_cap_reached" not in df["reasons"][0]


def test_critical_bands_and_rounded_differences():
    # stay 1: compliant 40,000 at level 3: basic 0.6 * 39,100 = 23,460; base 16,540;
    # F = 0.6 * 1,540 = 924
    df = run([{"total_cost": 40_000, "hospital_level": 3},
              {"total_cost": 100_000, "hospital_level": 3}])
    assert df["critical"][0] == 924
    # stay 2: basic 0.6 * 99,100 = 59,460; base 40,540; A = 57,080
    # F(A) = 0.6 * 35,000 + 0.7 * 7,080 = 25,956 -> payout 25,032
    assert df["basic"][1] == 59_460 and df["critical"][1] == 25_032
    assert "critical_band_crossed" in df["reasons"][1]


def test_critical_cap_and_employee_off():
    p = pol(critical={"resident": {"cap": 1_000.0}})
    r = row(run([{"total_cost": 40_000, "hospital_level": 3}] * 2, p), 1)
    assert r["critical"] == 76 and "critical_cap_reached" in r["reasons"]  # 1000 - 924
    r = row(run([{"total_cost": 400_000, "insurance": "employee"}]))
    assert r["critical"] == 0


def test_critical_income_deductible():
    p = pol(critical={"resident": {"income": 20_000.0}})  # deductible 10,000
    r = row(run([{"total_cost": 40_000, "hospital_level": 3}], p))
    assert r["critical"] == round(0.6 * 6_540, 2)


def test_assistance_tilt_and_assistance():
    # tekun at level 3, cost 40,000: basic 23,460; base 16,540; tilt: deductible 7,500,
    # 65 %: 0.65 * 9,040 = 5,876; assistance 0.9 * (16,540 - 5,876) = 9,597.6
    r = row(run([{"total_cost": 40_000, "hospital_level": 3, "category": "tekun"}]))
    assert (r["critical"], r["assistance"]) == (5_876, 9_597.6)
    # safety net: burden 1,066.4 below the city cap 5,000 -> none
    assert r["safety_net"] == 0 and r["oop"] == pytest.approx(1_066.4)


def test_dibian_no_tilt_assistance_deductible_and_cap():
    p = pol(assistance={"dibian": {"ratio": 0.6, "deductible": 1_000.0, "cap": 500.0}},
            safety_net={"enabled": False})
    # level 1, cost 2,300: basic 0.85*2000=1700; burden 600; over deductible 0 -> 0
    df = run([{"total_cost": 2_300, "category": "dibian"},
              {"total_cost": 2_300, "category": "dibian"},
              {"total_cost": 2_300, "category": "dibian"}], p)
    # B: 600, 1200 (part 200 -> 120), 1800 (part 600 -> 360, cap left 380 -> 360)
    assert list(df["assistance"]) == [0, 120, 360]
    p2 = pol(assistance={"dibian": {"ratio": 0.6, "deductible": 1_000.0, "cap": 400.0}},
             safety_net={"enabled": False})
    df = run([{"total_cost": 2_300, "category": "dibian"}] * 3, p2)
    assert list(df["assistance"]) == [0, 120, 280]
    assert "assistance_cap_reached" in df["reasons"][2]


def test_safety_net_tiers_one_total():
    p = pol(assistance={"dibao": {"ratio": 0.0, "deductible": 0.0, "cap": 0.0}})
    # dibao, level 1 county cap 3,000; each stay: cost 20,300, basic 17,000, burden 3,300
    # (below the tilted 7,500 critical deductible).
    df = run([{"total_cost": 20_300, "category": "dibao"},
              {"total_cost": 20_300, "category": "dibao", "hospital_level": 3}], p)
    assert df["safety_net"][0] == 300 and df["oop"][0] == 3_000
    # level 3 second stay: basic 0.6 * 19,400 = 11,640; burden 8,660, critical:
    # A = 3,300 + 8,660 = 11,960, F_tilt = 0.65 * 4,460 = 2,899; burden 5,761;
    # city cap 5,000 - 3,000 already paid = 2,000 -> safety net 3,761
    assert list(df["basic"]) == [17_000, 11_640]
    assert list(df["critical"]) == [0, 2_899]
    assert (df["safety_net"][1], df["oop"][1]) == (3_761, 2_000)


def test_safety_net_city_and_out_of_area_tier():
    p = pol(assistance={"dibao": {"ratio": 0.0, "deductible": 0.0, "cap": 0.0}},
            critical={"resident": {"enabled": False}})
    # local level 3, cost 20,900: basic 0.6*20,000 = 12,000, burden 8,900, city cap 5,000
    r = row(run([{"total_cost": 20_900, "category": "dibao", "hospital_level": 3}], p))
    assert (r["safety_net"], r["oop"]) == (3_900, 5_000)
    # filed out of area level 1: ratio 0.75, basic 15,000, burden 5,300, province cap 10,000
    r = row(run([{"total_cost": 20_300, "category": "dibao", "out_of_area": "filed"}], p))
    assert (r["safety_net"], r["oop"]) == (0, 5_300)
    # two county stays: 3,300 burden each -> pays 3,000 then 0
    df = run([{"total_cost": 20_300, "category": "dibao"}] * 2, p)
    assert list(df["oop"]) == [3_000, 0] and list(df["safety_net"]) == [300, 3_300]


def test_ties_by_case_id_text_and_year_boundary():
    cases = pd.DataFrame({
        "case_id": ["10", "9", "x"], "patient_id": ["p", "p", "p"],
        "discharge_date": ["2024-05-01", "2024-05-01", "2025-01-01"],
        "insurance": "resident", "hospital_level": 1, "total_cost": 5_000.0,
        "referral": ["none", "up", "up"],
    })
    df = cost_sharing(cases, EX)
    # "10" < "9" as text: "10" is first, "9" an up-referral from it (300 - 300 = 0);
    # "x" is in a new year: no previous stay
    assert list(df["deductible"]) == [300, 0, 300]
    assert "referral_up_no_previous" in df["reasons"][2]


def test_rounding_half_up_on_reading_and_layers():
    # 1000.005 read as 1000.01; eligible 700.01 * 0.85 = 595.0085 -> 595.01
    r = row(run([{"total_cost": 1000.005}]))
    assert r["basic"] == 595.01 and r["oop"] == 405.0


def test_bad_input_names_column_and_allowed():
    with pytest.raises(CostSharingInputError, match="'category'.*allowed: general"):
        run([{"total_cost": 1, "category": "vip"}])
    with pytest.raises(CostSharingInputError, match="insurance"):
        run([{"total_cost": 1, "insurance": None}])
    with pytest.raises(CostSharingInputError, match="total_cost"):
        run([{"total_cost": -1}])
    with pytest.raises(CostSharingInputError, match="hospital_level"):
        run([{"total_cost": 1, "hospital_level": 4}])


def test_blank_optionals_take_defaults():
    a = run([{"total_cost": 5_000, "category": None, "referral": "", "out_of_area": None,
              "self_pay": None}])
    b = run([{"total_cost": 5_000}])
    pd.testing.assert_frame_equal(a, b)


def test_policy_errors():
    with pytest.raises(PolicyError, match=r"f\.toml: ratio\.foo: unknown key \(allowed: "):
        validate_benefit_policy({"name": "x", "ratio": {"foo": 1}}, "f.toml")
    with pytest.raises(PolicyError, match="deductible.resident"):
        validate_benefit_policy({"name": "x", "deductible": {"resident": [1, 2]}}, "f.toml")
    with pytest.raises(PolicyError, match="ratio.employee"):
        validate_benefit_policy({"name": "x", "ratio": {"employee": [0.9, 0.8, "0.7"]}}, "f")
    with pytest.raises(PolicyError, match="critical.resident.bands"):
        validate_benefit_policy({"name": "x", "critical": {"resident": {
            "bands": [{"upto": 1.0, "ratio": 0.5}]}}}, "f")
    with pytest.raises(PolicyError, match="decimal places"):
        validate_benefit_policy({"name": "x", "ratio": {"minor_points": 0.00001}}, "f")
    with pytest.raises(PolicyError, match="finite"):
        validate_benefit_policy({"name": "x", "basic": {"resident_cap": float("nan")}}, "f")
    with pytest.raises(PolicyError, match="no such benefit policy"):
        load_benefit_policy("/nonexistent.toml")


# --- properties ------------------------------------------------------------------------------

CATS = ["general", "retiree", "minor", "tekun", "dibao", "dibian", "fanpin"]


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 25))
    cents = st.integers(0, 40_000_000).map(lambda c: c / 100)
    cases = []
    for i in range(n):
        total = draw(cents)
        cases.append({
            "case_id": str(draw(st.integers(0, 30))) + f"-{i}",
            "patient_id": draw(st.sampled_from(["a", "b", "c"])),
            "discharge_date": draw(st.sampled_from(
                ["2023-12-31", "2024-01-01", "2024-03-05", "2024-03-05", "2024-07-09"])),
            "hospital_level": draw(st.integers(1, 3)),
            "insurance": draw(st.sampled_from(["employee", "resident"])),
            "category": draw(st.sampled_from(CATS)),
            "referral": draw(st.sampled_from(["none", "up", "down", "irregular"])),
            "out_of_area": draw(st.sampled_from(["local", "filed", "unfiled"])),
            "total_cost": total,
            "self_pay": draw(st.sampled_from([0.0, 100.0, total / 3, total * 2])),
            "partial_self_pay": draw(st.sampled_from([0.0, 55.55, total / 7])),
        })
    ratio4 = st.integers(0, 10_000).map(lambda x: x / 10_000)
    yuan = st.integers(0, 5_000_000).map(lambda c: c / 100)
    over = {
        "deductible": {"rank_factors": draw(st.lists(ratio4, min_size=1, max_size=3))},
        "ratio": {"retiree_share_factor": draw(ratio4),
                  "irregular_points": -draw(st.integers(0, 5_000)) / 10_000},
        "basic": {"resident_cap": draw(yuan), "employee_cap": draw(yuan)},
        "critical": {"employee": {"enabled": draw(st.booleans())},
                     "base_includes_partial_self_pay": draw(st.booleans()),
                     "tilt_no_cap": draw(st.booleans()),
                     "resident": {"cap": draw(yuan)}},
        "safety_net": {"enabled": draw(st.booleans()), "county": draw(yuan)},
        "assistance": {"dibian": {"ratio": draw(ratio4), "deductible": draw(yuan),
                                  "cap": draw(yuan)}},
    }
    if draw(st.booleans()):
        over["ratio"]["bands"] = [{"upto": 5_000.0, "ratio": draw(ratio4)},
                                  {"upto": 20_000.0, "ratio": draw(ratio4)},
                                  {"ratio": draw(ratio4)}]
    return cases, EX.with_overrides(over)


def _cents(x) -> int:
    return int((Decimal(repr(float(x))) * 100).to_integral_value())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.randoms(use_true_random=False))
def test_engine_equals_reference_identity_order(sc, rnd):
    cases, policy = sc
    df = cost_sharing(pd.DataFrame(cases), policy)
    ref = naive_cost_sharing(cases, policy.model_dump())
    assert list(df["case_id"]) == [c["case_id"] for c in cases]
    for got, want in zip(df.to_dict("records"), ref, strict=True):
        for col in ["compliant", "deductible", *LAYERS]:
            assert _cents(got[col]) == int(want[col] * 100), (col, got, want)
        assert abs(got["ratio"] - float(want["ratio"])) < 1e-12
        assert sum(_cents(got[c]) for c in LAYERS) == int(want["total"] * 100)
        assert min(got[c] for c in LAYERS) >= 0
    perm = list(range(len(cases)))
    rnd.shuffle(perm)
    shuffled = cost_sharing(pd.DataFrame([cases[i] for i in perm]), policy)
    back = shuffled.set_index(shuffled["case_id"]).loc[df["case_id"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(back, df)


def test_empty_input():
    df = cost_sharing(pd.DataFrame({"case_id": []}), EX)
    assert len(df) == 0 and "oop" in df.columns


def test_many_persons_vectorised():
    rng = np.random.default_rng(1)
    n = 20_000
    cases = pd.DataFrame({
        "case_id": np.arange(n).astype(str), "patient_id": rng.integers(0, 5_000, n),
        "discharge_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n),
                                                                       unit="D"),
        "hospital_level": rng.integers(1, 4, n), "insurance": "resident",
        "category": rng.choice(CATS, n), "total_cost": rng.gamma(2.0, 4_000.0, n).round(2),
    })
    df = cost_sharing(cases, EX)
    total = np.round(cases["total_cost"].to_numpy() * 100).astype(np.int64)
    layers = sum(np.round(df[c].to_numpy() * 100).astype(np.int64) for c in LAYERS)
    assert (layers == total).all()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4)), min_size=1, max_size=60))
def test_person_year_order_is_a_stable_lexsort(keys):
    """The two counting passes order rows as a stable sort by (person, when) would."""
    from payment._benefit_kernels import person_year_order

    person = np.array([k[0] for k in keys], dtype=np.int64)
    when = np.array([k[1] for k in keys], dtype=np.int64)
    got = person_year_order(person, np.int64(7), when, np.int64(5))
    want = np.lexsort((np.arange(len(keys)), when, person))
    np.testing.assert_array_equal(got, want)
