"""The planner's path on the bundled demo region: build from 2023–2024, group 2025."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import grouper
from grouper.dip import DipConfig, build_catalogue, group, load_catalogue

SAMPLE = Path(__file__).resolve().parents[1] / "sample_cases" / "cases.csv"
pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="sample_cases/cases.csv not present")


def test_build_last_years_group_next_year(tmp_path):
    scheme = grouper.load_scheme(grouper.demo_scheme_path())
    cases = grouper.read_cases(SAMPLE)
    history, next_year = cases[cases["year"] < 2025], cases[cases["year"] == 2025]
    cat = build_catalogue(history, DipConfig(year_weights=(1, 2), trim="iqr"), scheme)
    assert cat.manifest["years"] == [2023, 2024]
    cat = load_catalogue(cat.save(tmp_path / "cat"))
    out = group(next_year, cat, scheme)
    assert len(out) == len(next_year) and (out["case_id"].to_numpy() == next_year["case_id"].to_numpy()).all()
    drg = grouper.group(next_year, scheme)
    assert ((out["status"] == "SUCCESS").to_numpy() == drg["status"].isin(["SUCCESS", "QY", "FAIL"]).to_numpy()).all()
    ok = out["status"] == "SUCCESS"
    share = out.loc[ok, "dip_type"].value_counts(normalize=True)
    assert share.get("core", 0) > 0.5 and share.get("unmatched", 0) < 0.05
    matched = ok & (out["dip_type"] != "unmatched")
    assert np.isfinite(out.loc[matched, "final_score"]).all() and (out.loc[matched, "final_score"] > 0).all()


@pytest.mark.parametrize("trim", ["none", "iqr", "sd", "percentile"])
def test_sample_region_equals_the_references_under_every_trimming_mode(tmp_path, trim):
    """Build 2023–2024, price 2025 (national_dip, the catalogue and the weights trimmed alike):
    grouping, auxiliary coefficients, classes, points and payments equal naive_dip +
    ref_payment. Exact codes (strict): the reference implements no code repairs."""
    import math
    from decimal import ROUND_HALF_UP, Decimal

    import pandas as pd
    import tomllib
    from naive_dip import naive_group
    from ref_payment import ref_policy, ref_price, ref_weights
    from test_dip_pricing_property import _ref_rows

    import payment

    scheme = grouper.load_scheme(grouper.demo_scheme_path())
    cases = grouper.read_cases(SAMPLE)
    hist = cases[cases["year"] < 2025].reset_index(drop=True)
    cur = cases[cases["year"] == 2025].reset_index(drop=True)
    cat = build_catalogue(hist, DipConfig(year_weights=(1, 2), trim=trim), scheme)
    gh, gc = group(hist, cat, scheme, strict=True), group(cur, cat, scheme, strict=True)
    folder = cat.save(tmp_path / "cat")
    nh, nc = naive_group(hist, folder, scheme), naive_group(cur, folder, scheme)
    for got, exp in ((gh, nh), (gc, nc)):
        assert list(got["dip_group"]) == [e.get("dip_group", "") for e in exp]
        a = got["aux_coefficient"].to_numpy()
        b = np.array([e.get("aux_coefficient", np.nan) for e in exp])
        np.testing.assert_allclose(a, b, rtol=1e-12)
    raw = tomllib.loads((Path(payment.__file__).parent / "presets" / "national_dip.toml")
                        .read_text(encoding="utf-8"))
    weights = {"trim": trim, "year_weights": [1, 2]}
    over = {k: v for k, v in raw.items() if isinstance(v, dict)}
    over["weights"] = {**over["weights"], **weights}
    pol = payment.load_policy("national_dip", {"weights": weights})
    cols = ["status", "dip_group", "aux_coefficient"]
    w = payment.compute_weights(pd.concat([hist.drop(columns=["status"], errors="ignore"), gh[cols]], axis=1), pol)
    lib = payment.price(pd.concat([cur.drop(columns=["status"], errors="ignore"), gc[cols]], axis=1), w, pol)
    rpol = ref_policy({"kind": "dip", **over})
    rw = ref_weights(_ref_rows(hist.assign(month=0), nh), rpol)
    ref = ref_price(_ref_rows(cur.assign(month=pd.to_datetime(cur["discharge_date"]).dt.month), nc), rw, rpol)
    assert w.budget_point_value == pytest.approx(rw.budget_pv, rel=1e-12)
    refined = 0
    for row, o in zip(lib.to_dict("records"), ref, strict=True):
        assert str(row["case_class"]) == o["case_class"], row["case_id"]
        assert math.isclose(row["points"], o["points"], rel_tol=1e-12, abs_tol=1e-12), row["case_id"]
        assert Decimal(repr(float(row["payment"]))).quantize(Decimal("0.01"), ROUND_HALF_UP) == o["payment"]
        refined += row["aux_coefficient"] != 1.0
    assert refined > len(lib) // 4  # the auxiliary catalogue reaches many cases' points
