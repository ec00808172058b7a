"""The dashboard's JSON API (FastAPI TestClient) against payment.settle / run_whatifs / price.

Every number the API returns is held to what the library computes for the same scenario, to
the cent; the exported scenario TOML is run through ``drgsim simulate`` and gives the same
point value and final amounts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import tomllib

pytest.importorskip("fastapi")
from dashboard_shared import cents, dashboard_client, demo_dashboard, same_amounts  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import payment  # noqa: E402
from drgsim.dashboard import Dashboard, create_app, scenario_from_args  # noqa: E402
from drgsim.dashboard.export import to_toml  # noqa: E402
from drgsim.pipeline import price_grouped  # noqa: E402
from payment.overrides import override_policy  # noqa: E402
from payment.settlement import encode  # noqa: E402
from payment.whatif import WHATIF_KEYS, run_whatifs  # noqa: E402

dash = pytest.fixture(scope="module", name="dash")(demo_dashboard)
client = pytest.fixture(scope="module", name="client")(dashboard_client)
_cents = cents


def _expected(dash: Dashboard, over: dict, priced: pd.DataFrame | None = None):
    pol = override_policy(dash.base_policy, over) if over else dash.base_policy
    return payment.settle(dash.base.priced if priced is None else priced, pol)


_same_amounts = same_amounts


def test_meta_lists_levers_with_units_and_ranges(client: TestClient) -> None:
    m = client.get("/api/meta").json()
    keys = {lv["key"]: lv for lv in m["levers"]}
    assert keys["settlement.reserve_rate"]["min"] == 0.0
    assert keys["settlement.reserve_rate"]["max"] == 0.5
    assert keys["settlement.reserve_rate"]["unit_zh"]
    assert keys["settlement.point_value_mode"]["options"] == ["floating", "fixed"]
    assert m["base"]["settlement.reserve_rate"] == 0.05
    assert m["base"]["point_value.reimbursement_ratio"] == 0.7  # the demo scenario's override
    assert m["tiers"][0] == ["-inf", -0.15, 1.0]
    assert m["can_reprice"] is True
    assert {g[0] for g in m["groups"]} >= {"budget", "tiers", "quality", "whatif"}


def test_settlement_lever_equals_payment_settle(client: TestClient, dash: Dashboard) -> None:
    over = {"settlement.reserve_rate": 0.04, "settlement.budget.growth": 0.02,
            "settlement.assessment.deposit_rate": 0.03}
    a = client.post("/api/answer", json={"levers": over}).json()
    assert a["path"] == "settlement"
    res = _expected(dash, over)
    assert a["summary"]["point_value"] == res.summary["point_value"]
    assert _cents(a["summary"]["fund_balance"]) == _cents(res.summary["fund_balance"])
    _same_amounts(a, res)
    # The ledger identity, to the cent: budget = paid + reserve kept + returned.
    led = {r["item"]: _cents(r["yuan"]) for r in a["ledger"]}
    assert led["budget"] == led["paid to hospitals"] + led["reserve kept"] + led[
        "returned to the fund"]


def test_tier_table_edit_equals_settle(client: TestClient, dash: Dashboard) -> None:
    tiers = [["-inf", "-0.1", "1"], ["-0.1", "0", "0.4"], ["0", "0.15", "0.6"]]
    a = client.post("/api/answer", json={"tiers": tiers}).json()
    rows = [{"lower": float(lo), "upper": float(up), "fund_share": float(sh)}
            for lo, up, sh in tiers]
    res = _expected(dash, {"settlement.tiers": rows})
    assert a["summary"]["point_value"] == res.summary["point_value"]
    _same_amounts(a, res)
    assert a["summary"]["recovered"] == res.summary["recovered"]


def test_whatif_lever_equals_run_whatifs(client: TestClient, dash: Dashboard) -> None:
    a = client.post("/api/answer", json={"levers": {"whatif.volume_growth": 0.05,
                                                    "whatif.upcoding_share": 0.1}}).json()
    assert a["path"] == "whatif"
    cells = dash.base.cells
    w = np.zeros((1, max(WHATIF_KEYS.values()) + 1))
    w[0, WHATIF_KEYS["whatif.volume_growth"]] = 0.05
    w[0, WHATIF_KEYS["whatif.upcoding_share"]] = 0.1
    summ, res = run_whatifs(cells, encode(cells.inputs, dash.base_policy), w)
    assert a["whatif_summary"]["point_value"] == summ["point_value"].iloc[0]
    assert a["whatif_summary"]["point_value"] != a["summary"]["point_value"]
    got = [_cents(h["whatif_result"]) for h in a["hospitals"]]
    assert got == [_cents(x) for x in res[0]]


def test_repricing_lever_equals_price_then_settle(client: TestClient, dash: Dashboard) -> None:
    over = {"special_review.quota_rate": 0.02}
    a = client.post("/api/answer", json={"levers": over}).json()
    assert a["path"] == "repricing"
    pol = override_policy(dash.base_policy, over)
    priced = price_grouped(dash.grouped, pol, dash.scenario.year).priced
    res = payment.settle(priced, pol)
    assert a["summary"]["point_value"] == res.summary["point_value"]
    _same_amounts(a, res)
    assert a["summary"]["point_value"] != client.post("/api/answer", json={}).json()[
        "summary"]["point_value"]


@pytest.mark.parametrize("body, needle", [
    ({"levers": {"settlement.reserve_rate": 0.9}}, "settlement.reserve_rate = 0.9 is outside"),
    ({"levers": {"settlement.nope": 1}}, "unknown lever 'settlement.nope'"),
    ({"levers": {"settlement.point_value_mode": "x"}}, "allowed: floating, fixed"),
    ({"tiers": [["a", "0", "1"]]}, "tiers[0]"),
    ({"levers": {}, "extra": 1}, "unknown fields"),
])
def test_bad_levers_are_422_naming_the_key(client: TestClient, body: dict, needle: str) -> None:
    r = client.post("/api/answer", json=body)
    assert r.status_code == 422
    assert needle in r.json()["detail"]


def test_hospital_statement_and_mix(client: TestClient, dash: Dashboard) -> None:
    over = {"settlement.reserve_rate": 0.03}
    d = client.post("/api/hospital/H003", json={"levers": over}).json()
    res = _expected(dash, over)
    row = res.statement[res.statement["hospital_id"].astype(str) == "H003"].iloc[0]
    st = d["statement"]
    for col in ("entitlement", "tier_adjustment", "deposit", "release", "advances", "clearing",
                "final_amount"):
        assert _cents(st[col]) == _cents(row[col]), col
    assert _cents(st["advances"]) + _cents(st["clearing"]) == _cents(st["final_amount"])
    assert sum(_cents(v) for v in d["advances"].values()) == _cents(st["advances"])
    priced = dash.base.priced
    mine = priced[priced["hospital_id"].astype(str) == "H003"]
    assert d["case_class_mix"] == mine["case_class"].astype(str).value_counts().to_dict()
    assert client.post("/api/hospital/NOPE", json={}).status_code == 404


def test_save_list_compare_equals_compare_runs(client: TestClient, dash: Dashboard) -> None:
    assert client.post("/api/scenarios/base", json={}).status_code == 200
    over = {"settlement.reserve_rate": 0.04}
    assert client.post("/api/scenarios/低调节金", json={"levers": over}).status_code == 200
    names = [s["name"] for s in client.get("/api/scenarios").json()["scenarios"]]
    assert {"base", "低调节金"} <= set(names)
    c = client.get("/api/compare", params={"a": "base", "b": "低调节金"}).json()
    ra, rb = _expected(dash, {}), _expected(dash, over)
    pv = {r["metric"]: r for r in c["summary"]}["point_value"]
    assert pv["a"] == ra.summary["point_value"] and pv["b"] == rb.summary["point_value"]
    h = {r["hospital_id"]: r for r in c["hospitals"]}
    for _, row in rb.statement.iterrows():
        got = h[str(row["hospital_id"])]
        assert _cents(got["final_amount_b"]) == _cents(row["final_amount"])
        assert _cents(got["final_amount_diff"]) == _cents(row["final_amount"]) - _cents(
            ra.statement.set_index("hospital_id").loc[row["hospital_id"], "final_amount"])
    assert client.get("/api/compare", params={"a": "base", "b": "zzz"}).status_code == 404


def test_exported_toml_reproduced_by_drgsim_simulate(client: TestClient, dash: Dashboard,
                                                      tmp_path) -> None:
    from typer.testing import CliRunner

    from drgsim.cli import app

    over = {"settlement.reserve_rate": 0.035, "settlement.assessment.deposit_rate": 0.01,
            "whatif.cost_growth": 0.03}
    tiers = [["-inf", "-0.1", "1"], ["-0.1", "0", "0.5"], ["0", "0.2", "0.5"]]
    client.post("/api/scenarios/export-me", json={"levers": over, "tiers": tiers})
    shown = client.post("/api/answer", json={"levers": over, "tiers": tiers}).json()
    text = client.get("/api/scenarios/export-me/toml").text
    path = tmp_path / "exported.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["simulate", str(path), "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    scen = pd.read_csv(out / "scenarios.csv")
    stm = pd.read_csv(out / "statements.csv")
    assert scen["point_value"].iloc[0] == pytest.approx(shown["summary"]["point_value"],
                                                        rel=0, abs=1e-9)
    # the what-if is the sweep's one row
    assert scen["point_value"].iloc[1] == pytest.approx(
        shown["whatif_summary"]["point_value"], rel=0, abs=1e-9)
    got = dict(zip(stm["hospital_id"].astype(str), stm["final_amount"], strict=True))
    for h in shown["hospitals"]:  # simulate's statements are the baseline (no what-if)
        assert _cents(got[h["hospital_id"]]) == _cents(h["base_final_amount"]), h["hospital_id"]


def test_reports_download(client: TestClient) -> None:
    client.post("/api/scenarios/rep", json={"levers": {"settlement.reserve_rate": 0.04}})
    h = client.get("/api/scenarios/rep/report.html")
    assert h.status_code == 200 and "plotly" in h.text.lower() and "<html" in h.text.lower()
    x = client.get("/api/scenarios/rep/report.xlsx?lang=en")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert client.get("/api/scenarios/rep/report.pdf").status_code == 422


def test_monte_carlo_bands(client: TestClient) -> None:
    spec = {"draws": 200, "seed": 7, "volume_growth": {"dist": "normal", "mean": 0.03, "sd": 0.02}}
    d = client.post("/api/montecarlo", json={"spec": spec}).json()
    assert d["draws"] == 200 and len(d["point_value_draws"]) == 200
    p = d["point_value"]
    assert p["p5"] < p["p50"] < p["p95"]
    for h in d["hospitals"]:
        assert h["p5"] <= h["p25"] <= h["p50"] <= h["p75"] <= h["p95"]
    again = client.post("/api/montecarlo", json={"spec": spec}).json()
    assert again["point_value"] == p  # seeded
    big = client.post("/api/montecarlo", json={"spec": {"draws": 100000}})
    assert big.status_code == 422 and "at most 5000" in big.json()["detail"]


def test_page_and_local_assets(client: TestClient) -> None:
    page = client.get("/").text
    assert "http://" not in page and "https://" not in page
    assert "Microsoft YaHei" in page and 'src="/static/plotly.min.js"' in page
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert client.get("/static/dashboard.js").status_code == 200


def test_priced_only_region_has_no_repricing(tmp_path, dash: Dashboard) -> None:
    p = tmp_path / "priced.csv"
    dash.base.priced.to_csv(p, index=False)
    d = Dashboard(scenario_from_args(None, p, None))
    c = TestClient(create_app(d))
    meta = c.get("/api/meta").json()
    assert meta["can_reprice"] is False
    assert meta["monte_carlo"]["volume_growth"]["sd"] == 0.02  # default spec: not degenerate
    r = c.post("/api/answer", json={"levers": {"special_review.quota_rate": 0.02}})
    assert r.status_code == 422 and "re-pricing needs raw cases" in r.json()["detail"]
    assert c.post("/api/answer", json={}).status_code == 200


def test_toml_writer_round_trip() -> None:
    data = {"name": 'a "quoted" 名', "x": 1, "f": 0.1, "neg": -math.inf,
            "t": {"rows": [{"lower": -math.inf, "upper": 0.2}], "flag": True,
                  "inner": {"k": [1, 2]}},
            "sweep": {"whatif.volume_growth": [0.05]}}
    assert tomllib.loads(to_toml(data)) == data


def test_cli_prints_address_and_rejects_bad_arguments(monkeypatch, tmp_path) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from drgsim.cli import app

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: calls.append(kw))
    r = CliRunner().invoke(app, ["dashboard", "--port", "8123"])
    assert r.exit_code == 0, r.output
    assert "http://127.0.0.1:8123/" in r.output
    assert calls == [{"host": "127.0.0.1", "port": 8123, "log_level": "warning"}]
    p = tmp_path / "x.csv"
    p.write_text("case_id\n1\n")
    both = CliRunner().invoke(app, ["dashboard", "--scenario", str(p), "--priced", str(p)])
    assert both.exit_code == 2 and "not both" in both.output
    missing = CliRunner().invoke(app, ["dashboard", "--priced", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "not found" in missing.output


def test_group_gains_hand_computed() -> None:
    from drgsim.dashboard.state import group_gains

    priced = pd.DataFrame({
        "hospital_id": ["H1", "H1", "H1", "H2", "H1"],
        "group": ["A", "A", "B", "A", "C"],
        "points": [10.0, 20.0, 5.0, 99.0, 1.0],
        "total_cost": [1000.0, 2500.0, 400.0, 1.0, 50.0],
        "sr_approved": [False, False, False, False, True],
    })
    g = group_gains(priced, "H1", 100.0037).set_index("group")
    # A: 30 points × 100.0037 = 3000.111 → 3000.11 − 3500 = −499.89;
    # B: 5 × 100.0037 = 500.0185 → 500.02 − 400 = 100.02
    assert g.loc["A", "amount"] == 3000.11 and g.loc["A", "gain"] == -499.89
    assert g.loc["B", "amount"] == 500.02 and g.loc["B", "gain"] == 100.02
    assert g.loc["A", "cases"] == 2 and "C" not in g.index  # C approved in special review
    assert list(g.index) == ["A", "B"]  # losses first


def test_drill_down_lists_groups(client: TestClient) -> None:
    d = client.post("/api/hospital/H001", json={}).json()
    gains = [r["gain"] for r in d["groups"]]
    assert gains and gains[0] < 0 < gains[-1]
    for r in d["groups"]:
        assert _cents(r["gain"]) == _cents(r["amount"]) - _cents(r["total_cost"])


def test_patients_levers_equal_cost_sharing(client: TestClient, dash: Dashboard) -> None:
    from grouper.cases import read_raw
    from payment import cost_sharing, load_benefit_policy
    from payment.benefit_summary import benefit_inputs, summarise

    base = client.post("/api/answer", json={}).json()["patients"]
    over = {"benefits.deductible.resident.3": 1500.0, "benefits.ratio.employee.1": 0.95}
    a = client.post("/api/answer", json={"levers": over}).json()
    assert a["path"] == "settlement"
    pol = load_benefit_policy("benefits_example")
    pol = pol.with_overrides({
        "deductible": {"resident": [*pol.deductible.resident[:2], 1500.0]},
        "ratio": {"employee": [0.95, *pol.ratio.employee[1:]]}})
    cases = benefit_inputs(read_raw("sample_cases/benefits.csv"))
    want = summarise(cases, cost_sharing(cases, pol), by="hospital_level")
    got = {str(r["hospital_level"]): r for r in a["patients"]["by_level"]}
    for _, row in want.iterrows():
        g = got[str(row["hospital_level"])]
        for c in ("total_cost", "basic", "critical", "assistance", "safety_net", "oop"):
            assert _cents(g[c]) == _cents(row[c]), (row["hospital_level"], c)
    t = a["patients"]["total"]
    assert _cents(t["total_cost"]) == sum(_cents(t[c]) for c in (
        "basic", "critical", "assistance", "safety_net", "oop"))
    lv3 = {str(r["hospital_level"]): r for r in base["by_level"]}["3"]
    assert got["3"]["oop"] > lv3["oop"]  # a higher level-3 deductible: patients pay more
    bad = client.post("/api/answer", json={"levers": {"benefits.ratio.resident.2": 1.5}})
    assert bad.status_code == 422 and "benefits.ratio.resident.2" in bad.json()["detail"]
