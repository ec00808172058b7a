"""The application-layer pipeline: raw cases → group → weigh → price → settle, in one place."""

from pathlib import Path

import pandas as pd
import pytest

import grouper
import payment
from drgsim.pipeline import price_grouped, simulate_scenario
from payment.scenario import load_scenario, simulate

DEMO = Path(__file__).resolve().parents[1] / "sample_cases"


@pytest.fixture(scope="module")
def grouped() -> pd.DataFrame:
    sch = grouper.load_scheme(grouper.demo_scheme_path())
    return grouper.group(grouper.read_cases(DEMO / "cases.csv"), sch, keep_columns=True)


def test_price_grouped_weighs_history_and_prices_the_newest_year(grouped):
    pol = payment.load_policy("national_drg")
    py = price_grouped(grouped, pol)
    assert py.year == int(grouped["year"].max())
    cur = grouped[grouped["year"] == py.year].reset_index(drop=True)
    # The same chain written out by hand gives the same table, row for row.
    hand = payment.price(cur, payment.compute_weights(grouped[grouped["year"] < py.year], pol), pol)
    assert len(py.priced) == len(cur)
    assert py.priced["case_id"].tolist() == cur["case_id"].tolist()
    pd.testing.assert_series_equal(py.priced["payment"], hand["payment"])
    assert (py.priced["patient_paid"].to_numpy() == cur["patient_paid"].to_numpy()).all()


def test_price_grouped_without_history_names_the_input(grouped):
    pol = payment.load_policy("national_drg")
    first = int(grouped["year"].min())
    with pytest.raises(ValueError, match=f"demo cases: no cases before {first}"):
        price_grouped(grouped, pol, first, label="demo cases")


def test_pricing_key_in_the_grid_reprices_the_raw_cases(tmp_path):
    text = (DEMO / "scenario_demo.toml").read_text(encoding="utf-8")
    text = text[: text.index("[sweep]")] + '[sweep]\n"outliers.low_multiple" = [0.3, 0.5]\n'
    # An absolute `cases` path: the scenario file lives elsewhere.
    text = text.replace('cases = "cases.csv"', f"cases = '{DEMO / 'cases.csv'}'")
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    scn = load_scenario(path)
    sim = simulate_scenario(scn)
    assert sim.sweep["outliers.low_multiple"].tolist() == [0.3, 0.5]
    # A higher low-multiple bound makes more cases low-multiple: the grid rows differ.
    a, b = sim.sweep["paid"].tolist()
    assert a != b
    # payment alone cannot re-price raw cases and says so instead of silently reusing them.
    with pytest.raises(ValueError, match="raw `cases`"):
        simulate(scn)
    with pytest.raises(ValueError, match="read by pricing"):
        simulate(scn, priced=sim.priced)
