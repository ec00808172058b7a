"""Reports a director can read: Chinese or English labels, formatted numbers, charts."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from test_scenario import POLICY, synthetic_priced

from payment.labels import column_label, localise
from payment.report import write_report
from payment.report_format import format_value, html_table
from payment.scenario import MonteCarloSpec, Scenario, simulate


@pytest.fixture(scope="module")
def sim():
    priced = synthetic_priced(n=1200, n_hosp=6, seed=5)
    scn = Scenario(name="t", priced_cases="unused.parquet",
                   sweep={"settlement.reserve_rate": [0.02, 0.08]},
                   monte_carlo=MonteCarloSpec(draws=20, seed=1))
    return simulate(scn, priced=priced, policy=POLICY)


@pytest.mark.parametrize(("value", "kind", "shown"), [
    (6793368.449999999, "yuan", "6,793,368.45"),
    (-0.06, "ratio", "−6.0 %"),
    (117.82470631315711, "pv", "117.8247"),
    (1234, "count", "1,234"),
    (float("nan"), "yuan", ""),
    ("H001", "text", "H001"),
])
def test_format_value(value, kind, shown):
    assert format_value(value, kind) == shown


def test_localise_headers_and_ledger_items():
    df = pd.DataFrame({"item": ["budget", "paid to hospitals"], "yuan": [1.0, 2.0]})
    zh = localise(df, "zh")
    assert list(zh.columns) == ["项目", "金额(元)"]
    assert zh["项目"].tolist() == ["预算总额", "支付医院合计"]
    assert list(localise(df, "en").columns) == ["item", "yuan"]
    assert column_label("not_a_known_column", "zh") == "not_a_known_column"
    with pytest.raises(ValueError, match="allowed: zh, en"):
        localise(df, "fr")


def test_html_table_formats_by_kind():
    df = pd.DataFrame({"hospital_id": ["H1"], "tier_ratio": [-0.0574], "final_amount": [4770178.99]})
    page = html_table(df, "zh")
    assert "<th>医院编码</th>" in page and "<th>结余/超支率</th>" in page
    assert ">−5.7 %<" in page and ">4,770,178.99<" in page
    assert 'class="tw"' in page  # scrolls instead of running off the page


def test_chinese_report(sim, tmp_path):
    write_report(sim, tmp_path, "zh", csv_lang="zh")
    wb = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert {"情景汇总", "医院清算单", "月度预拨", "基金台账"} <= set(wb.sheetnames)
    ws = wb["医院清算单"]
    header = [c.value for c in ws[1]]
    col = header.index("年度清算应付(元)") + 1
    assert ws.cell(row=2, column=col).number_format == "#,##0.00"
    assert ws.cell(row=2, column=header.index("结余/超支率") + 1).number_format == "0.0%"
    assert ws.freeze_panes == "A2"
    assert len(ws._charts) == 1 and len(wb["情景汇总"]._charts) == 1
    # Values stay numbers: the sheet still sums to the statement's final amounts.
    total = sum(ws.cell(row=r, column=col).value for r in range(2, ws.max_row + 1))
    assert round(total, 2) == round(sim.baseline.statement["final_amount"].sum(), 2)
    csv = pd.read_csv(tmp_path / "statements.csv", encoding="utf-8-sig")
    assert "年度清算应付(元)" in csv.columns
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "Microsoft YaHei" in page
    for title in ("各医院结余(+)", "各情景结算点值", "CMI 与支付比", "<h2>医院清算单</h2>"):
        assert title in page
    assert "基准" in page


def test_english_labels(sim, tmp_path):
    write_report(sim, tmp_path, "en")
    wb = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    assert "statements" in wb.sheetnames
    header = next(wb["statements"].iter_rows(values_only=True))
    assert "final amount (yuan)" in header
    # CSV headers stay column names unless asked for.
    assert "final_amount" in pd.read_csv(tmp_path / "statements.csv").columns
