"""Numbers no real case has (inf, 1e308, 20-digit whole numbers) name the cell, in every reader
path, never a crash (issue 12 item 3); since issue 13 item 1 they are a row status and a warning
(the value is treated as missing), not an error that stops the file."""

from __future__ import annotations

import pandas as pd
import pytest
from shared_data import ROOT

import grouper
from grouper.errors import CaseValueWarning


@pytest.mark.parametrize("col,value", [("age", "99999999999999999999"), ("los", "1e308"),
                                       ("total_cost", "inf"), ("total_cost", "-inf"),
                                       ("age", "1e16")])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_out_of_range_numbers_name_the_cell(tmp_path, col, value, suffix):
    df = pd.read_csv(ROOT / "sample_cases" / "cases.csv", dtype=str).head(6)
    df.loc[3, col] = value
    p = tmp_path / f"c{suffix}"
    {".csv": lambda: df.to_csv(p, index=False), ".xlsx": lambda: df.to_excel(p, index=False),
     ".parquet": lambda: df.to_parquet(p, index=False)}[suffix]()
    with pytest.warns(CaseValueWarning) as info:
        got = grouper.read_cases(p)
    msg = str(info[0].message)
    # data row 4 is spreadsheet row 5 (the header is row 1)
    assert f"column '{col}'" in msg and "row 5" in msg and "out of range" in msg and str(p) in msg
    assert len(got) == 6 and pd.isna(got[col].iloc[3])
    assert list(got["read_status"]) == ["OK"] * 3 + ["BAD_VALUE"] + ["OK"] * 2
    assert "out of range" in got["read_warnings"].iloc[3] and "(row 5)" in got["read_warnings"].iloc[3]


def test_large_but_real_values_pass(tmp_path):
    df = pd.read_csv(ROOT / "sample_cases" / "cases.csv", dtype=str).head(3)
    df.loc[0, "total_cost"] = "999999999999.99"
    p = tmp_path / "ok.csv"
    df.to_csv(p, index=False)
    assert grouper.read_cases(p)["total_cost"].iloc[0] == pytest.approx(999999999999.99)
