"""Patients' side summed up (§9 last paragraph) and `drgsim benefits`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from drgsim import cli
from payment import cost_sharing, load_benefit_policy
from payment.benefit_summary import (
    benefit_inputs,
    oop_thresholds,
    patient_paid,
    person_years,
    summaries,
    summarise,
)

EXPORT = """病案号,患者编号,医院编码,医院等级,总费用,出院日期,险种,人员类别,转诊标志,异地就医备案,全自费金额,乙类先行自付
A1,P1,H1,1,3000.00,2025-01-10,居民,普通,,,,
A2,P1,H3,3,60000.00,2025-03-02,居民,普通,上转,,2000,1000
A3,P2,H2,2,12000.50,2025-02-01,职工,退休,,已备案,,
A4,P3,H3,3,250000,2025-05-05,居民,低保,,,5000,3000
"""


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("b") / "export.csv"
    p.write_text(EXPORT, encoding="utf-8")
    return p


def _shares(rows):
    df = pd.DataFrame(rows, columns=["case_id", "hospital_level", "total_cost", "compliant",
                                     "basic", "critical", "assistance", "safety_net", "oop"])
    return df, df[["case_id", "compliant", "basic", "critical", "assistance", "safety_net", "oop"]]


def test_benefit_inputs_maps_headers_and_codes():
    raw = pd.read_csv(pd.io.common.StringIO(EXPORT), dtype=str, keep_default_na=False,
                      na_values=[""])
    df = benefit_inputs(raw)
    assert {"case_id", "patient_id", "hospital_level", "insurance", "category", "referral",
            "out_of_area", "self_pay", "partial_self_pay"} <= set(df.columns)
    assert df["insurance"].tolist() == ["resident", "resident", "employee", "resident"]
    assert df["category"].tolist() == ["general", "general", "retiree", "dibao"]
    assert df["referral"].tolist()[1] == "up" and pd.isna(df["referral"].tolist()[0])
    assert df["out_of_area"].tolist()[2] == "filed"


def test_summarise_by_hand():
    cases, shares = _shares([
        ("a", 1, 1000.00, 900.00, 600.00, 0.00, 0.00, 0.00, 400.00),
        ("b", 1, 500.10, 500.10, 0.00, 0.00, 0.00, 0.00, 500.10),
        ("c", 3, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00),
    ])
    s = summarise(cases, shares, "hospital_level").set_index("hospital_level")
    assert s.loc["1", "cases"] == 2 and s.loc["1", "total_cost"] == 1500.10
    assert s.loc["1", "oop"] == 900.10
    assert math.isclose(s.loc["1", "actual_ratio"], 600 / 1500.10)
    assert math.isclose(s.loc["1", "policy_ratio"], 600 / 1400.10)
    assert np.isnan(s.loc["3", "actual_ratio"]) and np.isnan(s.loc["3", "policy_ratio"])
    assert summarise(cases, shares)["cases"].tolist() == [3]
    assert patient_paid(cases, shares).tolist() == [400.00, 500.10, 0.00]
    with pytest.raises(ValueError, match="3 cases but 2 cost-sharing rows"):
        summarise(cases, shares.iloc[:2])


def test_person_years_and_thresholds(export):
    df = benefit_inputs(pd.read_csv(export, dtype=str, keep_default_na=False, na_values=[""]))
    shares = cost_sharing(df, load_benefit_policy("benefits_example"))
    py = person_years(df, shares)
    assert py["patient_id"].tolist() == ["P1", "P2", "P3"]
    assert py["admissions"].tolist() == [2, 1, 1]
    p1 = shares["oop"][:2].sum()
    assert py.loc[0, "oop"] == round(p1, 2)
    th = oop_thresholds(py, [10_000.0])
    assert th["persons_above"].tolist() == [int((py["oop"] > 10_000).sum())]
    # Every layer and the patient add up to the total cost, case by case and in the totals.
    tabs = summaries(df, shares)
    ov = tabs["overall"].iloc[0]
    parts = ov[["basic", "critical", "assistance", "safety_net", "oop"]].sum()
    assert round(parts, 2) == round(ov["total_cost"], 2) == 325000.50
    assert {"by_hospital", "by_hospital_level", "by_insurance", "by_category"} <= set(tabs)
    assert tabs["by_insurance"]["cases"].sum() == 4


def test_cli_benefits_folder_and_workbook(export, tmp_path):
    r = CliRunner().invoke(cli.app, ["benefits", str(export), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    per = pd.read_csv(tmp_path / "out" / "cases.csv", dtype={"case_id": str})
    assert per["case_id"].tolist() == ["A1", "A2", "A3", "A4"]  # input order, every case
    # §9 by hand: A1 resident level 1, deductible 300, 85 % of 2,700 = 2,295.00.
    assert per.loc[0, "deductible"] == 300.0 and per.loc[0, "basic"] == 2295.0
    # A2 up-referred: 900 − the 300 charged on the stay before; 60 % of (57,000 − 600).
    assert per.loc[1, "deductible"] == 600.0 and per.loc[1, "basic"] == 33840.0
    total = per[["basic", "critical", "assistance", "safety_net", "oop"]].sum(axis=1).round(2)
    assert (total == per["total_cost"]).all()
    r = CliRunner().invoke(cli.app, ["benefits", str(export), "-o", str(tmp_path / "b.xlsx")])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(tmp_path / "b.xlsx")
    assert wb.sheetnames[:3] == ["病例明细", "总体", "按医院"]
    head = [c.value for c in wb["病例明细"][1]]
    assert "统筹基金支付(元)" in head and "个人负担(元)" in head


def test_cli_benefits_bad_code_is_a_user_error(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(EXPORT.replace("职工,退休", "职工,董事"), encoding="utf-8")
    r = CliRunner().invoke(cli.app, ["benefits", str(p), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2
    msg = " ".join(r.output.split())
    # the header and the row as the export has them (A3 is spreadsheet row 4)
    assert f"{p}: column '人员类别': unknown code '董事'" in msg and "(first in row 4)" in msg
    assert not (tmp_path / "o").exists()  # nothing that looks complete


SAMPLES = Path(__file__).resolve().parents[1] / "sample_cases"


def test_sample_benefits_regenerate_identically_and_refer_to_real_stays(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("_gen_benefits", SAMPLES / "generate_benefits.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    path = gen.main(tmp_path)
    assert path.read_bytes() == (SAMPLES / "benefits.csv").read_bytes()
    b = pd.read_csv(SAMPLES / "benefits.csv", dtype=str, keep_default_na=False)
    cases = pd.read_csv(SAMPLES / "cases.csv", dtype=str)
    assert b["case_id"].tolist() == cases.loc[cases["year"] == "2025", "case_id"].tolist()
    b = b.sort_values(["patient_id", "discharge_date", "case_id"])
    prev_level = b.groupby("patient_id")["hospital_level"].shift()
    up = b["referral"] == "up"
    assert up.sum() > 0 and (b.loc[up, "hospital_level"] > prev_level[up]).all()
    down = b["referral"] == "down"
    assert (b.loc[down, "hospital_level"] < prev_level[down]).all()
    assert set(b["category"]) >= {"general", "retiree", "minor", "tekun", "dibao", "dibian", "fanpin"}


def test_sample_region_layers_add_up():
    df = benefit_inputs(pd.read_csv(SAMPLES / "benefits.csv", dtype=str, keep_default_na=False,
                                    na_values=[""]))
    shares = cost_sharing(df, load_benefit_policy("benefits_example"))
    assert len(shares) == len(df) == 4837
    parts = shares[["basic", "critical", "assistance", "safety_net", "oop"]].sum(axis=1).round(2)
    assert (parts == pd.to_numeric(df["total_cost"]).round(2)).all()
    ov = summaries(df, shares)["overall"].iloc[0]
    # The bundled region pays about 60 % of inpatient cost in all layers (§12: county B 49 %).
    assert 0.5 < ov["actual_ratio"] < 0.75
