"""``drgsim cashflow`` on the demo region: files, identities in the CSVs, HTML and Excel, errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from drgsim import cli

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sample_cases" / "cashflow_demo.toml"


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("cf") / "out"
    res = CliRunner().invoke(cli.app, ["cashflow", str(DEMO), "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out, res.output


def test_demo_files_and_summary(demo_out):
    out, text = demo_out
    names = {p.name for p in out.iterdir()}
    assert {"cashflow.html", "cashflow.xlsx", "cashflow_ledger.csv", "cashflow_accounts.csv",
            "cashflow_cash.csv", "cashflow_whatifs.csv", "cashflow_mc_percentiles.csv"} <= names
    assert "lowest months of reserve" in text
    summ = pd.read_csv(out / "cashflow_summary.csv")
    assert summ["fund"].tolist() == ["employee", "resident"]
    assert summ["prepayment_eligible"].all()
    # the reason: English in the CSV, Chinese in the Chinese report, same numbers
    assert summ["eligibility"].str.fullmatch(r"cover \d+\.\d\d months ≥ (12|6)").all()
    page = (out / "cashflow.html").read_text("utf-8")
    for why in summ["eligibility"]:
        cover, need = why.split()[1], why.split()[-1]
        assert f"可支付 {cover} 个月 ≥ {need}" in page


def test_demo_ledger_identities_in_cents(demo_out):
    out, _ = demo_out
    led = pd.read_csv(out / "cashflow_ledger.csv")
    c = {k: (led[k] * 100).round().astype("int64") for k in (
        "opening", "income", "prepayment", "advances", "special_review", "other_spending",
        "clearing", "expenditure", "closing")}
    assert (c["expenditure"] == c["prepayment"] + c["advances"] + c["special_review"]
            + c["other_spending"] + c["clearing"]).all()
    assert (c["closing"] == c["opening"] + c["income"] - c["expenditure"]).all()
    assert led.groupby("fund").size().tolist() == [17, 17]  # Jan 2025 … May 2026
    assert led.loc[led["clearing"] != 0, "month"].unique().tolist() == ["2026-05"]
    acc = pd.read_csv(out / "cashflow_accounts.csv")
    a = {k: (acc[k] * 100).round().astype("int64") for k in (
        "net_advances", "special_review", "prepayment", "clearing", "outstanding",
        "final_amount", "received_total")}
    assert (a["net_advances"] + a["special_review"] + a["prepayment"] + a["clearing"]
            - a["outstanding"] == a["final_amount"]).all()
    assert (acc["outstanding"] == 0).all()  # at_clearing


def test_demo_prepayment_lowers_the_lowest_months_of_reserve(demo_out):
    out, _ = demo_out
    w = pd.read_csv(out / "cashflow_whatifs.csv").set_index(["scenario", "fund"])
    low = w["lowest_months_of_reserve"]
    for f in ("employee", "resident"):
        assert low[("no prepayment", f)] > low[("baseline", f)]
        assert w.loc[("no prepayment", f), "prepayment"] == 0.0
    # money is written as yuan to the fen, without float noise such as 1505776.4100000001
    raw = pd.read_csv(out / "cashflow_whatifs.csv", dtype=str)["prepayment"]
    assert raw.str.fullmatch(r"\d+\.\d{1,2}").all(), raw.tolist()
    pct = pd.read_csv(out / "cashflow_mc_percentiles.csv")
    assert (pct["draws"] == 200).all() and (pct["p5"] <= pct["p95"]).all()


def test_demo_html_and_excel(demo_out):
    out, _ = demo_out
    page = (out / "cashflow.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page)  # plotly inline, no network
    assert page.count("plotly.js v") <= 2 and "可支付月数" in page and "期末余额" in page
    wb = openpyxl.load_workbook(out / "cashflow.xlsx")
    ws = wb["基金月度收支"]
    assert ws.freeze_panes == "A2"
    head = [c.value for c in ws[1]]
    assert head[:4] == ["基金", "月份", "序号", "期初余额"]
    assert ws.cell(row=2, column=head.index("期末余额") + 1).number_format == "#,##0.00"
    assert {"医院资金头寸", "医院预付与清算", "情景分析", "蒙特卡洛分位数"} <= set(wb.sheetnames)


def test_monte_carlo_is_seeded(demo_out, tmp_path):
    out, _ = demo_out
    again = tmp_path / "again"
    res = CliRunner().invoke(cli.app, ["cashflow", str(DEMO), "-o", str(again), "-q",
                                       "--lang", "en"])
    assert res.exit_code == 0, res.output
    a = pd.read_csv(out / "cashflow_mc_draws.csv")
    b = pd.read_csv(again / "cashflow_mc_draws.csv")
    pd.testing.assert_frame_equal(a, b)
    assert "Fund cash flow by month" in (again / "cashflow.html").read_text(encoding="utf-8")


def test_validation_error_exits_2_naming_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    text = DEMO.read_text(encoding="utf-8").replace('recovery = "at_clearing"',
                                                    'recovery = "at_year_end"')
    bad.write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "sample_cases" / "cases.csv", tmp_path / "cases.csv")
    res = CliRunner().invoke(cli.app, ["cashflow", str(bad), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2
    flat = " ".join(res.output.split())
    assert "bad.toml" in flat and "cashflow.prepayment.recovery" in flat
    assert "at_clearing" in flat and "rollover" in flat
    assert not (tmp_path / "o").exists()


def test_settlement_monte_carlo_table_is_refused(tmp_path):
    from payment.cashflow_run import load_cashflow_scenario

    bad = tmp_path / "s.toml"
    bad.write_text(DEMO.read_text(encoding="utf-8") + "\n[monte_carlo]\ndraws = 3\n",
                   encoding="utf-8")
    with pytest.raises(ValueError, match=r"s.toml: monte_carlo: not read .*cashflow.monte_carlo"):
        load_cashflow_scenario(bad)
    nocf = tmp_path / "n.toml"
    nocf.write_text('name = "x"\ncases = "cases.csv"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"n.toml: cashflow: required table is missing"):
        load_cashflow_scenario(nocf)
