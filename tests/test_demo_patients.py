"""`drgsim demo` shows the patient side (issue 14 item 6): the sample region's benefit inputs
(sample_cases/benefits.csv) through payment's cost-sharing engine, written and summed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from drgsim.cli import app
from payment import cost_sharing, load_benefit_policy
from payment.benefit_summary import LAYERS, benefit_inputs

SAMPLES = Path(__file__).resolve().parents[1] / "sample_cases"


def _cents(x) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64) * 100).astype(np.int64)


def test_demo_writes_the_patient_side(tmp_path):
    res = CliRunner().invoke(app, ["demo", "-o", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "patients' side (benefits_example): 4,837 cases" in out
    assert "(§12 county B: 49.2%)" in out and "assistance categories" in out
    per_case = pd.read_csv(tmp_path / "d" / "patients.csv", dtype={"case_id": str})
    ben = pd.read_csv(SAMPLES / "benefits.csv", dtype={"case_id": str})
    direct = cost_sharing(benefit_inputs(ben), load_benefit_policy("benefits_example"))
    assert list(per_case["case_id"]) == list(ben["case_id"])  # one row per case, input order
    for col in (*LAYERS, "compliant", "deductible"):
        np.testing.assert_array_equal(_cents(per_case[col]), _cents(direct[col]), err_msg=col)
    # every case: total_cost = basic + critical + assistance + safety net + oop, to the cent
    np.testing.assert_array_equal(_cents(per_case[list(LAYERS)]).sum(axis=1),
                                  _cents(ben["total_cost"]))
    lv = pd.read_csv(tmp_path / "d" / "patients_by_level.csv").set_index("hospital_level")
    assert lv["cases"].sum() == len(ben)
    for lvl, g in ben.groupby("hospital_level"):
        assert _cents(lv.loc[lvl, list(LAYERS)]).sum() == _cents(g["total_cost"]).sum()
    # the hospital side is as before: priced.csv holds the 2025 cases at recorded payments
    priced = pd.read_csv(tmp_path / "d" / "priced.csv", dtype={"case_id": str})
    assert list(priced["case_id"]) == list(ben["case_id"])


def test_demo_bad_benefit_policy_is_a_user_error(tmp_path):
    res = CliRunner().invoke(app, ["demo", "-o", str(tmp_path / "d"), "-b", "no_such_preset"])
    assert res.exit_code == 2, res.output
    assert "no_such_preset" in res.output
    assert not (tmp_path / "d" / "grouped.csv").exists()  # refused before any work
