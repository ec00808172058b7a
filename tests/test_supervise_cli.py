"""drgsim supervise: the three CSVs with their stable columns, HTML and Excel, errors exit 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from drgsim import cli

SAMPLE = Path(__file__).resolve().parent.parent / "sample_cases" / "cases.csv"


@pytest.fixture(scope="module")
def years(tmp_path_factory):
    d = tmp_path_factory.mktemp("sup")
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    df[df.year == "2023"].to_csv(d / "h.csv", index=False)
    df[df.year == "2024"].head(1500).to_csv(d / "c.csv", index=False)
    return d


def test_supervise_writes_tables_and_report(years):
    out = years / "out"
    res = CliRunner().invoke(cli.app, ["supervise", str(years / "c.csv"), "--scheme", "demo",
                                       "--history", str(years / "h.csv"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    idx = pd.read_csv(out / "indices.csv")
    assert list(idx.columns[:8]) == ["hospital_id", "cases", "grouping_rate", "drg_count", "cmi",
                                     "cost_index", "time_index", "low_risk_mortality"]
    assert idx.cases.sum() == 1500
    hs = pd.read_csv(out / "hospital_signals.csv", dtype={"flagged": str})
    assert list(hs.columns[:6]) == ["hospital_id", "signal", "value", "peer_value", "score",
                                    "flagged"]
    assert set(hs.signal) == {"split_admission", "upcoding", "low_standard_admission",
                              "patient_selection", "restricted_code"}
    assert set(hs.flagged) <= {"true", "false"}
    cf = pd.read_csv(out / "case_flags.csv", dtype=str)
    assert list(cf.columns[:3]) == ["case_id", "signal", "detail"]
    split = cf[cf.signal == "split_admission"]
    # both stays of a pair are listed, each naming the other
    assert set(split.case_id) == set(split.other_case_id)
    assert all(o in d for o, d in zip(split.other_case_id, split.detail))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "分解住院" in page and "入组说明" in page
    assert (out / "report.xlsx").stat().st_size > 0
    dept = pd.read_csv(out / "indices_dept.csv")
    assert list(dept.columns[:3]) == ["hospital_id", "dept", "cases"] and dept.cases.sum() == 1500


def test_supervise_english_and_errors(years):
    out = years / "en"
    res = CliRunner().invoke(cli.app, ["supervise", str(years / "c.csv"), "-s", "demo", "-o",
                                       str(out), "--lang", "en", "-q"])
    assert res.exit_code == 0, res.output
    assert "split admission" in (out / "report.html").read_text(encoding="utf-8")
    bad = CliRunner().invoke(cli.app, ["supervise", str(years / "c.csv"), "-s", "demo", "-o",
                                       str(years / "x"), "--lang", "fr"])
    assert bad.exit_code == 2 and not (years / "x").exists()
    pol = years / "p.toml"
    pol.write_text("[supervision.upcoding]\nflag_score = -1\n", encoding="utf-8")
    bad = CliRunner().invoke(cli.app, ["supervise", str(years / "c.csv"), "-s", "demo", "-o",
                                       str(years / "y"), "-p", str(pol)])
    assert bad.exit_code == 2 and "supervision.upcoding.flag_score" in bad.output
