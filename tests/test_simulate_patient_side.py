"""The patient side in `drgsim simulate`'s report (issue 14 item 5): with `benefits =` the
report carries each insurance layer's outlay and out-of-pocket by hospital level, equal to
payment's cost-sharing engine run directly, the layers summing to the total cost to the cent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drgsim.pipeline import simulate_scenario
from payment import cost_sharing, load_benefit_policy
from payment.benefit_summary import LAYERS, benefit_inputs
from payment.patient_report import LAYER_ITEMS, patient_tables
from payment.report import report_tables, write_report
from payment.scenario import load_scenario

DEMO = Path(__file__).resolve().parents[1] / "sample_cases"
BENEFIT_INPUTS = ["insurance", "category", "referral", "out_of_area", "self_pay",
                  "partial_self_pay"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The sample region with its 2025 benefit inputs (benefits.csv) joined by case id, under
    the demo scenario (no sweep, no Monte Carlo) with the example benefit policy."""
    tmp = tmp_path_factory.mktemp("patients")
    cases = pd.read_csv(DEMO / "cases.csv", dtype={"case_id": str})
    ben = pd.read_csv(DEMO / "benefits.csv", dtype={"case_id": str})
    cases = cases.merge(ben[["case_id", *BENEFIT_INPUTS]], on="case_id", how="left")
    cases.to_csv(tmp / "cases.csv", index=False)
    text = (DEMO / "scenario_demo.toml").read_text(encoding="utf-8")
    text = text[: text.index("[sweep]")]
    text = text.replace("year = 2025", 'year = 2025\nbenefits = "benefits_example"')
    (tmp / "s.toml").write_text(text, encoding="utf-8")
    sim = simulate_scenario(load_scenario(tmp / "s.toml"))
    cur = benefit_inputs(cases[cases["year"] == 2025].reset_index(drop=True))
    shares = cost_sharing(cur, load_benefit_policy("benefits_example"))
    return tmp, sim, cur, shares


def _cents(x) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64) * 100).astype(np.int64)


def test_layers_equal_the_engine_and_sum_to_total_cost(run):
    _, sim, cur, shares = run
    layers = report_tables(sim)["patient_layers"].set_index("item")
    total = int(_cents(cur["total_cost"]).sum())
    for col, item in LAYER_ITEMS.items():
        assert _cents(layers.loc[item, "yuan"]) == _cents(shares[col]).sum(), col
    assert _cents(layers.loc["total cost", "yuan"]) == total
    # the identity, exactly in cents: basic + critical + assistance + safety net + oop = total
    assert int(_cents(layers["yuan"].iloc[:-1]).sum()) == total
    assert layers.loc["total cost", "share"] == 1.0
    assert layers["share"].iloc[:-1].sum() == pytest.approx(1.0, abs=1e-12)
    assert (layers["yuan"].iloc[:-1] > 0).all()  # every layer pays something in the sample


def test_by_level_equals_the_engine(run):
    _, sim, cur, shares = run
    lv = report_tables(sim)["patient_by_level"].set_index("hospital_level")
    level = cur["hospital_level"].astype(str).to_numpy()
    for lvl in ("1", "2", "3"):
        m = level == lvl
        assert lv.loc[lvl, "cases"] == m.sum()
        for col in LAYERS:
            assert _cents(lv.loc[lvl, col]) == _cents(shares[col])[m].sum(), (lvl, col)
        assert _cents(lv[list(LAYERS)].loc[lvl]).sum() == _cents(cur["total_cost"])[m].sum()
        basic = _cents(shares["basic"])[m].sum()
        assert lv.loc[lvl, "policy_ratio"] == pytest.approx(
            basic / _cents(shares["compliant"])[m].sum(), rel=1e-12)
    # lower levels carry a smaller patient share of their cost (the example policy's ratios)
    oop_share = lv["oop"] / lv["total_cost"]
    assert oop_share.loc["1"] < oop_share.loc["3"]


def test_patient_tables_by_hand():
    """Two cases, 10,000 each: the layers as given, total 20,000; shares of the total."""
    ov = pd.DataFrame({"total_cost": [20_000.00], "basic": [12_510.00], "critical": [1_000.10],
                       "assistance": [500.00], "safety_net": [0.0], "oop": [5_989.90]})
    t = patient_tables({"overall": ov, "by_hospital_level": pd.DataFrame()})["patient_layers"]
    assert list(t["yuan"]) == [12_510.00, 1_000.10, 500.00, 0.0, 5_989.90, 20_000.00]
    assert t["share"].iloc[0] == 0.6255 and t["share"].iloc[-1] == 1.0


def test_report_has_the_patient_side_in_both_languages(run):
    tmp, sim, _, _ = run
    write_report(sim, tmp / "zh", "zh")
    page = (tmp / "zh" / "report.html").read_text(encoding="utf-8")
    for w in ("患者负担-各层支出", "患者负担-按医院等级", "大病保险", "医疗救助", "兜底保障",
              "个人负担(元)", "各医院等级的费用分担"):
        assert w in page, w
    write_report(sim, tmp / "en", "en", csv_lang="en")
    page = (tmp / "en" / "report.html").read_text(encoding="utf-8")
    for w in ("patients - insurance layers", "critical illness insurance", "out-of-pocket (yuan)"):
        assert w in page, w
    from openpyxl import load_workbook

    wb = load_workbook(tmp / "zh" / "report.xlsx")
    ws = wb["患者负担-各层支出"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("项目", "金额(元)")
    assert [r[0] for r in rows[1:]] == ["统筹基金", "大病保险", "医疗救助", "兜底保障",
                                        "个人负担", "医疗总费用"]
    csv = pd.read_csv(tmp / "en" / "patient_by_level.csv")
    assert "out-of-pocket (yuan)" in csv.columns


def test_no_benefits_no_patient_tables(tmp_path):
    text = (DEMO / "scenario_demo.toml").read_text(encoding="utf-8")
    text = text[: text.index("[sweep]")].replace('cases = "cases.csv"',
                                                 f'cases = "{DEMO / "cases.csv"}"')
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    tables = report_tables(simulate_scenario(load_scenario(tmp_path / "s.toml")))
    assert "patient_layers" not in tables and "tiered_shift_fund" not in tables
