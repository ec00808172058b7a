"""Regional forms: the ``icu_hours`` case field and ``any_sproc_in`` (foshan-2022 README).

A copy of the demo scheme whose rule ER1 (pdx in ER1:dx) branches on them; every expected
DRG below is worked out by hand from the three branches.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from naive import NaiveGrouper

import grouper
from grouper.explain import explain_all
from grouper.schema import alias_map

COLS = ["status", "mdc", "adrg", "drg"]


@pytest.fixture(scope="module")
def scheme(tmp_path_factory):
    dst = tmp_path_factory.mktemp("regional") / "demo-icu"
    shutil.copytree(grouper.demo_scheme_path(), dst,
                    ignore=shutil.ignore_patterns("*.py", "README.md", "__pycache__"))
    f = dst / "scheme.json"
    meta = json.loads(f.read_text(encoding="utf-8"))
    meta["adrg_rules"]["ER1"]["branches"] = [
        {"drg": "ER11", "when": {"op": "cmp", "field": "icu_hours", "cmp": ">", "value": 120}},
        {"drg": "ER13", "when": {"op": "any_sproc_in", "list": "AH1:vent96"}},
        {"drg": "ER15", "when": {"op": "true"}},
    ]
    f.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return grouper.load_scheme(dst)


def _cases(rows):
    base = {"sex": 1, "age": 60, "age_days": None, "birth_weight": None, "dept": "", "los": 5,
            "diagnoses": "C34.100"}
    return pd.DataFrame([{**base, "case_id": str(k), **r} for k, r in enumerate(rows)])


CASES = [
    ({"icu_hours": 121, "procedures": ""}, "ER11"),        # > 120
    ({"icu_hours": 120, "procedures": ""}, "ER15"),        # not > 120
    ({"icu_hours": None, "procedures": ""}, "ER15"),       # missing: the comparison is false
    ({"icu_hours": 0, "procedures": "96.7100|96.7200"}, "ER13"),   # a secondary procedure in the list
    ({"icu_hours": 0, "procedures": "96.7200"}, "ER15"),   # the main procedure does not count
    ({"icu_hours": 0, "procedures": "96.7200|96.7100"}, "ER15"),
    ({"icu_hours": 500, "procedures": "96.7100|96.7200"}, "ER11"),  # first branch first
]


def test_icu_hours_and_any_sproc_in_by_hand(scheme):
    df = _cases([r for r, _ in CASES])
    out = grouper.group(df, scheme, strict=True)
    assert list(out["drg"]) == [d for _, d in CASES]
    assert (out["status"] == "SUCCESS").all()


def test_explain_and_naive_agree(scheme):
    df = _cases([r for r, _ in CASES])
    out = grouper.group(df, scheme, strict=True)
    xs = explain_all(df, scheme, strict=True)
    assert [x.drg for x in xs] == list(out["drg"])
    text = " ".join(str(x) for x in xs)
    assert "icu_hours>120" in text and "any_sproc_in(AH1:vent96)" in text
    nv = NaiveGrouper(scheme)
    assert [nv.group(r)[3] for r in df.to_dict("records")] == list(out["drg"])


def test_icu_hours_without_the_column_is_missing(scheme):
    df = _cases([{"procedures": ""}]).drop(columns=[], errors="ignore")
    assert "icu_hours" not in df.columns
    assert grouper.group(df, scheme, strict=True)["drg"].tolist() == ["ER15"]


def test_chinese_headers_of_icu_hours(tmp_path, scheme):
    amap = alias_map()
    assert amap["ICU时长"] == "icu_hours" and amap["重症监护时长"] == "icu_hours"
    p = tmp_path / "c.csv"
    pd.DataFrame({"病案号": ["a", "b"], "性别": [1, 1], "年龄": [60, 60], "诊断": ["C34.100"] * 2,
                  "重症监护时长": [121, 3]}).to_csv(p, index=False)
    cases = grouper.read_cases(p)
    assert list(cases["icu_hours"]) == [121, 3]
    assert grouper.group(cases, scheme, strict=True)["drg"].tolist() == ["ER11", "ER15"]


def _with_result_codes(tmp_path, codes):
    dst = tmp_path / "demo-rc"
    shutil.copytree(grouper.demo_scheme_path(), dst,
                    ignore=shutil.ignore_patterns("*.py", "README.md", "__pycache__"))
    f = dst / "scheme.json"
    meta = json.loads(f.read_text(encoding="utf-8"))
    meta["grouping"]["result_codes"] = codes
    f.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return grouper.load_scheme(dst)


def test_result_codes_of_a_scheme(tmp_path):
    s = _with_result_codes(tmp_path, {"fail": ["0000", "00", "0000A"], "fail_mdc_drg": "0000B",
                                      "not_grouped": ["", "", ""]})
    df = _cases([
        {"procedures": ""},                        # ER1 -> ER15 (the demo's own branches)
        {"procedures": "", "sex": 3},              # CHECK_FAILED
        {"procedures": "", "diagnoses": "X99.999"},  # ZD_NOT_MAPPING
        {"procedures": "", "diagnoses": "K74.600"},  # in no list of the demo: no group
    ])
    out = grouper.group(df, s, strict=True)
    got = [tuple(r) for r in out[COLS].astype(str).to_numpy()]
    assert got[0] == ("SUCCESS", "MDCE", "ER1", "ER15")
    assert got[1] == ("CHECK_FAILED", "", "", "")
    assert got[2] == ("ZD_NOT_MAPPING", "", "", "")
    assert got[3] == ("FAIL", "0000", "00", "0000A")
    xs = explain_all(df, s, strict=True)
    assert [(x.status, x.mdc, x.adrg, x.drg) for x in xs] == got
    nv = NaiveGrouper(s)
    assert [nv.group(r) for r in df.to_dict("records")] == got


@pytest.mark.parametrize("codes,key", [
    ({"fail": ["0000", "00"]}, "grouping.result_codes.fail"),
    ({"not_grouped": "0000"}, "grouping.result_codes.not_grouped"),
    ({"fail_mdc_drg": 0}, "grouping.result_codes.fail_mdc_drg"),
    ({"nope": "x"}, "grouping.result_codes.nope"),
])
def test_bad_result_codes_name_the_key(tmp_path, codes, key):
    # validated when the scheme is loaded, before anything is grouped
    with pytest.raises(grouper.SchemeError, match=key.replace(".", r"\.")):
        _with_result_codes(tmp_path, codes)
