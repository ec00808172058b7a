"""Known-answer tests of DIP catalogue building and grouping (tiny histories computed by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from grouper.dip import DipConfig, build_catalogue, group
from grouper.dip.synth import tiny_scheme

SCHEME = tiny_scheme()
POOLED = dict(year_weights=(), aux_min_cases=10_000)  # one pool, no aux coefficients


def frame(rows: list[tuple], **defaults) -> pd.DataFrame:
    """Cases from (diagnoses, procedures, total_cost[, extra fields]) tuples."""
    out = []
    for i, r in enumerate(rows):
        d = {"case_id": f"c{i + 1}", "sex": 1, "age": 40, "age_days": None, "birth_weight": None,
             "diagnoses": r[0], "procedures": r[1], "total_cost": r[2], **defaults}
        if len(r) > 3:
            d.update(r[3])
        out.append(d)
    return pd.DataFrame(out)


def row(cat, code: str) -> pd.Series:
    g = cat.groups.set_index("group_code")
    assert code in g.index, f"{code} not in {list(g.index)}"
    return g.loc[code]


# 12 cases, total 180,000 yuan: all-case mean 15,000.
HISTORY = [
    ("K80.100", "51.2300", 10000), ("K80.100", "51.2300", 12000), ("K80.101|E11.900", "51.2300", 14000),
    ("K80.101", "51.2300|99.0401", 20000), ("K80.100", "99.0401|51.2300", 22000),
    ("K80.100", "99.0401|51.2300|51.2300", 24000),
    ("K80.200", "51.2200", 30000), ("K80.200", "45.1300|99.0401", 5000),
    ("K80.100", "", 3000), ("K80.200", None, 4000),
    ("K35.800", "87.4100", 6000), ("K35.800", "87.4100", 30000),
]


def test_groups_scores_by_hand():
    cat = build_catalogue(frame(HISTORY), DipConfig(core_threshold=3, **POOLED), SCHEME)
    g = cat.groups
    assert cat.all_case_mean == pytest.approx(15000)
    assert sorted(g["group_code"]) == sorted([
        "K80.1/51.2300", "K80.1/51.2300+99.0401", "K80/surgery", "K80/therapeutic",
        "K80/conservative", "K35/diagnostic"])
    assert list(g["type"]).count("core") == 2
    # Expected: (cases, mean, score = mean / 15000 * 100, median)
    expected = {
        "K80.1/51.2300": (3, 12000, 80.0, 12000),
        "K80.1/51.2300+99.0401": (3, 22000, 146.6666667, 22000),
        "K80/surgery": (1, 30000, 200.0, 30000),
        "K80/therapeutic": (1, 5000, 33.3333333, 5000),
        "K80/conservative": (2, 3500, 23.3333333, 3500),
        "K35/diagnostic": (2, 18000, 120.0, 18000),
    }
    for code, (n, mean, score, median) in expected.items():
        r = row(cat, code)
        assert r["cases"] == n and r["cases_kept"] == n
        assert r["mean"] == pytest.approx(mean)
        assert r["score"] == pytest.approx(score)
        assert r["median"] == pytest.approx(median)
    # CV of 10000, 12000, 14000: SD (ddof 1) 2000 ÷ mean 12000.
    assert row(cat, "K80.1/51.2300")["cv"] == pytest.approx(2000 / 12000)
    assert math.isnan(row(cat, "K80/surgery")["cv"])
    assert row(cat, "K80.1/51.2300")["treatment"] == "surgery"
    assert row(cat, "K80.1/51.2300")["procedures"] == "51.2300"
    assert row(cat, "K80/conservative")["diagnosis"] == "K80"
    s = cat.summary()
    assert s["core_case_share"] == pytest.approx(6 / 12)
    assert cat.manifest["counts"]["core_cases"] == 6


def test_scale_1000():
    cat = build_catalogue(frame(HISTORY), DipConfig(core_threshold=3, scale=1000, **POOLED), SCHEME)
    assert row(cat, "K80.1/51.2300")["score"] == pytest.approx(800.0)
    assert cat.manifest["scale"] == 1000


def test_grouping_new_cases_by_hand():
    cat = build_catalogue(frame(HISTORY), DipConfig(core_threshold=3, **POOLED), SCHEME)
    new = frame([
        ("K80.101|J18.900", "51.2300|51.2300", 0),        # core: same set after dedupe
        ("K80.100", "99.0401|51.2300", 0),                 # core: order-free
        ("K80.200", "51.2300|87.4100", 0),                 # non-core combination, OR → K80/surgery
        ("K80.100", "87.4100", 0),                         # diagnostic: no K80/diagnostic group
        ("K35.800", "", 0),                                # K35/conservative absent → unmatched
        ("K80.200,E11.900", "", 0),                        # comma separator → K80/conservative
    ])
    out = group(new, cat, SCHEME)
    assert list(out.columns) == ["case_id", "status", "dip_group", "dip_type", "score", "aux_level", "aux_coefficient",
                                 "final_score", "warnings"]
    assert list(out["case_id"]) == [f"c{i}" for i in range(1, 7)]
    # every row says why it has its type: only the unmatched ones carry a reason here
    assert list(out["warnings"] == "") == [True, True, True, False, False, True]
    assert out["warnings"].iloc[3].startswith("unmatched: ") and "K80/diagnostic" in out["warnings"].iloc[3]
    assert "K35/conservative" in out["warnings"].iloc[4]
    assert list(out["status"]) == ["SUCCESS"] * 6
    assert list(out["dip_group"]) == ["K80.1/51.2300", "K80.1/51.2300+99.0401", "K80/surgery", "", "", "K80/conservative"]
    assert list(out["dip_type"]) == ["core", "core", "comprehensive", "unmatched", "unmatched", "comprehensive"]
    np.testing.assert_allclose(out["score"].to_numpy()[[0, 1, 2, 5]], [80.0, 146.6666667, 200.0, 23.3333333])
    assert out["score"].iloc[3:5].isna().all() and out["final_score"].iloc[3:5].isna().all()
    # No aux coefficients estimated (aux_min_cases huge): final score = score.
    np.testing.assert_allclose(out["aux_coefficient"].to_numpy()[[0, 1, 2, 5]], 1.0)
    assert list(out["aux_level"]) == ["S2-adult", "S0-adult", "S0-adult", "S0-adult", "S0-adult", "S1-adult"]


def test_year_weights_by_hand():
    rows = [("K80.100", "51.2300", 100, {"year": 2023}), ("K80.100", "51.2300", 300, {"year": 2023}),
            ("K80.100", "51.2300", 1000, {"year": 2025}), ("K80.100", "51.2300", 999_999, {"year": 2022})]
    cfg = DipConfig(core_threshold=1, aux_min_cases=10_000)  # default weights 1:2:7
    cat = build_catalogue(frame(rows), cfg, SCHEME)
    # Yearly means 200 (2023, weight 1) and 1000 (2025, weight 7); 2024 absent; 2022 outside.
    assert row(cat, "K80.1/51.2300")["mean"] == pytest.approx((1 * 200 + 7 * 1000) / 8)
    assert cat.manifest["counts"]["outside_years"] == 1
    assert cat.manifest["years"] == [2023, 2024, 2025]
    per_case = build_catalogue(frame(rows), DipConfig(core_threshold=1, aux_min_cases=10_000, year_weighting="per_case"), SCHEME)
    assert row(per_case, "K80.1/51.2300")["mean"] == pytest.approx((100 + 300 + 7 * 1000) / 9)
    # Median and CV use the pooled kept costs (100, 300, 1000).
    assert row(cat, "K80.1/51.2300")["median"] == 300
    # Only one group, so every score is scale × 1.
    assert row(cat, "K80.1/51.2300")["score"] == pytest.approx(100.0)


def _one_group_mean(costs, **cfg) -> tuple[float, int]:
    rows = [("K80.100", "51.2300", c) for c in costs]
    cat = build_catalogue(frame(rows), DipConfig(core_threshold=1, aux_min_cases=10_000, year_weights=(), **cfg), SCHEME)
    r = row(cat, "K80.1/51.2300")
    return r["mean"], r["cases_kept"]


def test_trimming_by_hand():
    # IQR: Q1 11, Q3 13, IQR 2, k 1.5 → [8, 16]: 100 trimmed.
    assert _one_group_mean([10, 11, 12, 13, 100], trim="iqr", trim_min_cases=5) == (11.5, 4)
    # Inclusive bounds: Q1 10, Q3 30, k 1 → [-10, 50]: 50 stays.
    assert _one_group_mean([10, 10, 20, 30, 50], trim="iqr", trim_k=1.0, trim_min_cases=5) == (24.0, 5)
    # Sets smaller than trim_min_cases are not trimmed.
    assert _one_group_mean([10, 11, 12, 13, 100], trim="iqr", trim_min_cases=6) == (29.2, 5)
    # SD: mean 19, SD (ddof 1) sqrt(810) = 28.46, k 2 → upper 75.9: 100 trimmed.
    assert _one_group_mean([10] * 9 + [100], trim="sd", trim_k=2.0, trim_min_cases=5) == (10.0, 9)
    # ddof 1 matters: with k 2.9 the bound is 19 + 2.9 × 28.46 = 101.5 (ddof 0 would give 96.0).
    assert _one_group_mean([10] * 9 + [100], trim="sd", trim_k=2.9, trim_min_cases=5)[1] == 10
    # Percentile 10 %–90 % of 1..10: linear quantiles 1.9 and 9.1 → 2..9 kept.
    assert _one_group_mean(list(range(1, 11)), trim="percentile", trim_lower=0.1, trim_upper=0.9, trim_min_cases=5) == (5.5, 8)


def test_trimming_is_per_year():
    # 2025 alone: 10,11,12,13,100 → 100 trimmed (mean 11.5); 2024: 100 alone is a set of 1.
    rows = [("K80.100", "51.2300", c, {"year": 2025}) for c in (10, 11, 12, 13, 100)]
    rows.append(("K80.100", "51.2300", 100, {"year": 2024}))
    cat = build_catalogue(frame(rows), DipConfig(core_threshold=1, aux_min_cases=10_000, trim="iqr", trim_min_cases=5, year_weights=(1, 1)), SCHEME)
    r = row(cat, "K80.1/51.2300")
    assert r["cases"] == 6 and r["cases_kept"] == 5
    assert r["mean"] == pytest.approx((11.5 + 100) / 2)


AUX_HISTORY = [
    ("K80.100", "51.2300", 100, {"age": 40}),                    # S0 adult
    ("K80.100", "51.2300", 100, {"age": 40}),                    # S0 adult
    ("K80.100|E11.900", "51.2300", 400, {"age": 70}),            # S1 elderly (CC)
    ("K80.100|E11.900|E11.900", "51.2300", 400, {"age": 70}),    # S1 elderly (duplicate CC once)
    ("K80.100|N17.900", "51.2300", 100, {"age": 40}),            # S0 adult: MCC excluded by K80.100
    ("K80.100|J18.900", "51.2300", 700, {"age": 70}),            # S2 elderly (MCC counts 2)
]


def test_aux_coefficients_by_hand():
    cat = build_catalogue(frame(AUX_HISTORY), DipConfig(core_threshold=3, year_weights=(), aux_min_cases=2), SCHEME)
    assert row(cat, "K80.1/51.2300")["mean"] == pytest.approx(300)
    aux = cat.aux.set_index(["dimension", "level"])
    # Group mean 300: severity 0 mean 100 → 1/3; severity 1 mean 400 → 4/3; severity 2 has 1 case.
    assert aux.loc[("severity", "0"), "coefficient"] == pytest.approx(1 / 3)
    assert aux.loc[("severity", "1"), "coefficient"] == pytest.approx(4 / 3)
    assert aux.loc[("severity", "2"), "coefficient"] == 1.0
    assert aux.loc[("severity", "2"), "cases"] == 1
    # Age: adults mean 100 → 1/3; elderly (400 + 400 + 700) / 3 = 500 → 5/3.
    assert aux.loc[("age", "adult"), "coefficient"] == pytest.approx(1 / 3)
    assert aux.loc[("age", "elderly"), "coefficient"] == pytest.approx(5 / 3)
    out = group(frame(AUX_HISTORY), cat, SCHEME)
    assert list(out["aux_level"]) == ["S0-adult", "S0-adult", "S1-elderly", "S1-elderly", "S0-adult", "S2-elderly"]
    np.testing.assert_allclose(out["score"], 100.0)
    np.testing.assert_allclose(out["aux_coefficient"], [1 / 9, 1 / 9, 20 / 9, 20 / 9, 1 / 9, 5 / 3])
    np.testing.assert_allclose(out["final_score"], [100 / 9, 100 / 9, 2000 / 9, 2000 / 9, 100 / 9, 500 / 3])


def test_severity_cap_and_age_bands():
    cases = frame([
        ("K80.200|J18.900|N17.900|E11.900", "", 1),     # 2 + 2 + 1 = 5 → capped at 3
        ("K80.200", "", 1, {"age": 0, "age_days": 28, "birth_weight": 3000}),   # newborn
        ("K80.200", "", 1, {"age": 0, "age_days": 29}),                        # child
        ("K80.200", "", 1, {"age": 17}),                                       # child
        ("K80.200", "", 1, {"age": 18}),                                       # adult
        ("K80.200", "", 1, {"age": 65}),                                       # elderly
    ])
    cat = build_catalogue(cases, DipConfig(core_threshold=100, **POOLED), SCHEME)
    out = group(cases, cat, SCHEME)
    assert list(out["aux_level"]) == ["S3-adult", "S0-newborn", "S0-child", "S0-child", "S0-adult", "S0-elderly"]


def test_procedure_options_and_code_levels():
    rows = [("K80.100", "51.2300|45.1300", 1), ("K80.101", "51.2300", 1), ("K80.200", "45.1300|51.2300|99.0401", 1)]

    def codes(cfg: dict) -> list[str]:
        return sorted(build_catalogue(frame(rows), DipConfig(core_threshold=1, **POOLED, **cfg), SCHEME).groups["group_code"])

    assert codes({}) == ["K80.1/45.1300+51.2300", "K80.1/51.2300", "K80.2/45.1300+51.2300+99.0401"]
    # OR procedures only: the diagnostic and therapeutic codes drop out of the combination.
    assert codes({"procedures": "or"}) == ["K80.1/51.2300", "K80.2/51.2300"]
    # Excluding purely diagnostic procedures (45.13 is a diagnostic endoscopy).
    assert codes({"procedures": "non_diagnostic"}) == ["K80.1/51.2300", "K80.2/51.2300+99.0401"]
    # Category level and procedure subcategory level (51.2300 → 51.2).
    assert codes({"dx_level": 3, "proc_level": 3, "procedures": "or"}) == ["K80/51.2"]
    assert codes({"dx_level": 0, "procedures": "or"}) == ["K80.100/51.2300", "K80.101/51.2300", "K80.200/51.2300"]


def test_invalid_history_rows_are_left_out():
    rows = HISTORY + [("K80.100", "51.2300", None), ("K80.100", "51.2300", -5), ("X99.999", "51.2300", 100),
                      ("K80.100", "51.2300", 100, {"sex": 3})]
    cat = build_catalogue(frame(rows), DipConfig(core_threshold=3, **POOLED), SCHEME)
    c = cat.manifest["counts"]
    assert (c["history_rows"], c["cases_used"], c["invalid"], c["no_positive_cost"]) == (16, 12, 2, 2)
    assert row(cat, "K80.1/51.2300")["mean"] == pytest.approx(12000)


def test_statuses_and_bad_rows_never_raise():
    cat = build_catalogue(frame(HISTORY), DipConfig(core_threshold=3, **POOLED), SCHEME)
    bad = frame([
        ("K80.100", "51.2300", 0, {"sex": 3}),                          # CHECK_FAILED: sex
        ("K80.100", "51.2300", 0, {"sex": None}),                       # CHECK_FAILED: sex missing
        ("K80.100", "51.2300", 0, {"age": None}),                       # CHECK_FAILED: age missing
        ("K80.100", "51.2300", 0, {"age": "abc"}),                      # unreadable age = missing
        ("K80.100", "51.2300", 0, {"age": 0, "age_days": None}),        # CHECK_FAILED
        ("K80.100", "51.2300", 0, {"age": 0, "age_days": 5}),           # CHECK_FAILED: no weight
        ("", "51.2300", 0),                                             # ZD: empty
        (None, "51.2300", 0),                                           # ZD: missing
        ("k80.100", "", 0),                                             # ZD: lower case
        ("K80.100|", "", 0),                                            # ZD: trailing separator
        ("|K80.100", "", 0),                                            # ZD: no principal
        ("K80.100 ", "", 0),                                            # ZD: space
        ("K80.100", "51.9999", 0),                                      # SS: unknown procedure
        ("K80.100", "51.2300|", 0),                                     # SS: empty token
        ("X00.000", "51.9999", 0, {"sex": 9}),                          # ZD beats SS beats CF
        ("K80.100", "51.9999", 0, {"sex": 9}),                          # SS beats CF
        ("K80.100", "51.2300", 0, {"age": 0, "age_days": 5, "birth_weight": 0}),  # weight 0 passes
    ])
    out = group(bad, cat, SCHEME)
    assert len(out) == len(bad)
    assert list(out["status"]) == (["CHECK_FAILED"] * 6 + ["ZD_NOT_MAPPING"] * 6 + ["SS_NOT_MAPPING"] * 2
                                   + ["ZD_NOT_MAPPING", "SS_NOT_MAPPING", "SUCCESS"])
    failed = out["status"] != "SUCCESS"
    assert (out.loc[failed, "dip_group"] == "").all() and (out.loc[failed, "dip_type"] == "").all()
    assert out.loc[failed, ["score", "aux_coefficient", "final_score"]].isna().all().all()
    assert out["dip_group"].iloc[-1] == "K80.1/51.2300"
    assert str(out["status"].dtype) == "str" and str(out["dip_group"].dtype) == "str"


def test_missing_required_column_raises():
    with pytest.raises(ValueError, match="diagnoses"):
        group(frame(HISTORY).drop(columns=["diagnoses"]), build_catalogue(frame(HISTORY), DipConfig(core_threshold=3, **POOLED), SCHEME), SCHEME)
    with pytest.raises(ValueError, match="total_cost"):
        build_catalogue(frame(HISTORY).drop(columns=["total_cost"]), DipConfig(), SCHEME)


def test_empty_inputs():
    cat = build_catalogue(frame(HISTORY).iloc[:0], DipConfig(core_threshold=3, **POOLED), SCHEME)
    assert len(cat.groups) == 0
    out = group(frame(HISTORY), cat, SCHEME)
    assert (out["dip_type"] == "unmatched").all()
    assert len(group(frame(HISTORY).iloc[:0], cat, SCHEME)) == 0


def test_config_validation():
    with pytest.raises(ValueError, match="scale"):
        DipConfig(scale=10)
    with pytest.raises(ValueError, match="trim"):
        DipConfig(trim="winsor")
    with pytest.raises(ValueError, match="procedures"):
        DipConfig(procedures="some")
    with pytest.raises(ValueError, match="unknown DipConfig keys"):
        DipConfig.from_dict({"core_treshold": 3})
    assert DipConfig.from_dict(DipConfig(trim="sd").to_dict()) == DipConfig(trim="sd")


def test_chunked_grouping_matches_one_pass():
    cat = build_catalogue(frame(HISTORY), DipConfig(core_threshold=3, **POOLED), SCHEME)
    cases = frame(HISTORY * 3)
    pd.testing.assert_frame_equal(group(cases, cat, SCHEME, chunk_size=5), group(cases, cat, SCHEME))
