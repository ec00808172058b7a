"""`drgsim compare`: two runs side by side, B − A, no hospital dropped."""

from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from test_scenario import synthetic_priced
from typer.testing import CliRunner

from drgsim import cli
from payment.comparison import HEADLINE, RunTables, compare_runs, read_run
from payment.labels import localise


def _run(name, pv, hospitals):
    sc = pd.DataFrame([{m: 0.0 for m in HEADLINE} | {"scenario": "baseline", "point_value": pv}])
    st = pd.DataFrame([{"hospital_id": h, "final_amount": f, "result": r, "entitlement": e}
                       for h, f, r, e in hospitals])
    return RunTables(name, sc, st)


def test_compare_runs_by_hand():
    a = _run("a", 100.0, [("H1", 1000.00, -10.0, 900.0), ("H2", 500.10, 5.0, 400.0)])
    b = _run("b", 110.0, [("H2", 600.35, 7.5, 450.0), ("H3", 20.00, 0.0, 20.0)])
    c = compare_runs(a, b)
    pv = c.summary.set_index("metric").loc["point_value"]
    assert (pv["a"], pv["b"], pv["diff"]) == (100.0, 110.0, 10.0)
    assert math.isclose(pv["diff_pct"], 0.1)
    assert math.isnan(c.summary.set_index("metric").loc["paid", "diff_pct"])  # A is 0
    h = c.hospitals.set_index("hospital_id")
    assert list(h.index) == ["H1", "H2", "H3"]  # outer join: every hospital of either run
    assert h.loc["H2", "final_amount_diff"] == 100.25
    assert math.isclose(h.loc["H2", "final_amount_diff_pct"], 100.25 / 500.10)
    assert np.isnan(h.loc["H1", "final_amount_b"]) and np.isnan(h.loc["H3", "final_amount_a"])


def test_compare_names_a_missing_column():
    a = _run("a", 1.0, [("H1", 1.0, 0.0, 1.0)])
    bad = RunTables("b", a.scenarios, a.statements.drop(columns="final_amount"))
    with pytest.raises(ValueError, match=r"b: the statements lack columns \['final_amount'\]"):
        compare_runs(a, bad)


def test_read_run_accepts_labelled_headers(tmp_path):
    a = _run("a", 117.5, [("H1", 10.0, 1.0, 9.0)])
    localise(a.scenarios, "zh").to_csv(tmp_path / "scenarios.csv", index=False,
                                       encoding="utf-8-sig")
    localise(a.statements, "en").to_csv(tmp_path / "statements.csv", index=False)
    r = read_run(tmp_path)
    assert r.scenarios.loc[0, "point_value"] == 117.5
    assert r.statements.loc[0, "final_amount"] == 10.0
    with pytest.raises(FileNotFoundError, match="simulate` output folder"):
        read_run(tmp_path / "nothing")


def test_cli_compare_two_simulations(tmp_path):
    synthetic_priced(n=800, n_hosp=5, seed=2).to_parquet(tmp_path / "priced.parquet")
    runner = CliRunner()
    for name, growth in (("a", 0.0), ("b", 0.05)):
        (tmp_path / f"{name}.toml").write_text(
            f'name = "{name}"\npriced_cases = "priced.parquet"\n'
            f'[overrides.settlement.budget]\nmode = "growth"\ngrowth = {growth}\n',
            encoding="utf-8")
        res = runner.invoke(cli.app, ["simulate", str(tmp_path / f"{name}.toml"), "-o",
                                      str(tmp_path / name), "-q"])
        assert res.exit_code == 0, res.output
    res = runner.invoke(cli.app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"),
                                  "-o", str(tmp_path / "cmp"), "--lang", "en"])
    assert res.exit_code == 0, res.output
    sa = pd.read_csv(tmp_path / "a" / "scenarios.csv")
    sb = pd.read_csv(tmp_path / "b" / "scenarios.csv")
    summ = pd.read_csv(tmp_path / "cmp" / "summary.csv").set_index("metric")
    assert summ.loc["budget", "diff"] == pytest.approx(sb.loc[0, "budget"] - sa.loc[0, "budget"])
    assert summ.loc["budget", "diff_pct"] == pytest.approx(0.05, abs=1e-9)
    hosp = pd.read_csv(tmp_path / "cmp" / "hospitals.csv")
    st_a = pd.read_csv(tmp_path / "a" / "statements.csv")
    st_b = pd.read_csv(tmp_path / "b" / "statements.csv")
    assert len(hosp) == len(st_a) == 5
    assert hosp["final_amount_diff"].sum() == pytest.approx(
        st_b["final_amount"].sum() - st_a["final_amount"].sum(), abs=0.011)
    wb = openpyxl.load_workbook(tmp_path / "cmp" / "comparison.xlsx", read_only=True)
    assert wb.sheetnames == ["summary", "hospitals"]
    page = (tmp_path / "cmp" / "comparison.html").read_text(encoding="utf-8")
    assert "Headline figures" in page and "point value (yuan/point)" in page
    # A folder that is not a run is a user error (exit 2), not a traceback.
    res = runner.invoke(cli.app, ["compare", str(tmp_path / "a"), str(tmp_path)])
    assert res.exit_code == 2
    assert "output folder?" in " ".join(res.output.split())  # wrapped at any terminal width
