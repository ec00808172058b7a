"""A scenario's `[tiered_shift]`: the hospital side of a tiered-care shift through
`drgsim simulate` (issue 14 item 5), hand-computed on a tiny region."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from drgsim.cli import app
from drgsim.pipeline import simulate_scenario
from payment.patient_report import shift_tables
from payment.report import report_tables, write_report
from payment.scenario import load_scenario

#: one clean sample case (pneumonia without CC, ES15 with the demo scheme) as a template
TEMPLATE = {"sex": 1, "age": 51, "dept": "RESP", "los": 6, "discharge_mode": 1,
            "diagnoses": "J18.900|Z95.501|D64.900|M81.900", "procedures": "",
            "patient_paid": 0.0, "new_tech_cost": 0.0, "alliance_id": "",
            "insurance": "resident"}

POLICY = """
name = "tiny"
policy = "national_drg"
cases = "cases.csv"
year = 2025
{extra}
[overrides.coefficients]
mode = "none"
[overrides.point_value]
reserve_rate = 0.05
reimbursement_ratio = 1.0
[overrides.settlement]
tiers = []
[overrides.settlement.assessment]
deposit_rate = 0.0
[overrides.settlement.budget]
mode = "amount"
amount = 60000.0

[tiered_shift]
share = 1.0
from_level = 3
to_level = 2
cost_factor = 0.8
"""


def _region(tmp: Path, extra: str = "") -> Path:
    """2024: six cases at H3 (level 3) and six at H2 (level 2); 2025: four at H3, two at H2;
    every case 10,000 yuan, one group, so RW = 1.0 and 100 points a case."""
    rows = []
    spec = [(2024, "H3", 3)] * 6 + [(2024, "H2", 2)] * 6 + [(2025, "H3", 3)] * 4 + \
        [(2025, "H2", 2)] * 2
    for i, (year, h, lvl) in enumerate(spec):
        rows.append({**TEMPLATE, "case_id": f"C{year}{i:03d}", "hospital_id": h,
                     "hospital_level": lvl, "patient_id": f"P{i:03d}", "total_cost": 10_000.0,
                     "admission_date": f"{year}-03-{i % 20 + 1:02d}",
                     "discharge_date": f"{year}-03-{i % 20 + 7:02d}", "year": year})
    pd.DataFrame(rows).to_csv(tmp / "cases.csv", index=False)
    (tmp / "s.toml").write_text(POLICY.format(extra=extra), encoding="utf-8")
    return tmp / "s.toml"


def test_shift_in_a_scenario_by_hand(tmp_path):
    """Budget 60,000, reserve 3,000 → PV 57,000 ÷ 600 points = 95 on both sides. Baseline:
    H3 4 × 100 × 95 = 38,000, H2 19,000; all four H3 cases moved to H2 at 0.8 of the cost
    (r 0.8, still normal, 100 points): H2 57,000, H3 0. The fund pays 57,000 both times."""
    sim = simulate_scenario(load_scenario(_region(tmp_path)))
    s = sim.tiered_shift
    assert s is not None and s.moved == 4
    t = shift_tables(s)
    h = t["tiered_shift_hospitals"].set_index("hospital_id")
    assert h.loc["H3", "final_amount_baseline"] == 38_000.00
    assert h.loc["H2", "final_amount_baseline"] == 19_000.00
    assert h.loc["H3", "final_amount_variant"] == 0.0
    assert h.loc["H2", "final_amount_variant"] == 57_000.00
    assert h.loc["H2", "final_amount_diff"] == 38_000.00
    assert h.loc["H3", "final_amount_diff"] == -38_000.00
    assert h.loc["H2", "cases_variant"] == 6 and h.loc["H3", "cases_variant"] == 0
    assert h.loc["H2", "total_cost_variant"] == 20_000.00 + 4 * 8_000.00
    assert h.loc["total", "final_amount_baseline"] == 57_000.00
    assert h.loc["total", "final_amount_diff"] == 0.0
    f = t["tiered_shift_fund"].set_index("item")
    assert f.loc["paid to hospitals", "baseline"] == 57_000.00
    assert f.loc["paid to hospitals", "variant"] == 57_000.00
    assert f.loc["reserve kept", "baseline"] == 3_000.00
    # the shift's baseline is the scenario's own baseline settlement
    st = sim.baseline.statement.set_index("hospital_id")["final_amount"]
    assert st.to_dict() == {"H2": 19_000.0, "H3": 38_000.0}


def test_shift_with_benefits_by_hand(tmp_path):
    """benefits_example, residents: level 3 deductible 900, 60 % of 9,100 = 5,460 basic →
    patient_paid 4,540; level 2: 600, 75 % of 9,400 = 7,050 → 2,950; a moved case at level 2
    costs 8,000: 600, 75 % of 7,400 = 5,550 → 2,450. Entitlement = points × 95 − patient paid:
    baseline H3 38,000 − 4 × 4,540 = 19,840, H2 19,000 − 2 × 2,950 = 13,100 (fund 32,940);
    variant H2 57,000 − 2 × 2,950 − 4 × 2,450 = 41,300."""
    sim = simulate_scenario(load_scenario(_region(tmp_path, 'benefits = "benefits_example"')))
    t = shift_tables(sim.tiered_shift)
    h = t["tiered_shift_hospitals"].set_index("hospital_id")
    assert h.loc["H3", "final_amount_baseline"] == 19_840.00
    assert h.loc["H2", "final_amount_baseline"] == 13_100.00
    assert h.loc["H2", "final_amount_variant"] == 41_300.00
    assert h.loc["total", "final_amount_diff"] == 41_300.00 - 32_940.00
    f = t["tiered_shift_fund"].set_index("item")
    assert f.loc["paid to hospitals", "baseline"] == 32_940.00
    assert f.loc["paid to hospitals", "diff"] == 8_360.00
    for side in ("baseline", "variant"):  # the fund's totals balance to the cent
        budget = round(f.loc["budget", side] * 100)
        parts = sum(round(f.loc[k, side] * 100) for k in
                    ("paid to hospitals", "reserve kept", "returned to the fund"))
        assert budget == parts
        cents = np.round(h.drop(index="total")[f"final_amount_{side}"] * 100).sum()
        assert cents == round(f.loc["paid to hospitals", side] * 100)


def test_report_and_cli_carry_the_shift(tmp_path):
    path = _region(tmp_path)
    sim = simulate_scenario(load_scenario(path))
    tables = report_tables(sim)
    assert {"tiered_shift_hospitals", "tiered_shift_fund"} <= set(tables)
    write_report(sim, tmp_path / "out", "zh")
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "分级诊疗-医院清算对比" in page and "年度清算应付(元) 方案" in page
    assert "支付医院合计" in page
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "out" / "report.xlsx")
    ws = wb["分级诊疗-医院清算对比"]
    heads = [c.value for c in ws[1]]
    assert "年度清算应付(元) 差额" in heads
    r = CliRunner().invoke(app, ["simulate", str(path), "-o", str(tmp_path / "cli"), "--lang",
                                 "en"])
    assert r.exit_code == 0, r.output
    assert "4 cases moved" in r.output
    out = pd.read_csv(tmp_path / "cli" / "tiered_shift_hospitals.csv")
    assert "final amount (yuan) variant" in out.columns


@pytest.mark.parametrize("body, words", [
    ("[tiered_shift]\nshare = 1.5\nfrom_level = 3\nto_level = 2\n", ["tiered_shift.share"]),
    ("[tiered_shift]\nshare = 0.1\nfrom_level = 3\nto_level = 2\nbogus = 1\n",
     ["tiered_shift.bogus", "unknown key", "from_level"]),
    ("[tiered_shift]\nshare = \"0.1\"\nfrom_level = 3\nto_level = 2\n", ["tiered_shift.share"]),
    ("[tiered_shift]\nshare = 0.1\nfrom_level = 2\nto_level = 2\n", ["must differ"]),
])
def test_bad_tiered_shift_names_file_and_key(tmp_path, body, words):
    p = tmp_path / "bad.toml"
    p.write_text(f'cases = "cases.csv"\n{body}', encoding="utf-8")
    with pytest.raises(ValueError) as exc:
        load_scenario(p)
    msg = str(exc.value)
    assert str(p) in msg
    for w in words:
        assert w in msg


def test_tiered_shift_needs_raw_cases(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('priced_cases = "p.csv"\n[tiered_shift]\nshare = 0.1\nfrom_level = 3\n'
                 'to_level = 1\n', encoding="utf-8")
    with pytest.raises(ValueError, match="raw `cases`"):
        load_scenario(p)


def test_sample_region_shift_baseline_is_the_scenario_baseline(tmp_path):
    """On the sample region (demo scenario, alliances and tiers): the shift's baseline is the
    scenario's baseline settlement hospital by hospital, and each side's hospitals add up to
    what the fund pays, to the cent."""
    demo = Path(__file__).resolve().parents[1] / "sample_cases"
    text = (demo / "scenario_demo.toml").read_text(encoding="utf-8")
    text = text[: text.index("[sweep]")].replace('cases = "cases.csv"',
                                                 f'cases = "{demo / "cases.csv"}"')
    text += '\n[tiered_shift]\nshare = 0.2\nfrom_level = 3\nto_level = 2\ngroups = ["ES", "FR"]\n'
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    sim = simulate_scenario(load_scenario(tmp_path / "s.toml"))
    assert 0 < sim.tiered_shift.moved < 400
    t = shift_tables(sim.tiered_shift)
    h = t["tiered_shift_hospitals"].set_index("hospital_id")
    st = sim.baseline.statement.set_index("hospital_id")
    body = h.drop(index="total")
    np.testing.assert_array_equal(body["final_amount_baseline"].to_numpy(),
                                  st["final_amount"].reindex(body.index).to_numpy())
    f = t["tiered_shift_fund"].set_index("item")
    assert f.loc["paid to hospitals", "baseline"] == sim.baseline.summary["paid"]
    for side in ("baseline", "variant"):
        cents = int(np.round(body[f"final_amount_{side}"] * 100).sum())
        assert cents == round(f.loc["paid to hospitals", side] * 100)
        assert round(h.loc["total", f"final_amount_{side}"] * 100) == cents
    assert h.loc["total", "cases_diff"] == 0  # cases move, none is lost
    assert (h["total_cost_baseline"] == h["total_cost_baseline"].round(2)).all()


MC = """
[tiered_shift_monte_carlo]
draws = {draws}
seed = 7
share = {{ dist = "{dist}", value = 1.0, low = 0.0, high = 1.0 }}
"""


def test_shift_monte_carlo_in_a_scenario(tmp_path):
    """A fixed share of 1.0: every draw is the by-hand variant (H2 57,000 − 52,000 fee-for-
    service = +5,000; H3 0 − 0); uniform draws are seeded (the same seed, the same table)."""
    path = _region(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + MC.format(draws=3, dist="fixed"),
                    encoding="utf-8")
    sim = simulate_scenario(load_scenario(path))
    draws, hosp = sim.tiered_shift_mc
    assert list(draws["moved"]) == [4, 4, 4]
    assert (draws["paid"] == sim.tiered_shift.variant.summary["paid"]).all()
    h = hosp.set_index("hospital_id")
    assert h.loc["H2", "mean"] == 5_000.00 and h.loc["H3", "mean"] == 0.0
    tables = report_tables(sim)
    assert {"tiered_shift_mc_hospitals", "tiered_shift_mc_draws"} <= set(tables)
    write_report(sim, tmp_path / "out", "zh")
    assert "分级诊疗-蒙特卡洛医院" in (tmp_path / "out" / "report.html").read_text("utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace('"fixed"', '"uniform"'),
                    encoding="utf-8")
    a = simulate_scenario(load_scenario(path)).tiered_shift_mc[0]
    b = simulate_scenario(load_scenario(path)).tiered_shift_mc[0]
    pd.testing.assert_frame_equal(a, b)
    assert a["share"].between(0, 1).all() and a["share"].nunique() == 3


def test_shift_monte_carlo_needs_the_shift_and_bounds(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('cases = "c.csv"\n' + MC.format(draws=3, dist="fixed"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[tiered_shift\]"):
        load_scenario(p)
    p.write_text('cases = "c.csv"\n[tiered_shift]\nshare = 0.1\nfrom_level = 3\nto_level = 1\n'
                 + MC.format(draws=0, dist="fixed"), encoding="utf-8")
    with pytest.raises(ValueError, match="tiered_shift_monte_carlo.draws"):
        load_scenario(p)
