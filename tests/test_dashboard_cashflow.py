"""The dashboard's cash-flow view (issue 18 item 6) against payment's cash-flow ledger.

The view's numbers for a month are held to :func:`payment.cashflow.run_fund` on inputs built by
:func:`payment.cashflow_run.build_inputs` — independently of the view's cache — to the cent,
and its lowest months of reserve to ``drgsim cashflow``'s what-if rows (run_whatifs).
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from drgsim.dashboard import Dashboard, create_app, scenario_from_args  # noqa: E402
from drgsim.dashboard.cashflow import DEMO_CASHFLOW, CashflowView  # noqa: E402
from drgsim.pipeline import price_scenario_cases  # noqa: E402
from payment.cashflow import perturb, run_fund  # noqa: E402
from payment.cashflow_policy import WhatIf  # noqa: E402
from payment.cashflow_run import build_inputs, load_cashflow_scenario, run_whatifs  # noqa: E402
from payment.scenario import load_base_policy  # noqa: E402


@pytest.fixture(scope="module")
def cs():
    return load_cashflow_scenario(DEMO_CASHFLOW)


@pytest.fixture(scope="module")
def reference(cs):
    pol = load_base_policy(cs.scenario)
    priced = price_scenario_cases(cs.scenario, pol)
    return priced, pol, build_inputs(cs, priced=priced, policy=pol)


@pytest.fixture(scope="module")
def client(cs, reference) -> TestClient:
    priced, pol, _ = reference
    view = CashflowView(cs, priced=priced, policy=pol)
    return TestClient(create_app(Dashboard(scenario_from_args(None, None, None),
                                           cashflow=view)))


def _c(x: float) -> int:
    return int(round(float(x) * 100))


def test_meta_has_cashflow_levers(client: TestClient) -> None:
    m = client.get("/api/meta").json()["cashflow"]
    keys = {lv["key"]: lv for lv in m["levers"]}
    assert keys["recovery"]["options"] == ["at_clearing", "monthly", "rollover"]
    assert keys["prepayment_months"]["max"] == 12.0 and keys["prepayment_months"]["unit_en"]
    assert m["base"] == {"prepayment_months": 1.0, "recovery": "at_clearing",
                         "income_growth": 0.0, "spending_growth": 0.0}


@pytest.mark.parametrize("levers", [
    {}, {"prepayment_months": 2.0, "recovery": "monthly"},
    {"recovery": "rollover", "income_growth": -0.03, "spending_growth": 0.05},
])
def test_months_equal_run_fund_to_the_cent(client: TestClient, cs, reference, levers) -> None:
    _, _, inputs = reference
    a = client.post("/api/cashflow", json={"levers": levers}).json()
    w = WhatIf(label="x", **levers)
    assert [f["fund"] for f in a["funds"]] == list(inputs)
    for f in a["funds"]:
        fl = run_fund(perturb(inputs[f["fund"]], income_growth=w.income_growth,
                              spending_growth=w.spending_growth), cs.cashflow,
                      year=cs.scenario.year, prepayment_months=w.prepayment_months,
                      recovery=w.recovery)
        assert (f["eligibility"], f["eligibility_zh"]) == (fl.eligibility, fl.eligibility_zh)
        assert f["eligibility_zh"].startswith(("可支付", "未启用", "无基金", "上年度", "本年度"))
        led = fl.ledger
        assert len(f["ledger"]) == len(led) == cs.cashflow.n_months
        for t, row in enumerate(f["ledger"]):
            ref = led.iloc[t]
            for c in ("opening", "income", "prepayment", "advances", "deductions",
                      "special_review", "other_spending", "clearing", "closing"):
                assert _c(row[c]) == _c(ref[c]), (f["fund"], t, c)
            assert _c(row["closing"]) == _c(row["opening"]) + _c(row["income"]) - _c(
                row["expenditure"])
            assert row["low_reserve_alert"] == bool(ref["low_reserve_alert"])
        assert f["lowest_months_of_reserve"] == pytest.approx(fl.lowest_mor, rel=1e-12)
        assert _c(f["prepayment"]) == _c(fl.accounts["prepayment"].sum())
        cash = fl.cash[fl.cash["t"] == 3].set_index("hospital_id")["position"]
        i = f["cash"]["hospitals"].index("H001")
        assert _c(f["cash"]["position"][i][2]) == _c(cash.loc["H001"])


def test_levers_match_drgsim_cashflow_whatifs(client: TestClient, cs, reference) -> None:
    _, _, inputs = reference
    wh = run_whatifs(inputs, cs.cashflow, list(cs.cashflow.whatifs), cs.scenario.year)
    row = wh[(wh["scenario"] == "no prepayment") & (wh["fund"] == "resident")].iloc[0]
    a = client.post("/api/cashflow", json={"levers": {"prepayment_months": 0.0}}).json()
    f = next(x for x in a["funds"] if x["fund"] == "resident")
    assert f["prepayment"] == 0.0
    assert f["lowest_months_of_reserve"] == pytest.approx(row["lowest_months_of_reserve"],
                                                          rel=1e-12)
    base = client.post("/api/cashflow", json={}).json()
    fb = next(x for x in base["funds"] if x["fund"] == "resident")
    assert fb["prepayment"] > 0 and fb["ledger"][0]["prepayment"] == fb["prepayment"]


@pytest.mark.parametrize("body, needle", [
    ({"levers": {"recovery": "never"}}, "cashflow.recovery"),
    ({"levers": {"prepayment_months": 13}}, "cashflow.prepayment_months"),
    ({"levers": {"k": 1}}, "unknown cash-flow levers ['k']"),
    ({"levers": {}, "x": 1}, "unknown fields"),
])
def test_bad_cashflow_levers_are_422(client: TestClient, body, needle) -> None:
    r = client.post("/api/cashflow", json=body)
    assert r.status_code == 422 and needle in r.json()["detail"]


def test_no_cashflow_is_404() -> None:
    d = Dashboard(scenario_from_args(None, None, None), cashflow_note="none given")
    c = TestClient(create_app(d))
    assert c.get("/api/meta").json()["cashflow"] is None
    r = c.post("/api/cashflow", json={})
    assert r.status_code == 404 and "none given" in r.json()["detail"]
