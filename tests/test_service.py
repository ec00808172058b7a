"""The preview service through HTTP: every answer field against grouper.group + payment.price.

Weights are computed here from the 2023–2024 sample cases under each policy; the previewed
cases are 2025 sample cases (with their noisy rows) plus hand-made edge cases.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import grouper
import payment
from drgsim.service import ServiceSettings, create_app
from drgsim.service.engine import PreviewEngine, StartupError

SAMPLE = Path(__file__).resolve().parents[1] / "sample_cases" / "cases.csv"
POLICIES = ("zhejiang_drg", "jinhua_drg")
CASE_FIELDS = ("case_id", "hospital_id", "hospital_level", "patient_id", "sex", "age", "age_days",
               "birth_weight", "dept", "los", "discharge_mode", "total_cost", "admission_date",
               "discharge_date", "year", "patient_paid", "new_tech_cost", "alliance_id")
INT_FIELDS = {"hospital_level", "sex", "age", "age_days", "birth_weight", "los", "discharge_mode",
              "year"}


# ---- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scheme():
    return grouper.load_scheme(grouper.demo_scheme_path())


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return grouper.read_cases(SAMPLE)


@pytest.fixture(scope="module")
def weights_dirs(scheme, sample, tmp_path_factory) -> dict[str, Path]:
    history = sample[sample["year"] < 2025]
    g = grouper.group(history, scheme)
    hist = history.assign(status=g["status"].astype(str).to_numpy(), drg=g["drg"].to_numpy())
    out = {}
    for name in POLICIES:
        w = payment.compute_weights(hist, payment.load_policy(name))
        out[name] = w.save(tmp_path_factory.mktemp(name))
    return out


@pytest.fixture(scope="module")
def engines(scheme, weights_dirs) -> dict[str, PreviewEngine]:
    return {name: PreviewEngine.load(ServiceSettings(
        scheme=grouper.demo_scheme_path(), policy=name, weights=weights_dirs[name]))
        for name in POLICIES}


def make_client(engine: PreviewEngine, **kw: Any) -> TestClient:
    s = ServiceSettings(scheme=grouper.demo_scheme_path(), **kw)
    return TestClient(create_app(s, engine=engine), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(engines) -> TestClient:
    return make_client(engines["zhejiang_drg"])


def to_json_case(row: dict[str, Any]) -> dict[str, Any]:
    """A canonical table row as the JSON a hospital system sends (codes as arrays)."""
    out: dict[str, Any] = {}
    for f in CASE_FIELDS:
        v = row.get(f)
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or v == "":
            continue
        if f in INT_FIELDS:
            v = int(v)
        elif isinstance(v, (np.floating, float, int, np.integer)):
            v = float(v)
        else:
            v = str(v)[:10] if f.endswith("_date") else str(v)
        out[f] = v
    out["diagnoses"] = str(row.get("diagnoses") or "").split("|")
    pr = row.get("procedures")
    out["procedures"] = str(pr).split("|") if isinstance(pr, str) and pr else []
    return out


def edge_cases(sample: pd.DataFrame) -> list[dict[str, Any]]:
    """Hand-made cases probing warnings, checks, classes and special-review rules."""
    base = to_json_case(sample[sample["year"] == 2025].iloc[0].to_dict())
    base.pop("patient_id", None)
    dx0 = base["diagnoses"][0]
    variants = [
        {"diagnoses": ["ZZZ.999"]},  # unknown principal
        {"diagnoses": [" " + dx0.lower() + " "]},  # repaired with a warning
        {"diagnoses": [dx0, ""]},  # empty secondary dropped
        {"diagnoses": [""]},  # principal missing
        {"sex": 3}, {"age": -1}, {"age": 0},  # checks
        {"los": 1}, {"los": 75}, {"discharge_mode": 2}, {"discharge_mode": 4},
        {"total_cost": 1.0}, {"total_cost": 5_000_000.0}, {"total_cost": None},
        {"total_cost": -5.0}, {"new_tech": True}, {"new_tech_cost": 800.0},
        {"age": 0, "age_days": 3, "birth_weight": 1200, "total_cost": 400_000.0},
        {"hospital_id": "H999"}, {"hospital_level": None}, {"procedures": ["00.0000"]},
        {"dept": "NOSUCH"}, {"case_id": None},
    ]
    out = []
    for k, v in enumerate(variants):
        c = {**base, "case_id": f"EDGE{k:02d}", **v}
        out.append({key: val for key, val in c.items() if val is not None})
    return out


def expected(cases: list[dict[str, Any]], scheme, engine: PreviewEngine) -> pd.DataFrame:
    """grouper.group + payment.price on a table built straight from the JSON cases."""
    rows = []
    for k, c in enumerate(cases):
        r = {f: c.get(f) for f in CASE_FIELDS}
        r["case_id"] = c.get("case_id", str(k))
        r["diagnoses"] = "|".join(c["diagnoses"])
        r["procedures"] = "|".join(c.get("procedures", []))
        r["new_tech"] = c.get("new_tech")
        rows.append(r)
    df = pd.DataFrame(rows)
    for f in CASE_FIELDS:
        if f not in ("case_id", "hospital_id", "patient_id", "dept", "alliance_id") \
                and not f.endswith("_date"):
            df[f] = pd.to_numeric(df[f], errors="coerce").astype("float64")
    g = grouper.group(df, scheme)
    priced = payment.price(df.assign(status=g["status"].astype(str).to_numpy(),
                                     drg=g["drg"].to_numpy()), engine.weights, engine.policy)
    return pd.concat([g.reset_index(drop=True),
                      priced.drop(columns=["case_id"]).reset_index(drop=True)], axis=1)


def num_eq(got: float | None, want: float) -> bool:
    if want is None or (isinstance(want, float) and not math.isfinite(want)):
        return got is None
    return got is not None and math.isclose(got, float(want), rel_tol=1e-12, abs_tol=1e-9)


def check_answer(ans: dict[str, Any], exp: pd.Series, case: dict[str, Any], scheme,
                 engine: PreviewEngine) -> None:
    """Every field of one answer against the expected row and the policy / weights."""
    where = f"case {ans['case_id']}"
    assert ans["status"] == str(exp["status"]), where
    grp = ans["group"]
    for f in ("mdc", "adrg", "drg"):
        assert grp[f] == str(exp[f]), where
    assert grp["drg_name"] == scheme.drg_names().get(str(exp["drg"])), where
    drgs = scheme.tables["drgs"]
    names = list(drgs.loc[drgs["adrg"] == grp["adrg"], "name"])
    if grp["adrg_name"] is not None:  # named by what its DRG names share
        assert names and all(n.startswith(grp["adrg_name"]) for n in names), where
        assert not grp["adrg_name"].endswith(("，", "伴")), where
    else:  # no such ADRG, or its DRG names share nothing
        assert len(names) != 1 and not (names and all(n[0] == names[0][0] for n in names))
    assert "; ".join(ans["warnings"]) == str(exp["warnings"]), where

    p = ans["payment"]
    w, pol = engine.weights, engine.policy
    assert p["policy"] == pol.name
    for f in ("case_class", "class_reason"):
        assert p[f] == str(exp[f]), (where, f)
    for f in ("r", "base_points", "coefficient", "points"):
        assert num_eq(p[f], exp[f]), (where, f, p[f], exp[f])
    assert p["payment"] == pytest.approx(float(exp["payment"]), abs=0.005), where
    assert p["gain"] == pytest.approx(float(exp["gain"]), abs=0.005), where
    assert p["small_group"] == bool(exp["small_group"]), where
    assert p["point_value"] == pytest.approx(w.budget_point_value, rel=1e-12)
    rw = dict(zip(w.groups["group"], w.groups["rw"], strict=True)).get(str(exp["drg"]))
    assert num_eq(p["weight"], rw if rw is not None else float("nan")), where
    if p["base_points"] is not None and p["case_class"] in ("normal", "high", "low"):
        # a low-multiple case is paid base x coefficient x r: zero cost gives zero points
        assert p["points"] >= 0
        assert (p["points"] > 0) == (p["case_class"] != "low" or float(exp["total_cost"]) > 0), where

    sr = ans["special_review"]
    assert sr["eligible"] == bool(exp["sr_candidate"]), where
    assert "|".join(sr["reasons"]) == str(exp["sr_reasons"]), where

    # thresholds from the policy's bands and the group's mean cost, computed independently
    t = ans["thresholds"]
    gt = w.groups.set_index("group")
    drg = str(exp["drg"])
    if drg not in gt.index or not math.isfinite(gt.loc[drg, "mean_cost"]):
        assert t is None, where
        return
    mean = float(gt.loc[drg, "mean_cost"])
    multiple = pol.outliers.threshold(float(gt.loc[drg, "base_points"]))
    assert t["group_mean_cost"] == pytest.approx(mean, abs=0.005), where
    assert t["high_multiple"] == multiple
    assert t["high_cost"] == pytest.approx(multiple * mean, abs=0.005), where
    assert t["low_multiple"] == pol.outliers.low_multiple
    assert t["low_cost"] == pytest.approx(pol.outliers.low_multiple * mean, abs=0.005), where
    cost = case.get("total_cost")
    if cost is None:
        assert t["yuan_to_high"] is None and t["yuan_above_low"] is None
        return
    assert t["yuan_to_high"] == pytest.approx(multiple * mean - cost, abs=0.01), where
    assert t["yuan_above_low"] == pytest.approx(cost - pol.outliers.low_multiple * mean,
                                                abs=0.01), where
    # the thresholds say what the pricer did, away from the rounding edge
    if p["case_class"] == "high":
        assert t["yuan_to_high"] <= 0.01, where
    if p["case_class"] == "normal":
        assert t["yuan_to_high"] > -0.01 and t["yuan_above_low"] > -0.01, where


# ---- answers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_single_case_answers_match_group_and_price(policy, engines, scheme, sample):
    engine = engines[policy]
    client = make_client(engine)
    rows = sample[sample["year"] == 2025]
    picks = pd.concat([rows.iloc[:25], rows.sample(25, random_state=7)])
    cases = [to_json_case(r) for r in picks.to_dict("records")] + edge_cases(sample)
    want = expected([c for c in cases], scheme, engine)
    classes = set()
    for k, case in enumerate(cases):
        resp = client.post("/v1/preview", json=case)
        assert resp.status_code == 200, resp.text
        ans = resp.json()
        assert ans["case_id"] == case.get("case_id", "0")
        assert ans["explanation"] is None
        # one case alone: compare with the one-row table (no readmission partner)
        one = expected([case], scheme, engine).iloc[0]
        check_answer(ans, one, case, scheme, engine)
        classes.add(ans["payment"]["case_class"])
        if not case.get("patient_id"):
            assert ans["payment"]["points"] == pytest.approx(float(want.iloc[k]["points"]))
    # the sample exercises the interesting classes, so the checks above are not vacuous
    assert {"normal", "high", "low", "incomplete", "ungroupable"} <= classes


def test_batch_answers_match_group_and_price(engines, scheme, sample, client):
    engine = engines["zhejiang_drg"]
    rows = sample[sample["year"] == 2025].iloc[:400]
    cases = [to_json_case(r) for r in rows.to_dict("records")] + edge_cases(sample)
    resp = client.post("/v1/preview/batch", json={"cases": cases})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == len(cases) == len(body["results"])
    want = expected(cases, scheme, engine)
    for k, (ans, case) in enumerate(zip(body["results"], cases, strict=True)):
        assert ans["case_id"] == case.get("case_id", str(k))
        check_answer(ans, want.iloc[k], case, scheme, engine)


def test_batch_columns_format_is_the_rows_transposed(client, sample):
    rows = sample[sample["year"] == 2025].iloc[:60]
    cases = [to_json_case(r) for r in rows.to_dict("records")] + edge_cases(sample)
    by_rows = client.post("/v1/preview/batch", json={"cases": cases}).json()
    resp = client.post("/v1/preview/batch?format=columns", json={"cases": cases})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == len(cases) and set(body) == {"count", "columns"}
    cols = body["columns"]
    assert all(len(v) == len(cases) for v in cols.values())
    for k, ans in enumerate(by_rows["results"]):
        for key, value in ans.items():
            if key == "explanation":
                continue
            if isinstance(value, dict):
                for sub, v in value.items():
                    assert cols[f"{key}.{sub}"][k] == v, (k, key, sub)
            elif value is None:  # thresholds of a group without a mean: every column null
                assert all(cols[c][k] is None for c in cols if c.startswith(key + ".")), k
            else:
                assert cols[key][k] == value, (k, key)
    assert_error(client.post("/v1/preview/batch?format=csv", json={"cases": cases}), 422)


def test_columnar_batch_reader_equals_the_models(sample):
    """The column-wise batch reader gives the models' table, and leaves the rest to them."""
    from drgsim.service.columnar import NotPlain, parse_batch
    from drgsim.service.engine import cases_frame
    from drgsim.service.models import BatchIn

    rows = sample[sample["year"] == 2025].iloc[:300]
    cases = [to_json_case(r) for r in rows.to_dict("records")] + edge_cases(sample)
    cases[3] = {**cases[3], "new_tech": True, "admission_date": "2025-02-28",
                "procedures": [], "case_id": None}
    for body in ({"cases": cases}, {"cases": []}, {"cases": [MINIMAL, {**MINIMAL, "sex": None}]}):
        raw = json.dumps(body).encode()
        pd.testing.assert_frame_equal(parse_batch(raw),
                                      cases_frame(BatchIn.model_validate_json(raw).cases))
    # coercions, wrong types, bounds, extras, missing fields and non-JSON go to the models
    for odd in ({**MINIMAL, "age": 40.0}, {**MINIMAL, "sex": True}, {**MINIMAL, "new_tech": 1},
                {**MINIMAL, "total_cost": "12"}, {**MINIMAL, "age": 10**10},
                {**MINIMAL, "total_cost": 2e15}, {**MINIMAL, "dept": "x" * 201},
                {**MINIMAL, "diagnoses": ["K35.800|K40.900"]}, {**MINIMAL, "diagnoses": []},
                {**MINIMAL, "diagnoses": ["x" * 65]}, {**MINIMAL, "procedures": None},
                {**MINIMAL, "discharge_date": "2025-2-3"}, {**MINIMAL, "bogus": 1},
                {"sex": 1, "diagnoses": ["K35.800"]}, {"sex": 1, "age": 3}):
        with pytest.raises(NotPlain):
            parse_batch(json.dumps({"cases": [MINIMAL, odd]}).encode())
    for raw in (b'{"cases": [', b"[]", b'{"cases": {}}', b'{"cases": [1]}',
                b'{"cases": [], "more": 1}'):
        with pytest.raises(NotPlain):
            parse_batch(raw)


def test_batch_coerced_input_answers_as_single(client):
    """A case the models coerce (40.0 for an integer) is answered, as one case would be."""
    odd = {**MINIMAL, "age": 40.0, "total_cost": 9000, "los": 4, "hospital_id": "H001"}
    batch = client.post("/v1/preview/batch", json={"cases": [odd, MINIMAL]})
    assert batch.status_code == 200, batch.text
    one = client.post("/v1/preview", json=odd).json()
    assert batch.json()["results"][0] == one
    err = assert_error(client.post("/v1/preview/batch", json={"cases": [MINIMAL, {
        **MINIMAL, "age": "old"}]}), 422)
    assert err["detail"][0]["field"] == "cases.1.age"


def test_explain_on_request(client, scheme, sample):
    case = to_json_case(sample[sample["year"] == 2025].iloc[3].to_dict())
    ans = client.post("/v1/preview?explain=true", json=case).json()
    row = {**case, "diagnoses": "|".join(case["diagnoses"]),
           "procedures": "|".join(case["procedures"])}
    want = json.loads(json.dumps(grouper.explain(row, scheme).to_dict(), default=float))
    assert ans["explanation"]["drg"] == ans["group"]["drg"] == want["drg"]
    assert ans["explanation"]["attempts"] == want["attempts"]
    assert ans["explanation"]["severity"] == want["severity"]
    batch = client.post("/v1/preview/batch?explain=1", json={"cases": [case]}).json()
    assert batch["results"][0]["explanation"] == ans["explanation"]
    assert client.post("/v1/preview?explain=maybe", json=case).status_code == 422


def test_grouping_only_without_weights(scheme, sample):
    engine = PreviewEngine.load(ServiceSettings(scheme=grouper.demo_scheme_path()))
    c = make_client(engine)
    case = to_json_case(sample.iloc[0].to_dict())
    ans = c.post("/v1/preview", json=case).json()
    g = grouper.group(pd.DataFrame([{**case, "diagnoses": "|".join(case["diagnoses"]),
                                     "procedures": "|".join(case["procedures"])}]), scheme)
    assert ans["group"]["drg"] == g["drg"].iloc[0]
    assert ans["payment"] is None and ans["thresholds"] is None
    assert c.get("/v1/version").json()["weights"] is None


def test_health_version_and_docs(client, engines, scheme, weights_dirs):
    assert client.get("/v1/health").json() == {"status": "ok"}
    v = client.get("/v1/version").json()
    assert v["scheme"]["id"] == scheme.id
    assert v["scheme"]["content_hash"] == scheme.content_hash
    assert v["policy"]["name"] == "zhejiang_drg" and v["policy"]["kind"] == "drg"
    assert len(v["policy"]["content_hash"]) == 64
    assert v["weights"]["file"] == weights_dirs["zhejiang_drg"].name
    assert str(weights_dirs["zhejiang_drg"].parent) not in str(v)  # no server paths (issue 12)
    assert len(v["weights"]["content_hash"]) == 64
    other = make_client(engines["jinhua_drg"]).get("/v1/version").json()
    assert other["weights"]["content_hash"] != v["weights"]["content_hash"]
    spec = client.get("/openapi.json").json()
    assert {"/v1/preview", "/v1/preview/batch", "/v1/health", "/v1/version"} <= set(spec["paths"])
    assert "diagnoses" in spec["components"]["schemas"]["CaseIn"]["properties"]
    assert spec["paths"]["/v1/preview"]["post"]["requestBody"]["content"]["application/json"]
    assert client.get("/docs").status_code == 200


# ---- errors --------------------------------------------------------------------------------------

MINIMAL = {"sex": 1, "age": 40, "diagnoses": ["K35.800"]}


def assert_error(resp, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    return body


def test_malformed_json_is_400(client):
    for raw in (b'{"sex": 1,', b"not json", b"\xff\xfe", b""):
        assert_error(client.post("/v1/preview", content=raw,
                                 headers={"content-type": "application/json"}), 400)
    assert_error(client.post("/v1/preview/batch", content=b'{"cases": [',
                             headers={"content-type": "application/json"}), 400)


def test_body_too_large_is_413(engines):
    small = make_client(engines["zhejiang_drg"], max_body_bytes=2000)
    big = {"cases": [MINIMAL] * 100}
    assert_error(small.post("/v1/preview/batch", json=big), 413)

    def chunks():  # no Content-Length: the limit counts streamed bytes
        for _ in range(10):
            yield b" " * 500

    assert_error(small.post("/v1/preview", content=chunks(),
                            headers={"content-type": "application/json"}), 413)
    assert small.post("/v1/preview", json=MINIMAL).status_code == 200


@pytest.mark.parametrize("body,field,words", [
    ({"age": 40, "diagnoses": ["K35.800"]}, "sex", "required"),
    ({**MINIMAL, "sex": "male"}, "sex", "integer"),
    ({**MINIMAL, "diagnoses": []}, "diagnoses", "at least 1"),
    ({**MINIMAL, "diagnoses": "K35.800"}, "diagnoses", "array"),
    ({**MINIMAL, "diagnoses": ["K35.800|K40.900"]}, "diagnoses", "one code per array element"),
    ({**MINIMAL, "total_cost": "a lot"}, "total_cost", "number"),
    ({**MINIMAL, "discharge_date": "2025-13-01"}, "discharge_date", "date"),
    ({**MINIMAL, "age": 10**12}, "age", "less than or equal"),
    ({**MINIMAL, "weight": 3}, "weight", "extra"),
])
def test_invalid_case_is_422_with_field_and_problem(client, body, field, words):
    err = assert_error(client.post("/v1/preview", json=body), 422)
    fields = [d["field"] for d in err["detail"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), err
    assert any(words.lower() in d["problem"].lower() for d in err["detail"]), err


def test_batch_validation(engines, client):
    err = assert_error(client.post("/v1/preview/batch", json={"cases": [MINIMAL, {"sex": 1}]}),
                       422)
    assert any(d["field"].startswith("cases.1.") for d in err["detail"])
    assert_error(client.post("/v1/preview/batch", json=[MINIMAL]), 422)
    limited = make_client(engines["zhejiang_drg"], batch_limit=3)
    err = assert_error(limited.post("/v1/preview/batch", json={"cases": [MINIMAL] * 4}), 422)
    assert err["detail"][0]["field"] == "cases" and "at most 3" in err["detail"][0]["problem"]
    assert limited.post("/v1/preview/batch", json={"cases": [MINIMAL] * 3}).status_code == 200


def test_unknown_paths_and_methods(client):
    assert_error(client.get("/v1/nothing"), 404)
    assert_error(client.get("/v1/preview"), 405)


def test_unexpected_error_is_generic_500(engines, monkeypatch):
    engine = engines["zhejiang_drg"]
    c = make_client(engine)

    def boom(*a, **k):
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(engine, "preview_one", boom)
    resp = c.post("/v1/preview", json=MINIMAL)
    body = assert_error(resp, 500)
    assert body == {"error": "internal error"}
    assert "secret" not in resp.text


# ---- start-up ------------------------------------------------------------------------------------


def test_startup_failures_are_one_line(tmp_path, weights_dirs):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nkind = "drg"\n[outliers]\nlow_multiple = 7\n', encoding="utf-8")
    for kw in ({"scheme": tmp_path / "nope"},
               {"scheme": grouper.demo_scheme_path(), "policy": "nosuch_preset"},
               {"scheme": grouper.demo_scheme_path(), "policy": str(bad)},
               {"scheme": grouper.demo_scheme_path(), "policy": "zhejiang_drg",
                "weights": tmp_path},
               {"scheme": grouper.demo_scheme_path(), "weights": weights_dirs["zhejiang_drg"]}):
        with pytest.raises(StartupError) as info:
            create_app(ServiceSettings(**kw))
        assert "\n" not in str(info.value) and str(info.value)


def test_serve_command_exits_nonzero_with_message(tmp_path):
    from typer.testing import CliRunner

    from drgsim.cli import app

    res = CliRunner().invoke(app, ["serve", "--scheme", str(tmp_path / "nope")])
    assert res.exit_code == 2
    out = res.output.strip()
    assert out.startswith("drgsim serve: cannot load scheme") and "\n" not in out
    assert "Traceback" not in out
    res = CliRunner().invoke(app, ["serve", "--scheme", str(grouper.demo_scheme_path()),
                                   "--policy", "nosuch"])
    assert res.exit_code == 2 and "invalid policy nosuch" in res.output


# ---- fuzz ----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20,
)
field_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 200),
                         st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
                         st.lists(st.text(max_size=12), max_size=4), json_values)
case_like = st.fixed_dictionaries(
    {"sex": st.integers(0, 3), "age": st.integers(-2, 120),
     "diagnoses": st.lists(st.text(max_size=10), min_size=1, max_size=4)},
    optional={f: field_values for f in ("case_id", "hospital_id", "hospital_level", "los",
                                        "discharge_mode", "total_cost", "procedures",
                                        "age_days", "birth_weight", "dept", "new_tech",
                                        "new_tech_cost", "discharge_date", "bogus")},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, case_like, st.binary(max_size=40)))
def test_fuzz_never_500_never_a_trace(client, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    for path in ("/v1/preview", "/v1/preview/batch"):
        data = raw if path == "/v1/preview" or isinstance(body, bytes) else json.dumps(
            {"cases": [body]})
        resp = client.post(path, content=data, headers={"content-type": "application/json"})
        assert resp.status_code in (200, 400, 422), (resp.status_code, resp.text)
        assert "Traceback" not in resp.text
        if resp.status_code != 200:
            assert "error" in resp.json()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_fast_path_equals_table_path(engines, scheme, data):
    """Random cases from the demo scheme's own codes: the one-case path equals group + price."""
    engine = engines["zhejiang_drg"]
    t = scheme.tables
    dx = st.sampled_from(sorted(t["dx_map"]["input_code"])[::7] + ["", "X99.999", "k35.800 "])
    pr = st.sampled_from(sorted(t["proc_map"]["input_code"])[::5] + ["", "99.9999x"])
    case = data.draw(st.fixed_dictionaries({
        "case_id": st.just("F1"), "sex": st.sampled_from([1, 2, 9]),
        "age": st.integers(-1, 100), "diagnoses": st.lists(dx, min_size=1, max_size=5),
        "procedures": st.lists(pr, max_size=3),
    }, optional={
        "hospital_id": st.sampled_from(["H001", "H010", "H030", "H999"]),
        "hospital_level": st.integers(1, 3), "los": st.integers(0, 90),
        "discharge_mode": st.sampled_from([1, 2, 3, 4, 5, 9]),
        "total_cost": st.floats(0, 2e6, allow_nan=False), "age_days": st.integers(0, 40),
        "birth_weight": st.integers(300, 5000), "new_tech": st.booleans(),
        "dept": st.sampled_from(["NEO", "ICU", "CARD", "X"]),
    }))
    from drgsim.service.models import CaseIn

    ans = engine.preview_one(CaseIn.model_validate(case), "F1")
    check_answer(ans, expected([case], scheme, engine).iloc[0], case, scheme, engine)
