"""Issue 13 items 1 and 2: every readable form of a cell, every row status, one reader and one
writer by extension for every command, GB18030/GBK everywhere."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from shared_data import ROOT
from typer.testing import CliRunner

import grouper
import payment
from drgsim import stream
from drgsim.cli import app
from grouper.cases import MAX_MAGNITUDE, canonicalise

runner = CliRunner()
CASES = ROOT / "sample_cases" / "cases.csv"
DEMO = grouper.demo_scheme_path()


def _one(col: str, value, **more) -> pd.DataFrame:
    raw = pd.DataFrame({"病案号": ["c1"], "性别": ["1"], "年龄": ["40"], "主要诊断": ["K35.800"],
                        **{k: [v] for k, v in more.items()}})
    raw[col] = pd.Series([value], dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("error", grouper.CaseValueWarning)  # a readable form warns nothing
        return canonicalise(raw, "x.csv")


@pytest.mark.parametrize("col,value,name,want", [
    ("总费用", "12,345.60", "total_cost", 12345.60),
    ("总费用", "1,234,567", "total_cost", 1234567.0),
    ("总费用", "12345.60元", "total_cost", 12345.60),
    ("总费用", "¥12,345.60", "total_cost", 12345.60),
    ("总费用", "１２，３４５．６０", "total_cost", 12345.60),
    ("年龄", "45岁", "age", 45),
    ("年龄", "45 岁", "age", 45),
    ("年龄", "４５", "age", 45),
    ("年龄", "45周岁", "age", 45),
    ("年龄", " 45 ", "age", 45),
    ("年龄", "45.0", "age", 45),
    ("住院天数", "12天", "los", 12),
    ("性别", "男", "sex", 1),
    ("性别", "女", "sex", 2),
    ("性别", "女性", "sex", 2),
    ("性别", "２", "sex", 2),
    ("新生儿出生体重", "3200克", "birth_weight", 3200),
])
def test_unambiguous_numbers_are_read(col, value, name, want):
    got = _one(col, value)
    assert got[name].iloc[0] == pytest.approx(want) and got["read_status"].iloc[0] == "OK"
    assert got["read_warnings"].iloc[0] == ""


@pytest.mark.parametrize("value,want", [
    ("2025-10-01", "2025-10-01 00:00:00"), ("2025/10/01", "2025-10-01 00:00:00"),
    ("2025.10.1", "2025-10-01 00:00:00"), ("20251001", "2025-10-01 00:00:00"),
    ("2025年10月1日", "2025-10-01 00:00:00"), ("２０２５-１０-０１", "2025-10-01 00:00:00"),
    ("2025-10-01 08:30:15", "2025-10-01 08:30:15"), ("2025-10-01T08:30", "2025-10-01 08:30:00"),
    ("2025/10/01 8:30", "2025-10-01 08:30:00"),
    ("45931", "2025-10-01 00:00:00"),  # an Excel date serial: 45931 is 2025-10-01
    ("45931.5", "2025-10-01 12:00:00"),
    (dt.datetime(2025, 10, 1, 8, 30), "2025-10-01 08:30:00"),
    (pd.Timestamp("2025-10-01"), "2025-10-01 00:00:00"),
    (dt.date(2025, 10, 1), "2025-10-01 00:00:00"),
])
def test_dates_and_datetimes_are_read(value, want):
    got = _one("出院日期", value)
    assert str(got["discharge_date"].iloc[0]) == want and got["read_status"].iloc[0] == "OK"


@pytest.mark.parametrize("col,value,reason", [
    ("年龄", "forty", "not a number"),
    ("年龄", "45x岁", "not a number"),
    ("年龄", "40.5", "not a whole number"),
    ("年龄", "1e16", "out of range"),
    ("年龄", "99999999999999999999", "out of range"),
    ("住院天数", "1e308", "out of range"),
    ("总费用", "inf", "out of range"),
    ("总费用", "-inf", "out of range"),
    ("总费用", "12,34.5", "not a number"),  # misplaced separators are not guessed at
    ("总费用", "12.345,60", "not a number"),
    ("出院日期", "2025-10-32", "not a date"),
    ("出院日期", "2025-02-29", "not a date"),
    ("出院日期", "yesterday", "not a date"),
    ("新技术标志", "maybe", "not a yes/no flag"),
    ("性别", "unknown", "not a number"),
])
def test_unreadable_cells_are_missing_with_a_status_and_a_warning(col, value, reason):
    raw = pd.DataFrame({"病案号": ["c1", "c2"], "性别": ["1", "2"], "年龄": ["40", "41"],
                        "住院天数": ["3", "4"], "总费用": ["100", "200"],
                        "出院日期": ["2025-01-01", "2025-01-02"], "新技术标志": ["0", "1"],
                        "主要诊断": ["K35.800", "K35.800"]})
    raw.loc[1, col] = value
    with pytest.warns(grouper.CaseValueWarning) as w:
        got = canonicalise(raw, "export.csv")
    msg = str(w[0].message)
    # the user's header, the value, the spreadsheet row (header row 1, so data row 2 is row 3)
    assert f"export.csv: column '{col}'" in msg and repr(value) in msg and "row 3" in msg and reason in msg
    assert list(got["read_status"]) == ["OK", "BAD_VALUE"]
    assert got["read_warnings"].iloc[0] == ""
    assert got["read_warnings"].iloc[1] == f"{col} {value!r} is {reason}" + \
        got["read_warnings"].iloc[1][len(f"{col} {value!r} is {reason}"):]
    assert got["read_warnings"].iloc[1].endswith("treated as missing (row 3)")
    name = grouper.schema.alias_map()[col]
    if name == "new_tech":
        assert not got[name].iloc[1]  # a flag that is unreadable is not set
    else:
        assert pd.isna(got[name].iloc[1])
    assert len(got) == 2 and list(got["case_id"]) == ["c1", "c2"]


def test_max_magnitude_is_the_bound():
    assert _one("总费用", f"{MAX_MAGNITUDE:.0f}")["total_cost"].iloc[0] == MAX_MAGNITUDE
    with pytest.warns(grouper.CaseValueWarning, match="out of range"):
        raw = pd.DataFrame({"case_id": ["a"], "sex": ["1"], "age": ["1"], "diagnoses": ["x"],
                            "total_cost": [MAX_MAGNITUDE * 1.01]})
        assert canonicalise(raw)["read_status"].iloc[0] == "BAD_VALUE"


def test_several_bad_cells_in_one_row_and_statuses_into_group_output(demo_scheme):
    raw = pd.DataFrame({"病案号": ["a", "b", "c"], "性别": ["男", "x", "女"], "年龄": ["45岁", "50", "abc"],
                        "住院天数": ["3", "4", "5"], "主要诊断": ["K35.800"] * 3,
                        "总费用": ["1,000.50", "zz", "300"]})
    with pytest.warns(grouper.CaseValueWarning):
        cases = canonicalise(raw, "f.csv")
    assert list(cases["read_status"]) == ["OK", "BAD_VALUE", "BAD_VALUE"]
    assert cases["read_warnings"].iloc[1] == ("性别 'x' is not a number, treated as missing (row 3); "
                                              "总费用 'zz' is not a number, treated as missing (row 3)")
    g = grouper.group(cases, demo_scheme)
    assert list(g.columns) == ["case_id", "status", "read_status", "mdc", "adrg", "drg", "warnings"]
    assert list(g["case_id"]) == ["a", "b", "c"]
    assert list(g["read_status"]) == ["OK", "BAD_VALUE", "BAD_VALUE"]
    # a missing sex or age fails the check; the reading note comes first in the warnings
    assert list(g["status"].astype(str)) == ["SUCCESS", "CHECK_FAILED", "CHECK_FAILED"]
    assert g["warnings"].iloc[2].startswith("年龄 'abc' is not a number, treated as missing (row 4)")
    kept = grouper.group(cases, demo_scheme, keep_columns=True)
    assert list(kept["read_status"]) == list(g["read_status"])


def test_re_reading_a_written_table_keeps_its_read_status(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("case_id,sex,age,diagnoses\n1,1,forty,K35.800\n2,1,40,K35.800\n", "utf-8")
    with pytest.warns(grouper.CaseValueWarning):
        first = grouper.read_cases(p)
    q = tmp_path / "b.csv"
    first.to_csv(q, index=False)
    again = grouper.read_cases(q)
    assert list(again["read_status"]) == ["BAD_VALUE", "OK"]
    assert again["read_warnings"].iloc[0] == first["read_warnings"].iloc[0]


def test_file_level_problems_still_stop(tmp_path):
    q = tmp_path / "b.csv"
    q.write_text("病案号,性别,主要诊断\n1,1,K35.800\n", "utf-8")
    with pytest.raises(grouper.CaseFileError, match=r"column 'age'.*required column missing.*年龄"):
        grouper.read_cases(q)
    d = tmp_path / "d.csv"
    d.write_text("case_id,病案号,sex,age,diagnoses\n1,1,1,4,K\n", "utf-8")
    with pytest.raises(grouper.CaseFileError, match="given twice"):
        grouper.read_cases(d)
    for name in ("x.txt", "x.json", "x.xls", "x.pq", "x"):
        (tmp_path / name).write_text("case_id,sex,age,diagnoses\n", "utf-8")
        with pytest.raises(grouper.CaseFileError, match=r"unknown file type.*allowed: .csv, .xlsx, .parquet"):
            grouper.read_cases(tmp_path / name)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_every_encoding_reads_the_same(tmp_path, encoding):
    text = "病案号,性别,年龄,主要诊断,其他诊断,科室\n1,男,45岁,K35.800,I10.x00；E11.900,普外科\n"
    p = tmp_path / "e.csv"
    p.write_bytes(text.encode(encoding))
    got = grouper.read_cases(p)
    assert got["dept"].iloc[0] == "普外科" and got["diagnoses"].iloc[0] == "K35.800|I10.x00|E11.900"
    assert got["sex"].iloc[0] == 1 and got["age"].iloc[0] == 45


def test_excel_cells_dates_and_numbers(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["病案号", "性别", "年龄", "主要诊断", "入院日期", "出院日期", "总费用", "医疗机构编码"])
    ws.append(["a", "男", 45, "K35.800", dt.datetime(2025, 9, 28, 9, 15), dt.date(2025, 10, 1), 12345.6, "0012"])
    ws.append(["b", "女", "45岁", "K35.800", "2025/09/29", 45931, "1,000", 12])
    ws.append(["c", 2, "bad", "K35.800", "2025-10-32", None, None, None])
    p = tmp_path / "x.xlsx"
    wb.save(p)
    with pytest.warns(grouper.CaseValueWarning) as w:
        got = grouper.read_cases(p)
    assert {str(x.message).split("'")[1] for x in w} == {"年龄", "入院日期"}
    assert list(got["age"].astype(object)) == [45, 45, pd.NA]
    assert [str(x) for x in got["admission_date"]] == ["2025-09-28 09:15:00", "2025-09-29 00:00:00", "NaT"]
    assert [str(x) for x in got["discharge_date"]] == ["2025-10-01 00:00:00", "2025-10-01 00:00:00", "NaT"]
    assert got["total_cost"].iloc[:2].tolist() == [12345.6, 1000.0]
    assert got["hospital_id"].iloc[:2].tolist() == ["0012", "12"]
    assert list(got["read_status"]) == ["OK", "OK", "BAD_VALUE"]
    assert "(row 4)" in got["read_warnings"].iloc[2]


def test_streaming_reader_gives_the_same_statuses_and_rows(tmp_path):
    lines = ["病案号,性别,年龄,主要诊断,总费用"] + [f"c{i},男,{30 + i % 5}岁,K35.800,\"1,{i:03d}.50\"" for i in range(30)]
    lines[26] = "c25,男,thirty,K35.800,oops"  # data row 26 = spreadsheet row 27
    p = tmp_path / "s.csv"
    p.write_text("\n".join(lines) + "\n", encoding="gbk")
    with pytest.warns(grouper.CaseValueWarning):
        whole = grouper.read_cases(p)
    with pytest.warns(grouper.CaseValueWarning) as w:
        chunks = pd.concat(list(stream.CaseSource(p, chunk_rows=7)), ignore_index=True)
    assert all("row 27" in str(x.message) for x in w)
    for c in ("case_id", "age", "total_cost", "read_status", "read_warnings"):
        assert chunks[c].astype(str).tolist() == whole[c].astype(str).tolist()
    assert whole["read_warnings"].iloc[25] == ("年龄 'thirty' is not a number, treated as missing (row 27); "
                                               "总费用 'oops' is not a number, treated as missing (row 27)")
    assert whole["total_cost"].iloc[3] == 1003.5


# --- every command: one reader, one writer ---------------------------------------------------------


@pytest.fixture(scope="module")
def grouped(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmd")
    cases = grouper.read_cases(CASES)
    g = grouper.group(cases, grouper.load_scheme(DEMO), keep_columns=True)
    year = int(g["year"].max())
    hist = g[g["year"] < year].drop(columns=["read_status", "read_warnings"])
    hp = d / "history_gbk.csv"
    hist.to_csv(hp, index=False, encoding="gbk")
    cur = g[g["year"] == year].head(200).reset_index(drop=True)
    return d, hp, hist, cur


def test_weights_reads_a_gbk_file_and_price_writes_every_format(grouped):
    d, hp, hist, cur = grouped
    wdir = d / "w"
    res = runner.invoke(app, ["weights", str(hp), "-p", "zhejiang_drg", "-o", str(wdir), "-q"])
    assert res.exit_code == 0, res.output
    pol = payment.load_policy("zhejiang_drg")
    want_w = payment.compute_weights(hist.reset_index(drop=True), pol)
    got_w = payment.load_weights(wdir)
    assert got_w.groups.shape == want_w.groups.shape
    np.testing.assert_allclose(got_w.region_mean_cost, want_w.region_mean_cost)
    src = d / "cur.xlsx"  # an Excel input takes the in-memory path for every output kind
    cur.drop(columns=["read_status", "read_warnings"]).to_excel(src, index=False)
    want = payment.price(grouper.read_table(src), got_w, pol)
    for ext in ("csv", "xlsx", "parquet"):
        out = d / f"priced.{ext}"
        res = runner.invoke(app, ["price", str(src), "-w", str(wdir), "-p", "zhejiang_drg", "-o", str(out), "-q"])
        assert res.exit_code == 0, res.output
        head = out.read_bytes()[:4]
        assert (head == b"PK\x03\x04") == (ext == "xlsx") and (head == b"PAR1") == (ext == "parquet")
        back = grouper.read_table(out, kinds=payment.columns.PRICED_BY_NAME)
        if ext == "xlsx":  # a workbook is Chinese-headed by default; the reader maps them back
            import openpyxl
            assert "病组" in next(openpyxl.load_workbook(out, read_only=True).active.values)
        assert list(back.columns[: len(want.columns)]) == list(want.columns)
        assert back["case_id"].tolist() == want["case_id"].tolist()
        np.testing.assert_allclose(back["payment"].to_numpy(float), want["payment"].to_numpy(float), rtol=0, atol=1e-6)
        assert back["case_class"].astype(str).tolist() == want["case_class"].astype(str).tolist()


def test_commands_refuse_other_extensions(grouped, tmp_path):
    d, hp, _, _ = grouped
    bad = tmp_path / "h.txt"
    bad.write_bytes(hp.read_bytes())
    res = runner.invoke(app, ["weights", str(bad), "-p", "zhejiang_drg", "-o", str(tmp_path / "w")])
    assert res.exit_code == 2 and "unknown file type '.txt'" in res.output
    res = runner.invoke(app, ["group", str(CASES), "-s", str(DEMO), "-o", str(tmp_path / "g.json")])
    assert res.exit_code == 2 and "unknown output type '.json'" in res.output
    res = runner.invoke(app, ["explain", str(bad), "-s", str(DEMO)])
    assert res.exit_code == 2 and "unknown file type '.txt'" in res.output


def test_group_command_reads_bad_cells_and_writes_xlsx(tmp_path):
    src = pd.read_csv(CASES, dtype=str).head(20)
    src.loc[4, "age"] = "45岁"
    src.loc[5, "age"] = "old"
    src.loc[6, "total_cost"] = "12,345.60"
    p = tmp_path / "in.csv"
    src.to_csv(p, index=False, encoding="gbk")
    for ext in ("csv", "xlsx", "parquet"):
        out = tmp_path / f"g.{ext}"
        res = runner.invoke(app, ["group", str(p), "-s", str(DEMO), "-o", str(out), "--keep-columns"])
        assert res.exit_code == 0, res.output
        assert "warning:" in res.output and "column 'age'" in res.output and "row 7 'old'" in res.output
        back = grouper.read_table(out)
        assert len(back) == 20 and back["case_id"].tolist() == src["case_id"].tolist()
        assert back["read_status"].tolist() == ["OK"] * 5 + ["BAD_VALUE"] + ["OK"] * 14
        assert back["age"].iloc[4] == 45 and back["total_cost"].iloc[6] == 12345.6
        assert back["status"].iloc[5] == "CHECK_FAILED"


def test_streaming_reader_refuses_the_same_extensions(tmp_path):
    for name in ("x.txt", "x.pq", "x.xlsm"):
        (tmp_path / name).write_text("case_id,sex,age,diagnoses\n1,1,40,K35.800\n", "utf-8")
        with pytest.raises(grouper.CaseFileError, match="unknown file type"):
            stream.CaseSource(tmp_path / name)
