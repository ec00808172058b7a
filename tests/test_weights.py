"""compute_weights(): §4 weights with the §13 defaults, checked by hand (tolerance 1e-9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from naive_payment import naive_group_means

import payment


def pol(**weights):
    over = {"weights": weights} if weights else {}
    return payment.load_policy("national_drg", over)


def rows(spec):
    """spec: list of (drg, year, hospital, level, cost)."""
    return pd.DataFrame([
        {"case_id": f"C{i}", "drg": g, "year": y, "hospital_id": h, "hospital_level": lv,
         "total_cost": c, "los": 5}
        for i, (g, y, h, lv, c) in enumerate(spec)
    ])


def test_year_weights_1_2_7_on_yearly_means_renormalised():
    hist = rows([("A", 2021, "H1", 3, 100.0), ("A", 2022, "H1", 3, 200.0),
                 ("A", 2023, "H1", 3, 300.0), ("A", 2023, "H1", 3, 300.0),
                 ("B", 2022, "H1", 3, 200.0), ("B", 2023, "H1", 3, 300.0)])
    w = payment.compute_weights(hist, pol())
    g = w.groups.set_index("group")
    assert g.loc["A", "mean_cost"] == pytest.approx((1 * 100 + 2 * 200 + 7 * 300) / 10)  # 260
    # B has no 2021 cases: weights 2:7 renormalised over the years present
    assert g.loc["B", "mean_cost"] == pytest.approx((2 * 200 + 7 * 300) / 9)
    # region: yearly means 100, 200, 300 -> 260; RW and base points follow
    assert w.region_mean_cost == pytest.approx(260.0)
    # §13 "Also default": RW published to 4 decimals half-up, base points = published RW × 100:
    # (2500 / 9) / 260 = 1.068376… → 1.0684 → 106.84 (was the unrounded 106.8376…)
    assert g.loc["B", "rw"] == 1.0684
    assert g.loc["B", "base_points"] == pytest.approx(106.84, abs=1e-9)
    unrounded = payment.compute_weights(hist, pol(rw_rounding="none")).groups.set_index("group")
    assert unrounded.loc["B", "base_points"] == pytest.approx((2500 / 9) / 260 * 100)
    two = payment.compute_weights(hist, pol(rw_decimals=2)).groups.set_index("group")
    assert two.loc["B", "rw"] == 1.07
    assert w.years == [2021, 2022, 2023]


def test_per_case_year_weighting_option():
    hist = rows([("A", 2022, "H1", 3, 100.0), ("A", 2022, "H1", 3, 100.0),
                 ("A", 2023, "H1", 3, 400.0)])
    w = payment.compute_weights(hist, pol(year_weighting="per_case", year_weights=[1, 3]))
    # each case weighted by its year: (1*100 + 1*100 + 3*400) / 5 = 280
    assert w.groups.loc[0, "mean_cost"] == pytest.approx(280.0)
    w2 = payment.compute_weights(hist, pol(year_weights=[1, 3]))
    assert w2.groups.loc[0, "mean_cost"] == pytest.approx((100 + 3 * 400) / 4)


def test_fewer_years_than_weights_take_the_newest_weights():
    hist = rows([("A", 2022, "H1", 3, 100.0), ("A", 2023, "H1", 3, 200.0)])
    w = payment.compute_weights(hist, pol())
    assert w.year_weights == [2.0, 7.0]
    assert w.groups.loc[0, "mean_cost"] == pytest.approx((2 * 100 + 7 * 200) / 9)


def test_iqr_trimming_per_group_and_year_inclusive_bounds():
    costs = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 100.0]
    # quartiles by linear interpolation: q1 = 12.25, q3 = 16.75, IQR 4.5, k 1.5
    # bounds 5.5 .. 23.5 -> 100 dropped
    hist = rows([("A", 2023, "H1", 3, c) for c in costs])
    w = payment.compute_weights(hist, pol(trim="iqr", trim_k=1.5, trim_min_cases=10))
    g = w.groups.iloc[0]
    assert (g["cases"], g["kept_cases"]) == (10, 9)
    assert g["mean_cost"] == pytest.approx(14.0)
    # cv over pooled kept costs, sample SD (ddof 1)
    assert g["cv"] == pytest.approx(np.std(costs[:9], ddof=1) / 14.0)
    # inclusive: a value exactly on the upper bound is kept
    on_bound = costs[:9] + [16.75 + 1.5 * 4.5]
    hist2 = rows([("A", 2023, "H1", 3, c) for c in on_bound])
    q1, q3 = np.quantile(on_bound, [0.25, 0.75])
    assert max(on_bound) <= q3 + 1.5 * (q3 - q1)
    w2 = payment.compute_weights(hist2, pol(trim="iqr", trim_k=1.5, trim_min_cases=10))
    assert w2.groups.iloc[0]["kept_cases"] == 10


def test_sets_below_minimum_left_untrimmed_and_small_flag_on_raw_count():
    costs = [10.0, 11.0, 12.0, 13.0, 1000.0]
    hist = rows([("A", 2023, "H1", 3, c) for c in costs])
    w = payment.compute_weights(hist, pol(trim="iqr", trim_k=1.5, trim_min_cases=6,
                                          min_cases=5))
    g = w.groups.iloc[0]
    assert g["kept_cases"] == 5 and not g["small"]
    w = payment.compute_weights(hist, pol(min_cases=6))
    assert w.groups.iloc[0]["small"]


def test_sd_and_percentile_trimming():
    costs = [float(x) for x in range(1, 21)] + [500.0]
    hist = rows([("A", 2023, "H1", 3, c) for c in costs])
    m, sd = np.mean(costs), np.std(costs, ddof=1)
    w = payment.compute_weights(hist, pol(trim="sd", trim_k=2.0))
    kept = [c for c in costs if m - 2 * sd <= c <= m + 2 * sd]
    assert w.groups.iloc[0]["kept_cases"] == len(kept) == 20
    w = payment.compute_weights(hist, pol(trim="percentile", trim_lower=0.05, trim_upper=0.95))
    lo, hi = np.quantile(costs, [0.05, 0.95])
    assert w.groups.iloc[0]["kept_cases"] == sum(lo <= c <= hi for c in costs)


def test_stable_flag_uses_cv_threshold():
    hist = rows([("A", 2023, "H1", 3, c) for c in (100.0, 110.0)] +
                [("B", 2023, "H1", 3, c) for c in (10.0, 1000.0)])
    w = payment.compute_weights(hist, pol(cv_threshold=0.5, min_cases=2))
    assert list(w.groups["stable"]) == [True, False]
    # §13: a group with fewer than min_cases (default 5) cases is never stable (was [True, False])
    w = payment.compute_weights(hist, pol(cv_threshold=0.5))
    assert list(w.groups["stable"]) == [False, False] and w.groups["small"].all()


def test_budget_point_value_from_yearly_totals_by_hand():
    """§4/§13: Σ w × cost ÷ Σ w × expected points; (100 + 400 + 2100) ÷ (1 + 4 + 21) = 100."""
    from payment.weights import budget_point_value

    assert budget_point_value([100.0, 200.0, 300.0], [1.0, 2.0, 3.0]) == 100.0
    assert budget_point_value([200.0, 700.0], [2.0, 5.0], [2, 7]) == pytest.approx(
        (400 + 4900) / (4 + 35))
    assert np.isnan(budget_point_value([1.0], [0.0], [1.0]))
    with pytest.raises(ValueError, match="one of each per year"):
        budget_point_value([1.0, 2.0], [1.0], [1.0, 2.0])


def test_hospital_and_level_coefficients_cmi_and_budget_point_value():
    hist = rows([("A", 2023, "H1", 3, 150.0), ("A", 2023, "H2", 2, 50.0),
                 ("B", 2023, "H1", 3, 300.0), ("B", 2023, "H1", 3, 300.0)])
    w = payment.compute_weights(hist, pol())
    hg = w.hospital_groups.set_index(["hospital_id", "group"])["coefficient"]
    assert hg[("H1", "A")] == pytest.approx(1.5) and hg[("H2", "A")] == pytest.approx(0.5)
    lg = w.level_groups.set_index(["hospital_level", "group"])["coefficient"]
    assert lg[(3, "A")] == pytest.approx(1.5)
    # region mean 200: RW A = 0.5, B = 1.5; CMI H1 = (0.5 + 1.5 + 1.5) / 3
    h = w.hospitals.set_index("hospital_id")
    assert h.loc["H1", "cmi"] == pytest.approx(3.5 / 3) and h.loc["H2", "cmi"] == 0.5
    # budget PV = total cost 800 / total base points (50 + 50 + 150 + 150) = 2.0
    assert w.budget_point_value == pytest.approx(2.0)
    bounded = payment.compute_weights(
        hist, payment.load_policy("national_drg", {"coefficients": {"min": 0.8, "max": 1.2}}))
    hg = bounded.hospital_groups.set_index(["hospital_id", "group"])["coefficient"]
    assert (hg[("H1", "A")], hg[("H2", "A")]) == (1.2, 0.8)


def test_budget_point_value_127_over_years():
    hist = rows([("A", 2022, "H1", 3, 100.0), ("A", 2023, "H1", 3, 300.0)])
    w = payment.compute_weights(hist, pol(year_weights=[1, 1]))
    # means: A 200 = region -> base 100; cost (100 + 300) / points (100 + 100) = 2.0
    assert w.budget_point_value == pytest.approx(2.0)


def test_bad_history_rows_left_out():
    hist = rows([("A", 2023, "H1", 3, 100.0), ("A", 2023, "H1", 3, -1.0),
                 ("A", 2023, "H1", 3, np.nan), ("", 2023, "H1", 3, 100.0)])
    hist["status"] = ["SUCCESS", "SUCCESS", "SUCCESS", "FAIL"]
    w = payment.compute_weights(hist, pol())
    assert list(w.groups["cases"]) == [1] and w.meta["used_rows"] == 1


def test_codes_only_on_left_out_rows_are_not_groups():
    """Found on the sample region (issue 11): a failed grouping's "0000", an ambiguous "GQY" and
    a group whose only stay is LOS-excluded were listed as groups with 0 cases, flagged small,
    so every ungroupable case in them also got the special-review reason small_group and
    ``drgsim weights`` counted them as groups. Only groups with a used history case are listed."""
    hist = rows([("A", 2023, "H1", 3, 100.0), ("A", 2023, "H1", 3, 300.0),
                 ("0000", 2023, "H1", 3, 500.0), ("GQY", 2023, "H1", 3, 700.0),
                 ("C", 2023, "H1", 3, 900.0)])
    hist["status"] = ["SUCCESS", "SUCCESS", "CHECK_FAILED", "QY", "SUCCESS"]
    hist["los"] = [5, 5, 5, 5, 1]  # C's one stay is LOS-excluded (≤ 1 day)
    p = payment.load_policy("national_drg", {
        "exclusions": {"los_min": 1},
        "special_review": {"enabled": True, "ungroupable": True, "small_groups": True,
                           "quota_rate": 1.0, "quota_period": "year"}})
    w = payment.compute_weights(hist, p)
    assert w.groups["group"].tolist() == ["A"]
    assert w.groups["cases"].tolist() == [2] and w.region_mean_cost == 200.0
    cur = pd.DataFrame({"case_id": ["k1", "k2", "k3"], "drg": ["0000", "GQY", "C"],
                        "status": ["CHECK_FAILED", "QY", "SUCCESS"], "hospital_id": "H1",
                        "hospital_level": 3, "total_cost": 400.0, "los": 5, "year": 2024,
                        "month": 3})
    priced = payment.price(cur, w, p)
    assert priced["case_class"].astype(str).tolist() == ["ungroupable"] * 3
    assert priced["sr_reasons"].astype(str).tolist() == ["ungroupable"] * 3
    assert not priced["small_group"].any()


def test_save_and_load_roundtrip(tmp_path):
    hist = rows([("A01", 2023, "001", 3, 150.0), ("B", 2022, "H2", 2, 50.0)])
    w = payment.compute_weights(hist, pol())
    loaded = payment.load_weights(w.save(tmp_path / "w"))
    for name in ("groups", "hospital_groups", "level_groups", "hospitals"):
        pd.testing.assert_frame_equal(getattr(w, name).astype({}), getattr(loaded, name),
                                      check_dtype=False)
    assert loaded.hospitals["hospital_id"].tolist() == ["001", "H2"]  # leading zeros kept
    assert loaded.budget_point_value == w.budget_point_value
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        payment.load_weights(tmp_path)


def test_matches_naive_reference_with_trimming():
    rng = np.random.default_rng(3)
    n = 3000
    hist = pd.DataFrame({
        "drg": rng.choice(["A", "B", "C", "D"], n), "year": rng.choice([2021, 2022, 2023], n),
        "hospital_id": rng.choice(["H1", "H2", "H3"], n), "hospital_level": 3,
        "total_cost": rng.lognormal(8, 1.0, n), "los": 5,
    })
    p = pol(trim="iqr", trim_k=1.5)
    w = payment.compute_weights(hist, p)
    means, region = naive_group_means(hist.to_dict("records"), p, [2021, 2022, 2023],
                                      [1.0, 2.0, 7.0])
    np.testing.assert_allclose(w.groups.set_index("group")["mean_cost"][list(means)],
                               list(means.values()), rtol=1e-12)
    assert w.region_mean_cost == pytest.approx(region, rel=1e-12)
