"""A case id given twice is said, never silently dropped or merged (issue 12 item 5)."""

from pathlib import Path

import pandas as pd
import pytest

import grouper

ROOT = Path(__file__).resolve().parents[1]


def test_duplicate_case_ids_are_kept_and_warned(tmp_path, demo_scheme):
    d = pd.read_csv(ROOT / "sample_cases" / "cases.csv", dtype=str, keep_default_na=False).head(6)
    d.loc[4, "case_id"] = d.loc[1, "case_id"]
    d.to_csv(tmp_path / "dup.csv", index=False)
    with pytest.warns(grouper.CaseValueWarning, match="1 case id.* appear more than once"):
        cases = grouper.read_cases(tmp_path / "dup.csv")
    assert len(cases) == 6
    cid = d.loc[1, "case_id"]
    assert cases["read_warnings"].tolist()[4] == f"case_id {cid!r} also in row 3"
    assert cases["read_status"].eq("OK").all()  # still groupable
    g = grouper.group(cases, demo_scheme)
    assert f"case_id {cid!r} also in row 3" in g["warnings"].tolist()[4]
