"""A hospital's own analysis: P&L per DRG / department, indices against the region, quality."""

from __future__ import annotations

import math

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

import grouper
import payment
from drgsim.cli import app
from payment.hospital_analysis import final_amounts, profit_and_loss, quality_check

WEIGHTS = pd.DataFrame({"group": ["AA1", "BB1"], "rw": [2.0, 0.5],
                        "mean_cost": [10_000.0, 2_000.0], "mean_los": [10.0, 4.0]})


def _cases():
    g = pd.DataFrame({
        "case_id": ["1", "2", "3", "4"], "hospital_id": "H", "status": ["SUCCESS"] * 3 + ["QY"],
        "drg": ["AA1", "AA1", "BB1", ""], "dept": ["S", "S", "M", "M"],
        "total_cost": [12_000.00, 9_000.00, 1_000.10, 500.00], "los": [12, 8, 2, 1],
        "discharge_mode": [1, 1, 1, 1], "warnings": ["", "diagnosis 'a' -> 'A'", "", ""]})
    p = pd.DataFrame({"payment": [10_500.00, 10_500.00, 1_200.00, 0.0],
                      "sr_approved": [True, False, False, False],
                      "sr_amount": [11_800.00, 0.0, 0.0, 0.0]})
    return g, p


def test_final_amount_takes_the_approved_special_review_amount():
    _, p = _cases()
    assert final_amounts(p).tolist() == [11_800.00, 10_500.00, 1_200.00, 0.0]


def test_profit_and_loss_by_hand():
    g, p = _cases()
    d = profit_and_loss(g, p, WEIGHTS, ["dept"]).set_index("dept")
    assert d.loc["S", "cases"] == 2 and d.loc["S", "total_cost"] == 21_000.00
    assert d.loc["S", "final_amount"] == 22_300.00 and d.loc["S", "profit"] == 1_300.00
    assert math.isclose(d.loc["S", "profit_rate"], 1_300 / 21_000)
    assert d.loc["M", "profit"] == pytest.approx(1_200.00 - 1_500.10)
    # Cost index against the region's means of the weights: (12,000/10,000 + 9,000/10,000) / 2.
    assert math.isclose(d.loc["S", "cost_index"], 1.05)
    assert math.isclose(d.loc["S", "time_index"], (1.2 + 0.8) / 2)
    # M: only case 3 is grouped (case 4 is QY): 1,000.10 / 2,000 and 2 / 4.
    assert math.isclose(d.loc["M", "cost_index"], 1_000.10 / 2_000)
    assert math.isclose(d.loc["M", "time_index"], 0.5)
    assert math.isclose(d.loc["S", "cmi"], 2.0)
    with pytest.raises(ValueError, match="4 grouped cases but 3 priced rows"):
        profit_and_loss(g, p.iloc[:3], WEIGHTS, ["dept"])


def test_quality_check_lists_failures_and_repairs():
    g, _ = _cases()
    q = quality_check(g)
    assert q["case_id"].tolist() == ["2", "4"]
    assert q.set_index("case_id").loc["4", "reason"].startswith("歧义病例")
    assert q.set_index("case_id").loc["2", "warnings"] == "diagnosis 'a' -> 'A'"


def test_cli_analyse_one_hospital(tmp_path, sample_cases, demo_scheme):
    pol = payment.load_policy("zhejiang_drg")
    grouped = grouper.group(sample_cases, demo_scheme, keep_columns=True)
    w = payment.compute_weights(grouped[grouped["year"] < 2025], pol)
    w.save(tmp_path / "w")
    mine = grouped[(grouped["year"] == 2025) & (grouped["hospital_id"] == "H001")]
    mine.to_csv(tmp_path / "h.csv", index=False)
    r = CliRunner().invoke(app, ["analyse", str(tmp_path / "h.csv"), "-w", str(tmp_path / "w"),
                                 "-p", "zhejiang_drg", "-s", "demo", "-o", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    by = pd.read_csv(tmp_path / "a" / "by_drg.csv", dtype={"drg": str})
    assert by["cases"].sum() == len(mine)
    priced = payment.price(pd.read_csv(tmp_path / "h.csv", dtype={"case_id": str}), w, pol)
    assert by["final_amount"].sum() == pytest.approx(final_amounts(priced).sum(), abs=0.01)
    assert (by["drg_name"].fillna("") != "").sum() > 10  # names beside codes
    wb = openpyxl.load_workbook(tmp_path / "a" / "analysis.xlsx")
    head = [c.value for c in wb[wb.sheetnames[0]][1]]
    assert {"DRG名称", "例均费用(元)", "盈亏(元)", "盈亏率", "费用消耗指数"} <= set(head)
    col = head.index("盈亏率") + 1
    assert wb[wb.sheetnames[0]].cell(row=2, column=col).number_format == "0.0%"
    assert (tmp_path / "a" / "by_dept.csv").exists() and (tmp_path / "a" / "quality.csv").exists()
    assert "医院DRG运行分析" in (tmp_path / "a" / "analysis.html").read_text(encoding="utf-8")
