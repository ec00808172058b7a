"""The service's one-case path equals its table path, answer for answer, field for field.

``PreviewEngine.preview_one`` feeds one case's fields straight into the grouper's and the
pricer's column functions (a list of texts to the tokenizer, one-element arrays to
``PreparedPrices``); ``preview_batch`` builds a DataFrame and runs ``grouper.group``'s encoder
and ``payment.price``. Every 2025 case of the sample region is previewed both ways (the whole
answer compared with ``==``: group, warnings, every payment and threshold field, special
review), under a hospital-coefficient and a level-coefficient policy; plus hand-made cases
probing the input checks, code repairs and special-review rules. The grouper-level pieces the
one-case path uses (list tokenizing, the input-check kernel) are held to the Arrow path and to
hand-computed statuses.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import grouper
import payment
from drgsim.service import ServiceSettings
from drgsim.service.engine import PreviewEngine
from drgsim.service.models import CaseIn
from grouper.encode import tokenize
from grouper.engine import NUM_FIELDS, dept_ids, encode_inputs, engine_for

SAMPLE = Path(__file__).resolve().parents[1] / "sample_cases" / "cases.csv"
POLICIES = ("zhejiang_drg", "jinhua_drg")
INTS = {"hospital_level", "sex", "age", "age_days", "birth_weight", "los", "discharge_mode",
        "year"}
FIELDS = ("case_id", "hospital_id", "hospital_level", "patient_id", "sex", "age", "age_days",
          "birth_weight", "dept", "los", "discharge_mode", "total_cost", "admission_date",
          "discharge_date", "year", "patient_paid", "new_tech_cost", "alliance_id")


@pytest.fixture(scope="module")
def scheme():
    return grouper.load_scheme(grouper.demo_scheme_path())


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return grouper.read_cases(SAMPLE)


@pytest.fixture(scope="module")
def engines(scheme, sample, tmp_path_factory) -> dict[str, PreviewEngine]:
    hist = sample[sample["year"] < 2025]
    g = grouper.group(hist, scheme)
    hist = hist.assign(status=g["status"].astype(str).to_numpy(), drg=g["drg"].to_numpy())
    out = {}
    for name in POLICIES:
        d = payment.compute_weights(hist, payment.load_policy(name)).save(
            tmp_path_factory.mktemp(name))
        out[name] = PreviewEngine.load(ServiceSettings(
            scheme=grouper.demo_scheme_path(), policy=name, weights=d))
    return out


def as_case(row: dict[str, Any]) -> dict[str, Any]:
    """A canonical row as the JSON case a hospital system sends (codes as arrays)."""
    out: dict[str, Any] = {}
    for f in FIELDS:
        v = row.get(f)
        if v is None or v is pd.NA or v is pd.NaT or v == "" or (
                isinstance(v, float) and math.isnan(v)):
            continue
        if f in INTS:
            out[f] = int(v)
        elif f.endswith("_date"):
            out[f] = str(v)[:10]
        elif isinstance(v, (int, float, np.integer, np.floating)):
            out[f] = float(v)
        else:
            out[f] = str(v)
    out["diagnoses"] = str(row.get("diagnoses") or "").split("|")
    pr = row.get("procedures")
    out["procedures"] = str(pr).split("|") if isinstance(pr, str) and pr else []
    return out


def hand_cases(base: dict[str, Any]) -> list[dict[str, Any]]:
    """Variants of one case through every input check, repair and pricing edge."""
    dx0 = base["diagnoses"][0]
    variants = [
        {"diagnoses": ["ZZZ.999"]}, {"diagnoses": [" " + dx0.lower() + " "]},
        {"diagnoses": [dx0, ""]}, {"diagnoses": [""]}, {"diagnoses": ["Ｉ２１．０００"]},
        {"sex": 3}, {"sex": None}, {"age": -1}, {"age": 151}, {"age": None}, {"age": 0},
        {"age": 0, "age_days": 40}, {"age": 0, "age_days": 3},
        {"age": 0, "age_days": 3, "birth_weight": 1200, "total_cost": 400_000.0},
        {"age": 0, "age_days": 3, "birth_weight": 12000}, {"los": -1}, {"los": 1},
        {"los": 75}, {"discharge_mode": 2}, {"discharge_mode": 4}, {"discharge_mode": None},
        {"total_cost": 1.0}, {"total_cost": 5_000_000.0}, {"total_cost": None},
        {"total_cost": -5.0}, {"new_tech": True}, {"new_tech_cost": 800.0}, {"icu": True},
        {"hospital_id": "H999"}, {"hospital_id": None}, {"hospital_level": None},
        {"hospital_level": 1}, {"procedures": ["00.0000"]}, {"procedures": [""]},
        {"dept": "NOSUCH"}, {"dept": "NEO"}, {"dept": ""},
    ]
    out = []
    for k, v in enumerate(variants):
        c = {**base, "case_id": f"HAND{k:02d}", **v}
        # sex and age are required keys (null allowed); other missing fields are left out
        out.append({key: val for key, val in c.items()
                    if val is not None or key in ("sex", "age")})
    return out


@pytest.mark.parametrize("policy", POLICIES)
def test_every_sample_case_one_equals_batch(policy, engines, sample):
    """All 2025 sample cases: ``preview_one`` == their row of one ``preview_batch``.

    Patient ids are left out so that no two cases of the batch can meet the readmission rule
    (the one cross-case rule of a batch preview); one-row batches with them follow below."""
    engine = engines[policy]
    rows = sample[sample["year"] == 2025].to_dict("records")
    cases = [CaseIn.model_validate({k: v for k, v in as_case(r).items() if k != "patient_id"})
             for r in rows]
    batch = engine.preview_batch(cases)
    assert len(batch) == len(cases) == len(rows) > 4000
    classes, statuses = set(), set()
    for k, (case, want) in enumerate(zip(cases, batch, strict=True)):
        got = engine.preview_one(case, case.case_id)
        assert got == want, (k, case.case_id)
        classes.add(got["payment"]["case_class"])
        statuses.add(got["status"])
    # the sample reaches the interesting classes and statuses, so the equality is not vacuous
    assert {"normal", "high", "low", "incomplete", "ungroupable"} <= classes
    assert {"SUCCESS", "QY"} <= statuses and len(statuses) >= 3


@pytest.mark.parametrize("policy", POLICIES)
def test_hand_cases_one_equals_one_row_batch(policy, engines, sample):
    """Hand-made edge cases and sample cases with their patient ids: ``preview_one`` ==
    ``preview_batch`` of that case alone, every field."""
    engine = engines[policy]
    rows = sample[sample["year"] == 2025]
    base = as_case(rows.iloc[0].to_dict())
    picks = [as_case(r) for r in rows.sample(60, random_state=3).to_dict("records")]
    cases = hand_cases(base) + picks
    seen = set()
    for raw in cases:
        case = CaseIn.model_validate(raw)
        cid = raw.get("case_id", "0")
        got = engine.preview_one(case, cid)
        (want,) = engine.preview_batch([case.model_copy(update={"case_id": cid})])
        assert got == want, raw
        seen.add(got["status"])
        if got["payment"] is not None:
            seen.add(got["payment"]["case_class"])
        if got["special_review"] and got["special_review"]["eligible"]:
            seen.add("sr")
    assert {"CHECK_FAILED", "ZD_NOT_MAPPING", "SUCCESS", "high", "low", "sr"} <= seen


# ---- the grouper pieces of the one-case path --------------------------------------------------

TEXTS = ["A00.000|B01.100", "", None, "k35.800 ", "I21.000,I10.x00|", "|", "Ｉ２１．０００",
         "X99.999|I10.x00", "ＺＺ|é", "I10.x00"]


def test_tokenize_list_equals_arrow(scheme):
    e = engine_for(scheme)
    for empty_is_none in (False, True):
        for texts in (TEXTS, TEXTS[:1], [None], [""], ["I21.000,I10.x00|"]):
            a = tokenize(pa.array(texts, pa.large_string()), e.dx_vocab, empty_is_none,
                         e.dx_ok)
            b = tokenize(list(texts), e.dx_vocab, empty_is_none, e.dx_ok)
            assert a.ids.tolist() == b.ids.tolist(), texts
            assert a.row_off.tolist() == b.row_off.tolist(), texts
            assert a.rejected_texts().to_pylist() == b.rejected_texts().to_pylist(), texts


def test_encode_inputs_lists_equal_arrow_on_the_sample(scheme, sample):
    """The sample's code columns as lists of texts encode exactly as Arrow arrays do."""
    s = sample[sample["year"] == 2025].iloc[:500]
    dx = s["diagnoses"].astype(object).where(s["diagnoses"].notna(), None).tolist()
    pr = s["procedures"].astype(object).where(s["procedures"].notna(), None).tolist()
    nums = np.array([s[f].astype("float64").to_numpy() if f in s.columns
                     else np.full(len(s), np.nan) for f in NUM_FIELDS])
    depts = dept_ids(s["dept"], scheme)
    a = encode_inputs(pa.array(dx, pa.large_string()), pa.array(pr, pa.large_string()), nums,
                      depts, scheme)
    b = encode_inputs(dx, pr, nums, depts, scheme)
    for k in a[0]:
        assert np.array_equal(a[0][k], b[0][k], equal_nan=k == "nums"), k
    assert a[1].tolist() == b[1].tolist() and a[2] == b[2]


def test_input_checks_hand_computed(scheme):
    """Statuses of the input checks (scheme README step 2), worked out by hand: 3 =
    CHECK_FAILED, 4 = ZD_NOT_MAPPING, -1 = to group."""
    nan = math.nan
    #        sex  age  age_days weight los   status  impossible-warning
    rows = [(1, 40, nan, nan, 5, -1, False),
            (3, 40, nan, nan, 5, 3, False),      # sex neither 1 nor 2
            (nan, 40, nan, nan, 5, 3, False),    # sex missing
            (1, nan, nan, nan, 5, 3, False),     # age missing
            (2, 0, nan, nan, 5, 3, False),       # age 0 without age_days
            (2, 0, 10, nan, 5, 3, False),        # newborn without birth weight
            (2, 0, 28, 3000, 5, -1, False),
            (2, 0, 40, nan, 5, -1, False),       # 40 days: not a newborn, no weight needed
            (1, 151, nan, nan, 5, 3, True),      # impossible age
            (1, -1, nan, nan, 5, 3, True),
            (1, 40, nan, nan, -1, 3, True),      # impossible los
            (2, 0, 3, 10001, 5, 3, True),        # impossible birth weight
            (3, 151, nan, nan, 5, 3, False)]     # already failed: no impossible warning
    n = len(rows)
    nums = np.full((len(NUM_FIELDS), n), nan)
    for k, r in enumerate(rows):
        nums[:5, k] = r[:5]
    dx = ["I10.x00"] * n
    arrays, status, warns = encode_inputs(dx, [""] * n, nums, np.zeros(n, np.int32), scheme)
    assert status.tolist() == [r[5] for r in rows]
    assert sorted(warns) == [k for k, r in enumerate(rows) if r[6]]
    assert all(w == ["impossible age, age_days, birth_weight or los"] for w in warns.values())
    assert arrays["todo"].tolist() == [r[5] == -1 for r in rows]
    # strict mode has no impossible-value check; an unknown principal diagnosis is ZD
    _, status, warns = encode_inputs(["ZZZ.999"] + dx[1:], [""] * n, nums,
                                     np.zeros(n, np.int32), scheme, strict=True)
    assert status.tolist() == [4] + [-1 if r[6] else r[5] for r in rows[1:]] and not warns
