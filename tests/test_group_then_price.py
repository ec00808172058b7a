"""`drgsim group` output prices as it is; pricing without cost or stay says so (issue 13)."""

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import grouper
import payment
from drgsim.cli import app

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "sample_cases" / "cases.csv"


def test_grouped_output_is_priceable_and_bare_groups_are_refused(tmp_path, sample_cases, demo_scheme):
    pol = payment.load_policy("national_drg")
    grouped = grouper.group(sample_cases, demo_scheme, keep_columns=True)
    w = payment.compute_weights(grouped[grouped["year"] < 2025], pol)
    w.save(tmp_path / "w")
    r = CliRunner().invoke(app, ["group", str(CASES), "-s", str(demo_scheme.path), "-o",
                                 str(tmp_path / "g.csv"), "-q"])
    assert r.exit_code == 0, r.output
    g = pd.read_csv(tmp_path / "g.csv", dtype={"case_id": str})
    g[g["year"] == 2025].to_csv(tmp_path / "g25.csv", index=False)
    r = CliRunner().invoke(app, ["price", str(tmp_path / "g25.csv"), "-w", str(tmp_path / "w"),
                                 "-p", "national_drg", "-o", str(tmp_path / "p.csv"), "-q"])
    assert r.exit_code == 0, r.output
    priced = pd.read_csv(tmp_path / "p.csv")
    assert len(priced) == (g["year"] == 2025).sum() and priced["payment"].sum() > 0
    bare = grouper.group(sample_cases, demo_scheme)
    with pytest.raises(KeyError, match="'hospital_id', 'total_cost', 'los'"):
        payment.price(bare, w, pol)
