"""The demo dashboard the dashboard API tests share, and their to-the-cent comparison
(importable from tests as ``dashboard_shared``)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from drgsim.dashboard import Dashboard, create_app, scenario_from_args
from drgsim.dashboard.patients import load_patients


def demo_dashboard() -> Dashboard:
    """The demo region with the demo patients (wrap as a module fixture named ``dash``)."""
    patients, note = load_patients(None, None, demo=True)
    assert patients is not None, note
    return Dashboard(scenario_from_args(None, None, None), patients=patients)


def dashboard_client(dash: Dashboard) -> TestClient:
    """The dashboard's app over ``dash`` (wrap as a module fixture named ``client``)."""
    return TestClient(create_app(dash))


def cents(x: float) -> int:
    """Yuan as whole cents (half away from zero is Python's round on the ×100 float)."""
    return int(round(float(x) * 100))


def same_amounts(answer: dict[str, Any], res: Any) -> None:
    """Every hospital of an /api/answer equals the settlement ``res`` to the cent."""
    st = res.statement.set_index(res.statement["hospital_id"].astype(str))
    assert len(answer["hospitals"]) == len(st)
    for h in answer["hospitals"]:
        row = st.loc[h["hospital_id"]]
        for col in ("final_amount", "ffs_amount", "entitlement", "result"):
            assert cents(h[col]) == cents(row[col]), (h["hospital_id"], col)
