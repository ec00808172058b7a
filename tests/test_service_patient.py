"""Issue 14 item 4: the preview answers the patient's share across the insurance layers
(``serve --benefits``; ``POST /v1/preview/patient``), with the person-year's earlier stays."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("fastapi")
from starlette.testclient import TestClient  # noqa: E402

import grouper  # noqa: E402
import payment  # noqa: E402
from drgsim.service import ServiceSettings, create_app  # noqa: E402
from drgsim.service.engine import PreviewEngine, StartupError  # noqa: E402

CASE = {"case_id": "A1", "hospital_id": "H001", "hospital_level": 3, "sex": 1, "age": 63,
        "los": 9, "discharge_mode": 1, "diagnoses": ["I21.000", "I10.x00"],
        "procedures": ["36.0601"], "total_cost": 10000.0, "discharge_date": "2025-06-30"}
PATIENT = {"insurance": "resident"}
LAYERS = ("basic", "critical", "assistance", "safety_net", "oop")


@pytest.fixture(scope="module")
def client():
    s = ServiceSettings(scheme=grouper.demo_scheme_path(), benefits="benefits_example")
    return TestClient(create_app(s), raise_server_exceptions=False)


def test_hand_computed_share(client):
    """Resident, general, level 3, 10,000 yuan, benefits_example: deductible 900, fund
    (10,000 − 900) × 0.60 = 5,460, below the critical-illness deductible of 15,000, so the
    patient pays 4,540."""
    r = client.post("/v1/preview/patient", json={"case": CASE, "patient": PATIENT})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["group"]["drg"] and a["case_id"] == "A1"
    s = a["patient_share"]
    assert s["policy"] == "benefits_example"
    assert (s["compliant"], s["deductible"], s["basic"], s["critical"], s["oop"]) == \
        (10000.0, 900.0, 5460.0, 0.0, 4540.0)
    assert s["ratio"] == 0.6 and s["assistance"] == 0.0 and s["safety_net"] == 0.0


def test_history_is_the_engines_person_year(client):
    """Earlier stays count towards the year (critical illness here): the answer is the case's
    row of ``payment.cost_sharing`` over the person-year, and the layers add up to the cost."""
    hist = [{"case_id": "E1", "hospital_level": 3, "total_cost": 60000.0,
             "discharge_date": "2025-02-01", "insurance": "resident", "category": "dibao"},
            {"case_id": "E2", "hospital_level": 2, "total_cost": 8000.0,
             "discharge_date": "2025-04-01", "insurance": "resident", "category": "dibao",
             "self_pay": 500.0}]
    patient = {"insurance": "resident", "category": "dibao", "partial_self_pay": 300.0}
    r = client.post("/v1/preview/patient", json={"case": CASE, "patient": patient,
                                                 "history": hist})
    assert r.status_code == 200, r.text
    s = r.json()["patient_share"]
    frame = pd.DataFrame([
        {**h, "patient_id": "p", "category": "dibao", "self_pay": h.get("self_pay", 0.0),
         "partial_self_pay": 0.0, "referral": "none", "out_of_area": "local"} for h in hist]
        + [{"case_id": "A1", "hospital_level": 3, "total_cost": 10000.0,
            "discharge_date": "2025-06-30", "patient_id": "p", "insurance": "resident",
            "category": "dibao", "self_pay": 0.0, "partial_self_pay": 300.0,
            "referral": "none", "out_of_area": "local"}])
    want = payment.cost_sharing(frame, payment.load_benefit_policy("benefits_example")).iloc[-1]
    for k in ("compliant", "deductible", *LAYERS):
        assert s[k] == pytest.approx(float(want[k]), abs=1e-9), k
    assert round(sum(s[k] for k in LAYERS), 2) == 10000.0
    alone = client.post("/v1/preview/patient", json={"case": CASE, "patient": patient}).json()
    assert alone["patient_share"] != s  # the year's earlier stays change the answer


def test_patient_share_errors(client):
    no_date = {k: v for k, v in CASE.items() if k != "discharge_date"}
    r = client.post("/v1/preview/patient", json={"case": no_date, "patient": PATIENT})
    assert r.status_code == 422 and "discharge_date" in r.json()["detail"][0]["problem"]
    r = client.post("/v1/preview/patient", json={"case": CASE, "patient": {"insurance": "x"}})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "patient.insurance"
    other_year = [{"case_id": "E1", "hospital_level": 3, "total_cost": 1.0,
                   "discharge_date": "2024-02-01", "insurance": "resident"}]
    r = client.post("/v1/preview/patient", json={"case": CASE, "patient": PATIENT,
                                                 "history": other_year})
    assert r.status_code == 422 and "2025" in r.text and "Traceback" not in r.text
    plain = TestClient(create_app(ServiceSettings(scheme=grouper.demo_scheme_path())))
    r = plain.post("/v1/preview/patient", json={"case": CASE, "patient": PATIENT})
    assert r.status_code == 404 and "--benefits" in r.json()["error"]
    with pytest.raises(StartupError, match="invalid benefit policy"):
        PreviewEngine.load(ServiceSettings(scheme=grouper.demo_scheme_path(), benefits="nope"))
