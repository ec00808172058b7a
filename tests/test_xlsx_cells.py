"""Workbook cells that would read as silent blanks (issue 12 item 5): a formula with no saved
value, an Excel error value, merged cells reaching into the data. Workbooks built by openpyxl."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from openpyxl import Workbook

import grouper
from drgsim import stream

HEAD = ["病案号", "医疗机构编码", "性别", "年龄", "主要诊断", "总费用", "住院天数"]


def _book(path, rows, merges=()):
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD)
    for r in rows:
        ws.append(r)
    for m in merges:
        ws.merge_cells(m)
    wb.save(path)
    return path


def _read(path):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        df = grouper.read_cases(path)
    return df, [str(x.message) for x in w if issubclass(x.category, grouper.CaseValueWarning)]


def test_formula_cells_without_saved_values_are_bad_values_named_by_header_and_row(tmp_path):
    rows = [[f"c{i}", "H1", "男", 40 + i, "K35.800", 100.0 + i, 3] for i in range(12)]
    rows[10][5] = "=SUM(F2:F11)"  # sheet row 12: openpyxl saves no value for it
    rows[11][3] = "=D2+1"         # sheet row 13
    p = _book(tmp_path / "f.xlsx", rows)
    df, said = _read(p)
    assert len(df) == 12 and list(df["case_id"]) == [f"c{i}" for i in range(12)]
    assert list(df["read_status"]) == ["OK"] * 10 + ["BAD_VALUE"] * 2
    assert df["read_warnings"].iloc[10] == "总费用 is a formula with no saved value (row 12)"
    assert df["read_warnings"].iloc[11] == "年龄 is a formula with no saved value (row 13)"
    assert pd.isna(df["total_cost"].iloc[10]) and pd.isna(df["age"].iloc[11])
    assert df["total_cost"].iloc[9] == 109.0 and df["age"].iloc[10] == 50  # the others are read
    file_level = [m for m in said if "formula" in m]
    assert len(file_level) == 1, said
    assert str(p) in file_level[0] and "2 cell(s)" in file_level[0]
    assert "总费用 row 12" in file_level[0] and "年龄 row 13" in file_level[0]


def test_excel_error_values_are_bad_values(tmp_path):
    rows = [["a", "H1", "男", 40, "K35.800", "#DIV/0!", 3], ["b", "H1", "男", 41, "K35.800", 90, 3]]
    df, said = _read(_book(tmp_path / "e.xlsx", rows))
    assert list(df["read_status"]) == ["BAD_VALUE", "OK"]
    assert df["read_warnings"].iloc[0] == "总费用 is an Excel error value '#DIV/0!' (row 2)"
    assert pd.isna(df["total_cost"].iloc[0]) and df["total_cost"].iloc[1] == 90
    assert sum("Excel error" in m for m in said) == 1


def test_formula_cells_with_saved_values_are_read(tmp_path):
    """A formula whose value Excel saved reads as that value, with no warning."""
    p = _book(tmp_path / "v.xlsx", [["a", "H1", "男", 40, "K35.800", "=1+1", 3]])
    # put the saved value in by hand, as Excel would: <f>1+1</f><v>2</v>
    import zipfile

    src = zipfile.ZipFile(p)
    parts = {n: src.read(n) for n in src.namelist()}
    src.close()
    sheet = "xl/worksheets/sheet1.xml"
    assert b"<f>1+1</f><v /></c>" in parts[sheet]
    parts[sheet] = parts[sheet].replace(b"<f>1+1</f><v /></c>", b"<f>1+1</f><v>2</v></c>")
    with zipfile.ZipFile(p, "w") as z:
        for n, b in parts.items():
            z.writestr(n, b)
    df, said = _read(p)
    assert df["total_cost"].iloc[0] == 2 and list(df["read_status"]) == ["OK"] and said == []


def test_merged_cells_over_data_are_warned_per_row_and_once_for_the_file(tmp_path):
    rows = [[f"c{i}", "H1" if i in (0, 3) else None, "男", 40, "K35.800", 100.0, 3] for i in range(5)]
    rows[4][6] = None
    p = _book(tmp_path / "m.xlsx", rows, merges=("B2:B4", "F6:G6", "H1:I1"))
    df, said = _read(p)
    assert len(df) == 5
    assert list(df["hospital_id"].fillna("")) == ["H1", "", "", "H1", ""]  # blanks stay blank
    assert list(df["read_status"]) == ["OK"] * 5  # a blank is what the file holds
    w = df["read_warnings"].tolist()
    assert w[0] == "" and w[3] == ""
    assert w[1] == "医疗机构编码 is blank inside merged cells B2:B4 (only B2 holds its value) (row 3)"
    assert w[2] == "医疗机构编码 is blank inside merged cells B2:B4 (only B2 holds its value) (row 4)"
    assert w[4] == "住院天数 is blank inside merged cells F6:G6 (only F6 holds its value) (row 6)"
    merged = [m for m in said if "merged" in m]
    assert len(merged) == 1 and str(p) in merged[0], said
    # the merge H1:I1 beside the header covers no data and is not named
    assert ("merged cells B2:B4 (医疗机构编码 blank in rows 3-4), F6:G6 (住院天数 blank in row 6) "
            "cover data") in merged[0] and "H1:I1" not in merged[0] and "(3 row(s))" in merged[0]


def test_a_plain_workbook_says_nothing(tmp_path):
    df, said = _read(_book(tmp_path / "ok.xlsx", [["a", "H1", "男", 40, "K35.800", 100.0, 3]]))
    assert said == [] and list(df["read_status"]) == ["OK"] and df["read_warnings"].iloc[0] == ""


def test_streamed_workbook_keeps_the_row_notes(tmp_path):
    """The chunked reader cuts the same table: each chunk keeps its rows' notes and statuses."""
    rows = [[f"c{i}", "H1", "男", 40, "K35.800", 100.0, 3] for i in range(9)]
    rows[7][5] = "=1+1"  # sheet row 9
    p = _book(tmp_path / "s.xlsx", rows, merges=("B2:B3",))
    with pytest.warns(grouper.CaseValueWarning):
        whole = grouper.read_cases(p)
    with pytest.warns(grouper.CaseValueWarning):
        chunks = pd.concat(list(stream.CaseSource(p, chunk_rows=4)), ignore_index=True)
    pd.testing.assert_series_equal(whole["read_status"], chunks["read_status"])
    pd.testing.assert_series_equal(whole["read_warnings"], chunks["read_warnings"])
    assert chunks["read_status"].tolist().index("BAD_VALUE") == 7
    assert chunks["read_warnings"].iloc[1].endswith("(row 3)")


def test_a_table_drgsim_wrote_keeps_its_earlier_read_problems(tmp_path):
    """读取状态 / 读取警告 of a written workbook and the workbook's own problems are merged."""
    wb = Workbook()
    ws = wb.active
    ws.append([*HEAD, "读取状态", "读取警告"])
    ws.append(["a", "H1", "男", 40, "K35.800", "=1+1", 3, "OK", ""])
    ws.append(["b", "H1", "男", 41, "K35.800", 9, 3, "BAD_VALUE", "年龄 'x' is not a number (row 3)"])
    wb.save(tmp_path / "w.xlsx")
    df, _ = _read(tmp_path / "w.xlsx")
    assert list(df["read_status"]) == ["BAD_VALUE", "BAD_VALUE"]
    assert df["read_warnings"].tolist() == ["总费用 is a formula with no saved value (row 2)",
                                            "年龄 'x' is not a number (row 3)"]
    assert "读取状态" not in df.columns
