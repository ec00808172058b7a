"""``--lang`` headers of group / price / weights / dip group, the final amount per case in
``drgsim price``, the missing-hospital warning, and one read of the cases (issue 13 item 3,
issue 12 item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import grouper
import payment
from drgsim.cli import app
from drgsim.cli.headers import header, read_output, reverse_headers
from payment.columns import PRICED_BY_NAME

runner = CliRunner()


@pytest.fixture(scope="module")
def region(sample_cases, demo_scheme, tmp_path_factory):
    d = tmp_path_factory.mktemp("lang")
    pol = payment.load_policy("zhejiang_drg")
    g = grouper.group(sample_cases, demo_scheme, keep_columns=True)
    w = payment.compute_weights(g[g["year"] < 2025], pol)
    w.save(d / "w")
    cur = sample_cases[sample_cases["year"] == 2025].drop(columns=["read_status", "read_warnings"])
    cur.head(400).to_csv(d / "cases.csv", index=False)
    return d, demo_scheme, w


def test_headers_come_from_the_declarations():
    assert header("drg", "zh") == "DRG编码" and header("status", "zh") == "分组状态"
    assert header("final_amount", "zh") == "最终支付金额" and header("payment", "zh") == "支付金额"
    assert header("total_cost", "en") == "total cost (yuan)" and header("unknown_col", "zh") == "unknown_col"
    rev = reverse_headers()
    assert rev["分组状态"] == "status" and rev["最终支付金额"] == "final_amount"
    assert "病案号" not in rev  # a case alias: the reader maps it already


def test_group_xlsx_is_chinese_and_prices_with_a_final_amount(region):
    d, scheme, _ = region
    r = runner.invoke(app, ["group", str(d / "cases.csv"), "-s", str(scheme.path), "-o", str(d / "g.xlsx"), "-q"])
    assert r.exit_code == 0, r.output
    heads = list(pd.read_excel(d / "g.xlsx", nrows=0).columns)
    assert {"病案号", "分组状态", "DRG编码", "警告", "读取状态"} <= set(heads)
    assert "drg" not in heads
    # the Chinese workbook prices as it is (headers read back), output Chinese by default
    r = runner.invoke(app, ["price", str(d / "g.xlsx"), "-w", str(d / "w"), "-p", "zhejiang_drg",
                            "-o", str(d / "p.xlsx"), "-q"])
    assert r.exit_code == 0, r.output
    raw = pd.read_excel(d / "p.xlsx")
    assert "最终支付金额" in raw.columns and "支付金额" in raw.columns
    back = read_output(d / "p.xlsx", kinds=PRICED_BY_NAME)
    assert len(back) == 400 and back["case_id"].tolist() == pd.read_csv(d / "cases.csv", dtype=str)["case_id"].tolist()
    want = np.where(back["sr_approved"], back["sr_amount"], back["payment"])
    np.testing.assert_allclose(back["final_amount"].to_numpy(), want)
    assert back["sr_approved"].any() or (back["final_amount"] == back["payment"]).all()


def test_lang_en_csv_and_names_by_default(region):
    d, scheme, _ = region
    r = runner.invoke(app, ["price", str(d / "cases.csv"), "-s", str(scheme.path), "-w", str(d / "w"),
                            "-p", "zhejiang_drg", "-o", str(d / "p_en.csv"), "--lang", "en", "-q"])
    assert r.exit_code == 0, r.output
    heads = list(pd.read_csv(d / "p_en.csv", nrows=0).columns)
    assert "total cost (yuan)" in heads and "final amount (yuan)" in heads
    back = read_output(d / "p_en.csv")
    assert {"total_cost", "final_amount", "payment"} <= set(back.columns)
    r = runner.invoke(app, ["price", str(d / "cases.csv"), "-s", str(scheme.path), "-w", str(d / "w"),
                            "-p", "zhejiang_drg", "-o", str(d / "p_zh.csv"), "--lang", "xx", "-q"])
    assert r.exit_code == 2


def test_weights_lang_writes_a_labelled_workbook_beside_the_csvs(region, sample_cases, demo_scheme):
    d, _, _ = region
    g = grouper.group(sample_cases, demo_scheme, keep_columns=True)
    g[g["year"] < 2025].to_csv(d / "hist.csv", index=False)
    r = runner.invoke(app, ["weights", str(d / "hist.csv"), "-p", "zhejiang_drg", "-o", str(d / "w2"),
                            "--lang", "zh", "-q"])
    assert r.exit_code == 0, r.output
    book = pd.read_excel(d / "w2" / "weights.xlsx", sheet_name=None)
    assert "病组权重" in book and "医院" in book
    assert payment.load_weights(d / "w2").groups.shape[0] > 0  # the folder still loads


def test_hospitals_missing_from_the_weights_are_said(region):
    d, scheme, _ = region
    c = pd.read_csv(d / "cases.csv", dtype=str)
    c.loc[:9, "hospital_id"] = "NEW_HOSPITAL"
    c.to_csv(d / "newhosp.csv", index=False)
    r = runner.invoke(app, ["price", str(d / "newhosp.csv"), "-s", str(scheme.path), "-w", str(d / "w"),
                            "-p", "zhejiang_drg", "-o", str(d / "nh.xlsx"), "-q"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "1 hospital(s)" in text and "NEW_HOSPITAL" in text and "new-group coefficient" in text


def test_published_weights_read_the_cases_once(region, monkeypatch):
    d, scheme, w = region
    table = w.groups[w.groups["rw"].notna()][["group", "rw", "mean_cost", "mean_los"]]
    table.set_axis(["DRG编码", "权重", "次均费用", "平均住院日"], axis=1).to_csv(d / "pub.csv", index=False)
    import grouper.cases as gc

    seen: list[str] = []
    real = gc.read_raw

    def counting(path, *a, **k):
        seen.append(str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(gc, "read_raw", counting)
    monkeypatch.setattr(grouper, "read_table", lambda p, **k: gc.canonicalise(counting(p), str(p), **k))
    r = runner.invoke(app, ["price", str(d / "cases.csv"), "-s", str(scheme.path), "-w", str(d / "pub.csv"),
                            "-p", "zhejiang_drg", "--coefficient", "1", "--point-value", "80",
                            "-o", str(d / "pub_out.xlsx"), "-q"])
    assert r.exit_code == 0, r.output
    assert seen.count(str(d / "cases.csv")) == 1, seen


def test_a_chinese_export_gets_chinese_csv_headers_by_default(region):
    """Issue 13 item 3: without --lang, CSV output follows the input's header language."""
    d, scheme, _ = region
    zh = {"case_id": "病案号", "sex": "性别", "age": "年龄", "los": "住院天数", "total_cost": "总费用",
          "diagnoses": "诊断", "procedures": "手术操作"}
    pd.read_csv(d / "cases.csv", dtype=str).head(50).rename(columns=zh).to_csv(
        d / "export_zh.csv", index=False, encoding="gb18030")
    assert grouper.has_chinese_headers(d / "export_zh.csv")
    assert not grouper.has_chinese_headers(d / "cases.csv")
    r = runner.invoke(app, ["group", str(d / "export_zh.csv"), "-s", str(scheme.path),
                            "-o", str(d / "g_zh.csv"), "-q"])
    assert r.exit_code == 0, r.output
    heads = list(pd.read_csv(d / "g_zh.csv", nrows=0).columns)
    assert {"病案号", "分组状态", "DRG编码"} <= set(heads) and "drg" not in heads
    # ... and pricing that Chinese CSV answers in Chinese too, one row per case, in order
    r = runner.invoke(app, ["price", str(d / "g_zh.csv"), "-w", str(d / "w"), "-p", "zhejiang_drg",
                            "-o", str(d / "p_zh.csv"), "-q"])
    assert r.exit_code == 0, r.output
    p = pd.read_csv(d / "p_zh.csv", dtype=str)
    assert "最终支付金额" in p.columns and len(p) == 50
    assert p["病案号"].tolist() == pd.read_csv(d / "cases.csv", dtype=str)["case_id"].head(50).tolist()
    # an English-headed input keeps column names; --lang en overrides a Chinese input
    r = runner.invoke(app, ["group", str(d / "export_zh.csv"), "-s", str(scheme.path),
                            "-o", str(d / "g_en.csv"), "--lang", "en", "-q"])
    assert r.exit_code == 0 and "分组状态" not in pd.read_csv(d / "g_en.csv", nrows=0).columns
    r = runner.invoke(app, ["group", str(d / "cases.csv"), "-s", str(scheme.path),
                            "-o", str(d / "g_names.csv"), "-q"])
    assert r.exit_code == 0 and "drg" in pd.read_csv(d / "g_names.csv", nrows=0).columns


def test_an_english_headed_grouped_csv_prices_streamed_as_in_memory(region):
    """The streamed price reads drgsim's English headers back by the same map as the in-memory
    reader (drgsim.output_headers): same cases, same payments."""
    d, scheme, _ = region
    r = runner.invoke(app, ["group", str(d / "cases.csv"), "-s", str(scheme.path),
                            "-o", str(d / "g_en2.csv"), "--lang", "en", "-q"])
    assert r.exit_code == 0, r.output
    assert "drg" not in pd.read_csv(d / "g_en2.csv", nrows=0).columns
    for out in ("p_stream.csv", "p_mem.xlsx"):  # .csv streams, .xlsx is written in memory
        r = runner.invoke(app, ["price", str(d / "g_en2.csv"), "-w", str(d / "w"), "-p",
                                "zhejiang_drg", "-o", str(d / out), "--lang", "en", "-q"])
        assert r.exit_code == 0, r.output
    a = read_output(d / "p_stream.csv", kinds=PRICED_BY_NAME)
    b = read_output(d / "p_mem.xlsx", kinds=PRICED_BY_NAME)
    assert a["case_id"].tolist() == b["case_id"].tolist() and len(a) == 400
    np.testing.assert_allclose(a["payment"].to_numpy(float), b["payment"].to_numpy(float))
