"""Reports: every table lands in CSV, HTML and Excel; the HTML needs no network; figures tie."""

from __future__ import annotations

import importlib
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest
from test_scenario import POLICY, synthetic_priced

from payment.report import case_class_mix, write_report
from payment.scenario import MonteCarloSpec, Scenario, simulate


@pytest.fixture(scope="module")
def sim():
    priced = synthetic_priced(n=1500, n_hosp=8, seed=3)
    scn = Scenario(name="t", priced_cases="unused.parquet",
                   sweep={"settlement.reserve_rate": [0.02, 0.08]},
                   monte_carlo=MonteCarloSpec(draws=40, seed=1,
                                              volume_growth={"dist": "normal", "sd": 0.02}))
    return simulate(scn, priced=priced, policy=POLICY)


def test_scenarios_table(sim):
    sc = sim.scenarios
    assert sc["scenario"].tolist() == ["baseline", "reserve_rate=0.02",
                                       "reserve_rate=0.08"]
    assert {"point_value", "fund_balance", "paid", "hospitals_surplus", "hospitals_overspend",
            "largest_loss", "largest_loss_hospital"} <= set(sc.columns)
    # a bigger reserve leaves less for the point value
    assert sc["point_value"][2] < sc["point_value"][1]


def test_write_report_files_tie(sim, tmp_path):
    paths = write_report(sim, tmp_path)
    names = {p.name for p in paths}
    assert {"report.html", "report.xlsx", "statements.csv", "scenarios.csv", "ledger.csv",
            "mc_percentiles.csv", "sweep.csv"} <= names
    st = pd.read_csv(tmp_path / "statements.csv")
    led = pd.read_csv(tmp_path / "ledger.csv").set_index("item")["yuan"]
    assert round(st["final_amount"].sum(), 2) == round(led["paid to hospitals"], 2)
    assert np.allclose(st["advances"] + st["clearing"], st["final_amount"], atol=1e-6)

    wb = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    assert {"scenarios", "statements", "advances", "ledger", "mc_percentiles"} <= set(
        wb.sheetnames)
    rows = list(wb["statements"].iter_rows(values_only=True))
    header = rows[0]
    col = header.index("final_amount")
    assert round(sum(r[col] for r in rows[1:]), 2) == round(led["paid to hospitals"], 2)

    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", page)  # nothing fetched at view time
    assert page.count("Plotly.newPlot") >= 4
    assert page.count("plotly.js v") == 1  # the library is embedded exactly once
    for title in ("Surplus (+)", "Settlement point value over draws",
                  "Case-class mix", "CMI against payment ratio"):
        assert title in page


def test_case_class_mix_counts(sim):
    mix = case_class_mix(sim.priced)
    total = mix.drop(columns="hospital_id").to_numpy().sum()
    assert total == len(sim.priced)


def test_cli_simulate(tmp_path, sim):
    try:
        cli = importlib.import_module("drgsim.cli")
    except ModuleNotFoundError as exc:  # another command module not merged yet
        pytest.skip(f"drgsim.cli not importable yet: {exc}")
    from typer.testing import CliRunner

    sim.priced.to_parquet(tmp_path / "priced.parquet")
    (tmp_path / "s.toml").write_text(
        'name = "cli"\npriced_cases = "priced.parquet"\n'
        '[overrides.settlement]\nreserve_rate = 0.04\n'
        '[sweep]\n"settlement.advance_ratio" = [0.8, 0.9]\n'
        '[monte_carlo]\ndraws = 20\n', encoding="utf-8")
    res = CliRunner().invoke(cli.app, ["simulate", str(tmp_path / "s.toml"), "-o",
                                       str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 0, res.output
    sc = pd.read_csv(tmp_path / "out" / "scenarios.csv")
    assert len(sc) == 3
    assert (tmp_path / "out" / "report.html").exists()
