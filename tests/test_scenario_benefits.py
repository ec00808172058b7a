"""One scenario, both sides: a benefit policy in the scenario gives settlement its §9 patient
payments (total_cost − basic) and the patient-side summaries (issue 14 item 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from drgsim.pipeline import simulate_scenario
from payment import cost_sharing, load_benefit_policy
from payment.scenario import load_scenario

DEMO = Path(__file__).resolve().parents[1] / "sample_cases"


def test_scenario_with_benefits_settles_on_section_9_patient_payments(tmp_path):
    cases = pd.read_csv(DEMO / "cases.csv", dtype={"case_id": str})
    cases["insurance"] = np.where(np.arange(len(cases)) % 3 == 0, "employee", "resident")
    cases.to_csv(tmp_path / "cases.csv", index=False)
    text = (DEMO / "scenario_demo.toml").read_text(encoding="utf-8")
    text = text[: text.index("[sweep]")]
    text = text.replace('year = 2025', 'year = 2025\nbenefits = "benefits_example"')
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    sim = simulate_scenario(load_scenario(tmp_path / "s.toml"))
    cur = cases[cases["year"] == 2025].reset_index(drop=True)
    sh = cost_sharing(cur, load_benefit_policy("benefits_example"))
    expect = ((cur["total_cost"] * 100).round() - (sh["basic"] * 100).round()) / 100
    np.testing.assert_array_equal(sim.priced["patient_paid"].to_numpy(), expect.to_numpy())
    assert not np.allclose(expect, cur["patient_paid"])  # not the recorded payments
    # settlement's fee-for-service fund amount per hospital = Σ (total cost − §9 patient paid)
    ffs = (cur.assign(f=cur["total_cost"] - expect).groupby("hospital_id")["f"].sum()
           .round(2))
    st = sim.baseline.statement.set_index("hospital_id")
    assert (st["ffs_amount"] - ffs.reindex(st.index)).abs().max() < 0.006
    assert sim.benefits is not None
    assert sim.benefits["overall"]["basic"].iloc[0] == round(float(sh["basic"].sum()), 2)
