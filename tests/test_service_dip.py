"""The preview service under a DIP policy: one case and batches equal grouper.dip.group +
payment.price on the same cases (the library / CLI DIP path)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import grouper
import payment
from drgsim.service import ServiceSettings, create_app
from drgsim.service.engine import PreviewEngine, StartupError
from grouper.dip import DipConfig, build_catalogue, load_catalogue
from grouper.dip.synth import synthetic_history

CASE_FIELDS = ("case_id", "hospital_id", "hospital_level", "sex", "age", "age_days",
               "birth_weight", "dept", "los", "discharge_mode", "total_cost", "year")
INT_FIELDS = {"hospital_level", "sex", "age", "age_days", "los", "discharge_mode", "year"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("svcdip")
    scheme = grouper.load_scheme(grouper.demo_scheme_path())
    h = synthetic_history(scheme, 2500, n_templates=150, seed=11)
    rng = np.random.default_rng(11)  # the fields the synthetic history leaves out
    h["los"] = np.clip(np.round(h["total_cost"] / 1500 * rng.uniform(0.5, 1.5, len(h))), 1, 60)
    h["discharge_mode"] = np.where(rng.random(len(h)) < 0.05, 2, 1)
    h["hospital_level"] = 1 + h["hospital_id"].str[1:].astype(int) % 3
    hist, now = h[h["year"] < 2025].reset_index(drop=True), h[h["year"] == 2025]
    build_catalogue(hist, DipConfig(core_threshold=5, aux_min_cases=5), scheme).save(d / "cat")
    cat = load_catalogue(d / "cat")
    g = grouper.dip.group(hist, cat, scheme)
    policy = payment.load_policy("national_dip")
    w = payment.compute_weights(hist.assign(status=g["status"].to_numpy(),
                                            dip_group=g["dip_group"].to_numpy()), policy)
    w.save(d / "w")
    engine = PreviewEngine.load(ServiceSettings(scheme=grouper.demo_scheme_path(),
                                                policy="national_dip", weights=d / "w",
                                                catalogue=d / "cat"))
    client = TestClient(create_app(ServiceSettings(scheme=grouper.demo_scheme_path()),
                                   engine=engine), raise_server_exceptions=False)
    return scheme, cat, engine, client, now, d


def json_case(row: dict) -> dict:
    out = {}
    for f in CASE_FIELDS:
        v = row.get(f)
        if v is None or (isinstance(v, float) and math.isnan(v)) or v == "" or v is pd.NA:
            continue
        out[f] = int(v) if f in INT_FIELDS else (float(v) if f in ("birth_weight", "total_cost")
                                                 else str(v))
    out["diagnoses"] = str(row["diagnoses"]).split("|")
    pr = row.get("procedures")
    out["procedures"] = str(pr).split("|") if isinstance(pr, str) and pr else []
    return out


def library(cases: list[dict], scheme, cat, engine) -> pd.DataFrame:
    """grouper.dip.group + payment.price on a table built from the JSON cases."""
    df = pd.DataFrame([{**{f: c.get(f) for f in CASE_FIELDS}, "case_id": c.get("case_id", str(k)),
                        "diagnoses": "|".join(c["diagnoses"]),
                        "procedures": "|".join(c.get("procedures", []))}
                       for k, c in enumerate(cases)])
    for f in CASE_FIELDS:
        if f not in ("case_id", "hospital_id", "dept"):
            df[f] = pd.to_numeric(df[f], errors="coerce").astype("float64")
    g = grouper.dip.group(df, cat, scheme)
    priced = payment.price(df.assign(status=g["status"].to_numpy(),
                                     dip_group=g["dip_group"].to_numpy(),
                                     aux_coefficient=g["aux_coefficient"].to_numpy()),
                           engine.weights, engine.policy)
    assert (priced["aux_coefficient"].to_numpy() == g["aux_coefficient"].fillna(1.0).to_numpy()).all()
    return pd.concat([g.drop(columns=["case_id"]).reset_index(drop=True),
                      priced.drop(columns=["aux_coefficient"]).reset_index(drop=True)], axis=1)


def same(got, want) -> bool:
    if want is None or (isinstance(want, float) and not math.isfinite(want)):
        return got is None
    return got is not None and math.isclose(got, float(want), rel_tol=1e-12, abs_tol=1e-9)


def check(ans: dict, exp: pd.Series) -> None:
    where = ans["case_id"]
    assert ans["status"] == exp["status"], where
    dip = ans["dip"]
    assert dip["dip_group"] == exp["dip_group"] and dip["dip_type"] == exp["dip_type"], where
    assert dip["aux_level"] == exp["aux_level"], where
    for f in ("score", "aux_coefficient", "final_score"):
        assert same(dip[f], exp[f]), (where, f)
    p = ans["payment"]
    assert p["case_class"] == str(exp["case_class"]), where
    assert p["class_reason"] == str(exp["class_reason"]), where
    for f in ("r", "base_points", "coefficient", "points"):
        assert same(p[f], exp[f]), (where, f, p[f], exp[f])
    assert p["payment"] == pytest.approx(float(exp["payment"]), abs=0.005), where
    assert p["gain"] == pytest.approx(float(exp["gain"]), abs=0.005), where
    sr = ans["special_review"]
    assert sr["eligible"] == bool(exp["sr_candidate"]), where
    assert "|".join(sr["reasons"]) == str(exp["sr_reasons"]), where
    if ans["thresholds"] is not None:
        assert ans["thresholds"]["high_inclusive"] is False  # DIP: r above the high multiple


def test_dip_one_case_equals_library(setup):
    scheme, cat, engine, client, now, _ = setup
    cases = [json_case(r) for r in now.iloc[:60].to_dict("records")]
    cases += [{**cases[0], "case_id": "BAD", "diagnoses": ["ZZZ.999"]},
              {**cases[1], "case_id": "CHK", "sex": 3},
              {**cases[2], "case_id": "HIGH", "total_cost": 900_000.0}]
    classes, types = set(), set()
    for c in cases:
        resp = client.post("/v1/preview", json=c)
        assert resp.status_code == 200, resp.text
        ans = resp.json()
        check(ans, library([c], scheme, cat, engine).iloc[0])
        classes.add(ans["payment"]["case_class"])
        types.add(ans["dip"]["dip_type"])
    # not vacuous: matched and unmatched cases, several classes
    assert "core" in types and len(types) >= 3 and len(classes) >= 3, (types, classes)


def test_dip_batch_equals_library_and_single(setup):
    scheme, cat, engine, client, now, _ = setup
    cases = [json_case(r) for r in now.iloc[:300].to_dict("records")]
    body = client.post("/v1/preview/batch", json={"cases": cases}).json()
    want = library(cases, scheme, cat, engine)
    assert body["count"] == len(cases)
    for k, ans in enumerate(body["results"]):
        check(ans, want.iloc[k])
    # the auxiliary coefficients reach the points (§7): some grouped cases have one ≠ 1
    refined = [a for a in body["results"] if a["dip"]["aux_coefficient"] not in (None, 1.0)
               and a["payment"]["case_class"] == "normal"]
    assert refined, "no case with an auxiliary coefficient other than 1"
    for a in refined:
        p = a["payment"]
        assert p["points"] == pytest.approx(
            p["base_points"] * a["dip"]["aux_coefficient"] * p["coefficient"], rel=1e-12)
    for k in (0, 7, 99):
        assert client.post("/v1/preview", json=cases[k]).json() == body["results"][k]
    cols = client.post("/v1/preview/batch?format=columns", json={"cases": cases}).json()
    assert cols["columns"]["dip.dip_group"] == [a["dip"]["dip_group"] for a in body["results"]]
    v = client.get("/v1/version").json()
    assert v["policy"]["kind"] == "dip" and v["weights"]["kind"] == "dip"
    assert np.isfinite(v["weights"]["point_value"])


def test_dip_startup_needs_a_catalogue(setup):
    *_, d = setup
    with pytest.raises(StartupError, match="catalogue"):
        PreviewEngine.load(ServiceSettings(scheme=grouper.demo_scheme_path(),
                                           policy="national_dip", weights=d / "w"))
    with pytest.raises(StartupError, match="DIP policy"):
        PreviewEngine.load(ServiceSettings(scheme=grouper.demo_scheme_path(),
                                           policy="national_drg", catalogue=d / "cat"))
    with pytest.raises(StartupError, match="cannot load DIP catalogue") as info:
        PreviewEngine.load(ServiceSettings(scheme=grouper.demo_scheme_path(),
                                           policy="national_dip", weights=d / "w",
                                           catalogue=d / "w"))
    assert "\n" not in str(info.value)
