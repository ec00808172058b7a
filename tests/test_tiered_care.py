"""Tiered-care what-ifs: benefit overrides and a shift of cases between levels (§9)."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from payment import load_benefit_policy
from payment.tiered_care import LevelShift, shift_cases, tiered_care

POLICY = load_benefit_policy("benefits_example")


def _cases(n_extra: int = 0) -> pd.DataFrame:
    rows = [("K1", "P1", "H3", 3, 10_000.00), ("K2", "P2", "H2", 2, 4_000.00)]
    rows += [(f"X{i:04d}", f"Q{i}", "H3", 3, 5_000.00) for i in range(n_extra)]
    df = pd.DataFrame(rows, columns=["case_id", "patient_id", "hospital_id", "hospital_level",
                                     "total_cost"])
    df["year"] = 2025
    df["insurance"] = "resident"
    return df


def test_one_case_moved_by_hand():
    shift = LevelShift(share=1.0, from_level=3, to_level=2, cost_factor=0.8)
    r = tiered_care(_cases(), POLICY, shift=shift)
    assert r.moved == 1
    lay = r.layers.set_index("metric")
    # Baseline: K1 at level 3, resident deductible 900, 60 % of 9,100 = 5,460;
    # K2 level 2, deductible 600, 75 % of 3,400 = 2,550.
    assert lay.loc["basic", "baseline"] == 5_460.00 + 2_550.00
    # Variant: K1 at level 2 for 8,000: 75 % of (8,000 − 600) = 5,550.
    assert lay.loc["basic", "variant"] == 5_550.00 + 2_550.00
    assert lay.loc["total_cost", "diff"] == pytest.approx(-2_000.00)
    vol = r.volumes.set_index("hospital_id")
    assert vol.loc["H2", "cases_variant"] == 2 and vol.loc["H3", "cases_variant"] == 0


def test_overrides_change_only_the_variant():
    r = tiered_care(_cases(), POLICY, {"deductible": {"resident": [300, 600, 500]}})
    lay = r.layers.set_index("metric")
    assert lay.loc["basic", "baseline"] == 8_010.00
    # K1 now pays a 500 deductible: 60 % of 9,500 = 5,700.
    assert lay.loc["basic", "variant"] == 5_700.00 + 2_550.00
    assert r.moved == 0


def test_shift_is_a_property_of_the_case_not_of_the_row_order():
    df = _cases(400)
    shift = LevelShift(share=0.25, from_level=3, to_level=2)
    a, moved = shift_cases(df, shift)
    assert 60 < moved.sum() < 140  # about a quarter of the 401 level-3 cases
    b, moved_b = shift_cases(df.iloc[::-1].reset_index(drop=True), shift)
    assert set(a.loc[moved, "case_id"]) == set(b.loc[moved_b, "case_id"])
    assert (a.loc[moved, "hospital_level"] == 2).all() and (a.loc[moved, "hospital_id"] == "H2").all()
    assert a["case_id"].tolist() == df["case_id"].tolist()  # every row, in order


def test_bad_shifts_are_refused():
    with pytest.raises(ValidationError, match="must differ"):
        LevelShift(share=0.1, from_level=2, to_level=2)
    with pytest.raises(ValidationError):
        LevelShift(share=1.5, from_level=3, to_level=2)
    with pytest.raises(ValueError, match="no hospital at level 1"):
        shift_cases(_cases(), LevelShift(share=1.0, from_level=3, to_level=1))
    with pytest.raises(ValueError, match="needs a 'drg' column"):
        shift_cases(_cases(), LevelShift(share=1.0, from_level=3, to_level=2, groups=("ES1",)))


def test_cli_benefits_whatif(tmp_path):
    from pathlib import Path

    from typer.testing import CliRunner

    from drgsim import cli

    sample = Path(__file__).resolve().parents[1] / "sample_cases" / "benefits.csv"
    wi = tmp_path / "tc.toml"
    wi.write_text('name = "t"\n[overrides.deductible]\nresident = [300, 400, 900]\n'
                  "[shift]\nshare = 0.2\nfrom_level = 3\nto_level = 2\n", encoding="utf-8")
    r = CliRunner().invoke(cli.app, ["benefits", str(sample), "--whatif", str(wi),
                                     "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    lv = pd.read_csv(tmp_path / "out" / "tiered_by_level.csv")
    assert lv["cases_diff"].sum() == 0  # cases move, none is lost
    assert lv.set_index("hospital_level").loc[3, "cases_diff"] < 0
    lay = pd.read_csv(tmp_path / "out" / "tiered_layers.csv").set_index("metric")
    parts = lay.loc[["basic", "critical", "assistance", "safety_net", "oop"], "variant"].sum()
    assert round(parts, 2) == round(lay.loc["total_cost", "variant"], 2)
    wi.write_text("[shift]\nshare = 2\nfrom_level = 3\nto_level = 2\n", encoding="utf-8")
    r = CliRunner().invoke(cli.app, ["benefits", str(sample), "--whatif", str(wi),
                                     "-o", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "shift.share" in r.output
