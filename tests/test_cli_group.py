"""drgsim group / explain / demo through the CLI."""

from __future__ import annotations

import json

import pandas as pd
from shared_data import ROOT
from typer.testing import CliRunner

import grouper
from drgsim.cli import app

runner = CliRunner()
CASES = ROOT / "sample_cases" / "cases.csv"
DEMO = grouper.demo_scheme_path()


def test_group_command_writes_what_group_returns(tmp_path, demo_scheme, sample_cases):
    want = grouper.group(sample_cases, demo_scheme)
    for ext in ("csv", "parquet"):
        out = tmp_path / f"g.{ext}"
        res = runner.invoke(app, ["group", str(CASES), "--scheme", str(DEMO), "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert "drgsim group: 13,887 cases" in res.output and "top DRGs" in res.output
        got = pd.read_parquet(out) if ext == "parquet" else pd.read_csv(out, dtype=str, keep_default_na=False)
        assert list(got["case_id"]) == list(want["case_id"])
        assert (got["drg"].astype(str).to_numpy() == want["drg"].astype(str).to_numpy()).all()
        assert (got["status"].astype(str).to_numpy() == want["status"].astype(str).to_numpy()).all()


def test_strict_and_bad_scheme(tmp_path):
    out = tmp_path / "s.csv"
    res = runner.invoke(app, ["group", str(CASES), "--scheme", str(DEMO), "-o", str(out), "--strict", "-q"])
    assert res.exit_code == 0
    assert pd.read_csv(out, dtype=str, keep_default_na=False)["warnings"].eq("").all()
    res = runner.invoke(app, ["group", str(CASES), "--scheme", str(tmp_path / "nope"), "-o", str(out)])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_explain_command(sample_cases, demo_scheme):
    cid = str(sample_cases["case_id"].iloc[5])
    res = runner.invoke(app, ["explain", str(CASES), "--scheme", str(DEMO), "-c", cid, "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    g = grouper.group(sample_cases.iloc[5:6], demo_scheme)
    assert d["case_id"] == cid and d["drg"] == g["drg"].iloc[0] and d["attempts"]
    res = runner.invoke(app, ["explain", str(CASES), "--scheme", str(DEMO), "-c", "no-such-case"])
    assert res.exit_code == 2 and "no-such-case" in res.output


def test_demo_runs_end_to_end(tmp_path):
    res = runner.invoke(app, ["demo", "-o", str(tmp_path / "demo")])
    assert res.exit_code == 0, res.output
    for name in ("grouped.csv", "priced.csv", "whatif.csv", "weights"):
        assert (tmp_path / "demo" / name).exists()
    priced = pd.read_csv(tmp_path / "demo" / "priced.csv")
    assert len(priced) == 4837  # the 2025 discharges of the sample region
    whatif = pd.read_csv(tmp_path / "demo" / "whatif.csv")
    assert whatif["scenario"].iloc[0] == "baseline" and len(whatif) == 6


def test_demo_settles_to_a_plausible_year(tmp_path):
    """The demo's budget is a fund amount with patient payments recorded: its point value stays
    near the pricing's and the region has hospitals on both sides (a pool read as total cost
    once made all 32 overspend at 86.9 yuan/point)."""
    res = runner.invoke(app, ["demo", "-o", str(tmp_path / "demo")])
    assert res.exit_code == 0, res.output
    base = pd.read_csv(tmp_path / "demo" / "whatif.csv").iloc[0]
    priced = pd.read_csv(tmp_path / "demo" / "priced.csv")
    ypp = (priced["payment"].sum() / priced["points"].sum())
    assert 0.9 < base["point_value"] / ypp < 1.1
    assert base["hospitals_surplus"] > 0 and base["hospitals_overspend"] > 0
