"""``drgsim dip build`` / ``drgsim dip group`` end to end on a small synthetic history."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import grouper
from grouper.dip.synth import synthetic_history

try:
    from drgsim.cli.dip import dip_app
except ModuleNotFoundError as e:  # a sibling command module of drgsim.cli not written yet
    if not str(e.name or "").startswith("drgsim.cli."):
        raise
    pytest.skip(f"drgsim.cli cannot be imported yet: {e}", allow_module_level=True)

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("dipcli")
    scheme = grouper.demo_scheme_path()
    h = synthetic_history(grouper.load_scheme(scheme), 3000, n_templates=300, seed=3)
    h.loc[0, "diagnoses"] = "NOT.A.CODE"
    h.to_csv(d / "history.csv", index=False)
    return d, scheme


def test_build_then_group(files):
    d, scheme = files
    r = runner.invoke(dip_app, ["build", str(d / "history.csv"), "-o", str(d / "cat"), "--scheme", str(scheme),
                                "--core-threshold", "10", "--trim", "iqr", "--year-weights", "1:2:7", "-q"])
    assert r.exit_code == 0, r.output
    assert "core share of cases" in r.output and "groups" in r.output
    m = json.loads((d / "cat" / "manifest.json").read_text(encoding="utf-8"))
    assert m["config"]["core_threshold"] == 10 and m["config"]["trim"] == "iqr"
    assert m["counts"]["invalid"] == 1
    r = runner.invoke(dip_app, ["group", str(d / "history.csv"), "--catalogue", str(d / "cat"), "-o", str(d / "out.csv"), "-q"])
    assert r.exit_code == 0, r.output
    out = pd.read_csv(d / "out.csv", dtype=str, keep_default_na=False)
    assert list(out.columns) == ["case_id", "status", "dip_group", "dip_type", "score", "aux_level", "aux_coefficient", "final_score"]
    assert len(out) == 3000 and out["status"].iloc[0] == "ZD_NOT_MAPPING"
    assert "unmatched" in r.output and "ZD_NOT_MAPPING" in r.output
    # Every valid history case finds its group again.
    assert (out.loc[out["status"] == "SUCCESS", "dip_type"] != "unmatched").all()


def test_bad_options_and_bad_catalogue(files):
    d, scheme = files
    r = runner.invoke(dip_app, ["build", str(d / "history.csv"), "-o", str(d / "x"), "--scale", "10", "-q"])
    assert r.exit_code == 2 and "scale" in r.output
    r = runner.invoke(dip_app, ["group", str(d / "history.csv"), "--catalogue", str(d / "missing"), "-o", str(d / "o.csv"), "-q"])
    assert r.exit_code == 2 and "manifest.json" in r.output


def test_help_lists_commands():
    r = runner.invoke(dip_app, ["--help"])
    assert r.exit_code == 0 and "build" in r.output and "group" in r.output
