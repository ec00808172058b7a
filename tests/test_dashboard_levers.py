"""The issue-16 levers added last: point-value decimals, LOS exclusions, alliance budgets, the
tiered-care shift, and what-ifs moving the statements — each held to payment to the cent."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("fastapi")
from dashboard_shared import cents, dashboard_client, demo_dashboard, same_amounts  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import payment  # noqa: E402
from drgsim.dashboard import Dashboard  # noqa: E402
from drgsim.pipeline import price_grouped  # noqa: E402
from payment.overrides import override_policy  # noqa: E402
from payment.settlement import encode  # noqa: E402
from payment.whatif import WHATIF_KEYS, run_whatifs  # noqa: E402

dash = pytest.fixture(scope="module", name="dash")(demo_dashboard)
client = pytest.fixture(scope="module", name="client")(dashboard_client)
_c = cents
_same = same_amounts


def test_meta_lists_new_levers_with_units(client: TestClient) -> None:
    m = client.get("/api/meta").json()
    keys = {lv["key"]: lv for lv in m["levers"]}
    assert keys["point_value.decimals"]["integer"] and keys["point_value.decimals"]["max"] == 12
    assert m["base"]["point_value.decimals"] == 4
    assert keys["exclusions.los_max"]["unit_en"] == "days"
    assert m["base"]["exclusions.los_min"] is None  # the national preset has none
    assert m["base"]["settlement.alliances.YGT01.per_capita"] == 75.0
    assert m["base"]["settlement.alliances.YGT02.population"] == 90000
    assert keys["settlement.alliances.YGT01.population"]["unit_zh"] == "人"
    assert keys["tiered_care.shift.share"]["max"] == 1.0


def test_point_value_decimals_equal_settle(client: TestClient, dash: Dashboard) -> None:
    a = client.post("/api/answer", json={"levers": {"point_value.decimals": 2}}).json()
    assert a["path"] == "settlement"
    res = payment.settle(dash.base.priced, override_policy(dash.base_policy,
                                                           {"point_value.decimals": 2}))
    pv = a["summary"]["point_value"]
    assert pv == res.summary["point_value"] and round(pv, 2) == pv
    _same(a, res)
    bad = client.post("/api/answer", json={"levers": {"point_value.decimals": 2.5}})
    assert bad.status_code == 422 and "whole number" in bad.json()["detail"]


def test_alliance_budget_equals_settle(client: TestClient, dash: Dashboard) -> None:
    over = {"settlement.alliances.YGT01.per_capita": 60.0,
            "settlement.alliances.YGT02.population": 100000}
    a = client.post("/api/answer", json={"levers": over}).json()
    assert a["path"] == "settlement"
    rows = [dict(x) for x in dash.alliances]
    rows[0]["per_capita"] = 60.0
    rows[1]["population"] = 100000
    res = payment.settle(dash.base.priced, override_policy(dash.base_policy,
                                                           {"settlement.alliances": rows}))
    assert a["summary"]["point_value"] == res.summary["point_value"]
    _same(a, res)
    base = client.post("/api/answer", json={}).json()
    h = {x["hospital_id"]: x for x in base["hospitals"]}
    moved = [x for x in a["hospitals"] if _c(x["final_amount"]) != _c(
        h[x["hospital_id"]]["final_amount"])]
    assert {x["hospital_id"] for x in moved} & {"H009", "H020", "H012"}  # members move
    bad = client.post("/api/answer", json={"levers": {
        "settlement.alliances.NOPE.per_capita": 1.0}})
    assert bad.status_code == 422 and "allowed: YGT01, YGT02" in bad.json()["detail"]


def test_los_exclusion_equals_price_then_settle(client: TestClient, dash: Dashboard) -> None:
    over = {"exclusions.los_max": 30}
    a = client.post("/api/answer", json={"levers": over}).json()
    assert a["path"] == "repricing"
    pol = override_policy(dash.base_policy, over)
    priced = price_grouped(dash.grouped, pol, dash.scenario.year).priced
    assert (priced["case_class"] == "excluded").any()
    res = payment.settle(priced, pol)
    assert a["summary"]["point_value"] == res.summary["point_value"]
    _same(a, res)
    bad = client.post("/api/answer", json={"levers": {"exclusions.los_min": 40,
                                                      "exclusions.los_max": 30}})
    assert bad.status_code == 422 and "los_min" in bad.json()["detail"]


def test_whatif_moves_statements_to_the_cent(client: TestClient, dash: Dashboard) -> None:
    lev = {"whatif.volume_growth": 0.05, "whatif.level_shift_share": 0.1}
    a = client.post("/api/answer", json={"levers": lev}).json()
    cells = dash.base.cells
    w = np.zeros((1, max(WHATIF_KEYS.values()) + 1))
    for k, v in lev.items():
        w[0, WHATIF_KEYS[k]] = v
    summ, res = run_whatifs(cells, encode(cells.inputs, dash.base_policy), w)
    assert a["whatif_summary"]["point_value"] == summ["point_value"].iloc[0]
    assert _c(a["whatif_summary"]["paid"]) == _c(summ["paid"].iloc[0])
    for h, r in zip(a["hospitals"], res[0], strict=True):
        assert _c(h["result"]) == _c(r)  # the statement is the what-if's
        assert _c(h["final_amount"]) - _c(h["ffs_amount"]) == _c(h["result"])
    base = payment.settle(dash.base.priced, dash.base_policy).statement
    assert [_c(h["base_final_amount"]) for h in a["hospitals"]] == [
        _c(x) for x in base["final_amount"]]
    assert any(_c(h["final_amount"]) != _c(h["base_final_amount"]) for h in a["hospitals"])
    d = client.post("/api/hospital/H001", json={"levers": lev}).json()
    h1 = next(h for h in a["hospitals"] if h["hospital_id"] == "H001")
    assert _c(d["statement"]["final_amount"]) == _c(h1["final_amount"])
    assert _c(d["statement"]["advances"]) + _c(d["statement"]["clearing"]) == _c(
        d["statement"]["final_amount"])
    # the page is told the statement is the what-if's; the DRG table stays the baseline cases
    # at the baseline point value (the what-ifs move cells, not cases)
    assert d["whatif"] is True
    assert client.post("/api/hospital/H001", json={}).json()["whatif"] is False
    base_pv = a["summary"]["point_value"]
    assert base_pv != a["whatif_summary"]["point_value"]
    assert d["groups"] and all(_c(g["amount"]) == _c(round(g["points"] * base_pv, 2))
                               for g in d["groups"])


def test_tiered_care_shift_equals_shift_cases(client: TestClient, dash: Dashboard) -> None:
    from payment.benefit_summary import summarise
    from payment.cost_sharing import cost_sharing
    from payment.tiered_care import LevelShift, shift_cases

    lev = {"tiered_care.shift.share": 0.2, "tiered_care.shift.to_level": 2}
    a = client.post("/api/answer", json={"levers": lev}).json()["patients"]
    p = dash.patients
    shifted, moved = shift_cases(p.cases, LevelShift(share=0.2, from_level=3, to_level=2))
    want = summarise(shifted, cost_sharing(shifted, p.policy), by="hospital_level")
    assert a["moved"] == int(moved.sum()) > 0
    got = {str(r["hospital_level"]): r for r in a["by_level"]}
    for _, row in want.iterrows():
        g = got[str(row["hospital_level"])]
        assert g["cases"] == row["cases"]
        for c in ("total_cost", "basic", "oop"):
            assert _c(g[c]) == _c(row[c]), (row["hospital_level"], c)
    base = {str(r["hospital_level"]): r for r in client.post(
        "/api/answer", json={}).json()["patients"]["by_level"]}
    assert got["3"]["cases"] < base["3"]["cases"] and got["2"]["cases"] > base["2"]["cases"]
    bad = client.post("/api/answer", json={"levers": {"tiered_care.shift.to_level": 3}})
    assert bad.status_code == 422 and "from_level and to_level must differ" in bad.json()["detail"]


def test_cached_text_codes_give_the_same_cells(dash: Dashboard) -> None:
    """build_cells with text codes factorized once equals build_cells from the text, also when
    a re-price excludes cases (the kept rows differ from those the codes were made on)."""
    from payment.whatif import build_cells, text_codes

    codes = text_codes(dash.base.priced)
    pol = override_policy(dash.base_policy, {"exclusions.los_max": 30})
    priced = price_grouped(dash.grouped, pol, dash.scenario.year).priced
    for pr, p in ((dash.base.priced, dash.base_policy), (priced, pol)):
        a, b = build_cells(pr, p), build_cells(pr, p, codes=codes)
        assert list(a.groups) == list(b.groups)
        for f in ("B", "SR", "SRD", "g_ratio", "g_simple", "dest_w", "h_pts_f", "h_cost_f"):
            assert np.array_equal(getattr(a, f), getattr(b, f)), f
    with pytest.raises(ValueError, match="codes are for"):
        build_cells(dash.base.priced.head(10), dash.base_policy, codes=codes)
