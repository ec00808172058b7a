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
