"""Grouper: scheme loading and errors, case files, modes, normalisation, bad input, properties."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive import NaiveGrouper
from shared_data import SCHEMES, read_corpus, require_shared

import grouper
from grouper import scheme_cache
from grouper.errors import CaseFileError, SchemeError

COLS = ["status", "mdc", "adrg", "drg"]


# --- the kernel against the naive reference ---------------------------------------------------


def test_kernel_equals_naive_reference_on_sample_cases(demo_scheme, sample_cases):
    out = grouper.group(sample_cases, demo_scheme, strict=True)
    ng = NaiveGrouper(demo_scheme)
    naive = [ng.group(r) for r in sample_cases.to_dict("records")]
    got = [tuple(map(str, r)) for r in out[COLS].itertuples(index=False)]
    assert got == naive
    # the sample region exercises every outcome the demo scheme can give
    assert {"SUCCESS", "QY", "CHECK_FAILED", "ZD_NOT_MAPPING"} <= set(out["status"].astype(str))


@pytest.mark.parametrize("scheme_name", SCHEMES)
def test_kernel_equals_naive_reference_on_shared_edge_cases(scheme_name):
    base = require_shared() / "schemes" / scheme_name
    s = grouper.load_scheme(base)
    cases = read_corpus(base / "conformance" / "edge_cases.csv")
    ng = NaiveGrouper(s)
    for mapping in (True, False):
        out = grouper.group(cases, s, strict=True, mapping=mapping)
        naive = [ng.group(r, mapping) for r in cases.to_dict("records")]
        assert [tuple(map(str, r)) for r in out[COLS].itertuples(index=False)] == naive


# --- scheme loading ------------------------------------------------------------------------------


def _copy_demo(tmp_path: Path) -> Path:
    d = tmp_path / "demo"
    shutil.copytree(grouper.demo_scheme_path(), d)
    return d


def _edit_json(d: Path, fn) -> None:
    p = d / "scheme.json"
    meta = json.loads(p.read_text("utf-8"))
    fn(meta)
    p.write_text(json.dumps(meta, ensure_ascii=False), "utf-8")


def test_changed_table_is_rejected_by_its_hash(tmp_path):
    d = _copy_demo(tmp_path)
    with open(d / "drgs.csv", "a", encoding="utf-8") as f:
        f.write("ZZ99,ZZ9,Z,x,none\n")
    with pytest.raises(SchemeError, match=r"drgs\.csv: file: sha256 .* differs"):
        grouper.load_scheme(d)


def test_unknown_op_names_the_json_path(tmp_path):
    d = _copy_demo(tmp_path)
    first = None

    def edit(m):
        nonlocal first
        first = next(iter(m["adrg_rules"]))
        m["adrg_rules"][first]["entry"] = {"op": "pdx_like", "list": "X"}

    _edit_json(d, edit)
    with pytest.raises(SchemeError) as e:
        grouper.load_scheme(d)
    assert f"adrg_rules.{first}.entry" in str(e.value) and "unknown op 'pdx_like'" in str(e.value)
    assert "allowed" in str(e.value)


def test_missing_list_and_wrong_kind_are_named(tmp_path):
    d = _copy_demo(tmp_path)
    _edit_json(d, lambda m: m["mdcs"][m["grouping"]["mdc_order"][0]].update(entry={"op": "pdx_in", "list": "NO_SUCH_LIST"}))
    with pytest.raises(SchemeError, match="list 'NO_SUCH_LIST' is not in lists.csv"):
        grouper.load_scheme(d)
    d2 = _copy_demo(tmp_path / "b")
    _edit_json(d2, lambda m: m["mdcs"][m["grouping"]["mdc_order"][0]].update(entry={"op": "pdx_in", "list": "OR_PROCEDURES"}))
    with pytest.raises(SchemeError, match="needs a dx list; 'OR_PROCEDURES' is pr"):
        grouper.load_scheme(d2)


def test_bad_cmp_and_bad_row_are_named(tmp_path):
    d = _copy_demo(tmp_path)
    _edit_json(d, lambda m: m["mdcs"][m["grouping"]["mdc_order"][0]].update(entry={"op": "cmp", "field": "age", "cmp": "=~", "value": 3}))
    with pytest.raises(SchemeError, match=r"\.cmp: '=~'; allowed"):
        grouper.load_scheme(d)
    d2 = _copy_demo(tmp_path / "b")
    text = (d2 / "cc_mcc.csv").read_text("utf-8").splitlines()
    text[3] = text[3].replace(",CC,", ",SEVERE,").replace(",MCC,", ",SEVERE,")
    (d2 / "cc_mcc.csv").write_text("\n".join(text) + "\n", "utf-8")
    _edit_json(d2, lambda m: m["tables"]["cc_mcc"].pop("sha256"))
    with pytest.raises(SchemeError, match=r"cc_mcc\.csv: row 3, column 'level': 'SEVERE': allowed: 'CC', 'MCC'"):
        grouper.load_scheme(d2)


def test_missing_scheme_and_bad_json(tmp_path):
    with pytest.raises(SchemeError, match="does not exist"):
        grouper.load_scheme(tmp_path / "nothing")
    (tmp_path / "scheme.json").write_text("{not json", "utf-8")
    with pytest.raises(SchemeError, match="not valid UTF-8 JSON"):
        grouper.load_scheme(tmp_path)


def test_compiled_scheme_is_cached_by_content_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("DRGSIM_CACHE", str(tmp_path / "cache"))
    s = grouper.load_scheme(grouper.demo_scheme_path())
    first = s.compiled
    files = list((tmp_path / "cache").glob("scheme-*.npz"))
    assert len(files) == 1 and s.content_hash[:32] in files[0].name

    def boom(_):
        raise AssertionError("compiled again despite the cache")

    monkeypatch.setattr(scheme_cache, "compile_scheme", boom)
    again = grouper.load_scheme(grouper.demo_scheme_path()).compiled
    assert np.array_equal(again.prog, first.prog) and again.results == first.results


# --- modes and normalisation --------------------------------------------------------------------


def _case(**kw):
    base = dict(case_id="x1", sex=1, age=40, age_days=None, birth_weight=None, dept="A03", los=5,
                diagnoses="", procedures="")
    base.update(kw)
    return base


def _demo_codes(demo_scheme):
    """A clean sample case of the demo region with a principal diagnosis and a procedure."""
    t = demo_scheme.tables
    pdx = t["dx_map"]["input_code"][t["dx_map"]["input_code"] == t["dx_map"]["grouper_code"]]
    return pdx


def test_normalisation_repairs_and_warns(demo_scheme, sample_cases):
    clean = grouper.group(sample_cases, demo_scheme, strict=True)
    row = sample_cases[(clean["status"].astype(str) == "SUCCESS").to_numpy()
                       & sample_cases["procedures"].notna().to_numpy()
                       & sample_cases["diagnoses"].str.contains(r"[A-Z]\d\d\.\d", regex=True).to_numpy()].iloc[0]
    want = clean.loc[row.name, COLS].astype(str).tolist()
    dx = row["diagnoses"].split("|")
    variants = {
        "lower": "|".join([dx[0].lower(), *dx[1:]]),
        "spaces": "|".join([f"  {dx[0]} ", *dx[1:]]),
        "fullwidth": "|".join([dx[0].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789."}), *dx[1:]]),
        "nodot": "|".join([dx[0].replace(".", "", 1), *dx[1:]]),
        "trailing": row["diagnoses"] + "|",
    }
    df = pd.DataFrame([{**row.to_dict(), "case_id": k, "diagnoses": v} for k, v in variants.items()])
    strict = grouper.group(df, demo_scheme, strict=True)
    fixed = grouper.group(df, demo_scheme)
    assert (strict["status"].astype(str) == "ZD_NOT_MAPPING").all()
    assert fixed[COLS].astype(str).values.tolist() == [want] * len(df)
    assert (fixed["warnings"].astype(str) != "").all()
    assert "letter case corrected" in fixed["warnings"].iloc[0]
    assert "dot corrected" in fixed["warnings"].iloc[3]
    assert "empty diagnosis token dropped" in fixed["warnings"].iloc[4]


def test_missing_principal_is_not_repaired(demo_scheme, sample_cases):
    row = sample_cases.iloc[0].to_dict()
    row["diagnoses"] = "|" + row["diagnoses"]
    out = grouper.group(pd.DataFrame([row]), demo_scheme)
    assert out["status"].iloc[0] == "ZD_NOT_MAPPING"
    assert "principal diagnosis missing" in out["warnings"].iloc[0]


def test_map_chain_uses_the_reference_in_place_walk(demo_scheme):
    """a -> b, b -> c: [a, b] maps to [c, b] (README step 1.2), not element-wise [b, c]."""
    m = dict(zip(demo_scheme.tables["dx_map"]["input_code"], demo_scheme.tables["dx_map"]["grouper_code"]))
    a = next(x for x, y in m.items() if y != x and y in m and m[y] != y)
    b, c = m[a], m[m[a]]
    ng = NaiveGrouper(demo_scheme)
    assert ng._map([a, b], m) == [c, b]
    df = pd.DataFrame([_case(case_id="chain", age=0, age_days=3, birth_weight=2000, diagnoses=f"{a}|{b}"),
                       _case(case_id="rev", age=0, age_days=3, birth_weight=2000, diagnoses=f"{b}|{a}")])
    out = grouper.group(df, demo_scheme, strict=True)
    assert [tuple(map(str, r)) for r in out[COLS].itertuples(index=False)] == [ng.group(r) for r in df.to_dict("records")]


def test_check_failed_rules(demo_scheme, sample_cases):
    good = sample_cases[sample_cases["age"] > 0].iloc[0].to_dict()
    rows = [
        {**good, "case_id": "sex9", "sex": 9},
        {**good, "case_id": "nosex", "sex": None},
        {**good, "case_id": "noage", "age": None},
        {**good, "case_id": "newborn_no_days", "age": 0, "age_days": None},
        {**good, "case_id": "newborn_no_weight", "age": 0, "age_days": 10, "birth_weight": None},
        {**good, "case_id": "weight0", "age": 0, "age_days": 10, "birth_weight": 0},
        {**good, "case_id": "negative_age", "age": -3},
    ]
    strict = grouper.group(pd.DataFrame(rows), demo_scheme, strict=True)["status"].astype(str).tolist()
    default = grouper.group(pd.DataFrame(rows), demo_scheme)["status"].astype(str).tolist()
    assert strict[:5] == ["CHECK_FAILED"] * 5
    assert strict[5] != "CHECK_FAILED"  # weight 0 passes the check (README step 1.4)
    assert strict[6] != "CHECK_FAILED" and default[6] == "CHECK_FAILED"  # impossible age: default mode only


# --- case files ----------------------------------------------------------------------------------


def test_read_cases_chinese_headers_and_split_columns(tmp_path, demo_scheme, sample_cases):
    src = sample_cases.iloc[:50].copy()
    parts = src["diagnoses"].str.split("|", n=1, expand=True)
    cn = pd.DataFrame({
        "病案号": src["case_id"], "性别": src["sex"].map({1: "男", 2: "女"}).fillna(""), "年龄": src["age"],
        "年龄(天)": src["age_days"], "新生儿出生体重": src["birth_weight"], "住院天数": src["los"],
        "离院方式": src["discharge_mode"], "主要诊断": parts[0], "其他诊断": parts[1].fillna("").str.replace("|", "；"),
        "手术操作": src["procedures"], "科室": src["dept"], "总费用": src["total_cost"],
        "医疗机构编码": src["hospital_id"], "医院等级": src["hospital_level"],
    })
    p = tmp_path / "export.csv"
    cn.to_csv(p, index=False, encoding="gb18030")
    got = grouper.read_cases(p)
    assert {"case_id", "sex", "age", "diagnoses", "procedures", "hospital_id", "total_cost"} <= set(got.columns)
    a = grouper.group(got, demo_scheme)
    b = grouper.group(src.reset_index(drop=True), demo_scheme)
    assert a[COLS].astype(str).values.tolist() == b[COLS].astype(str).values.tolist()


def test_read_cases_parquet_xlsx_and_list_columns(tmp_path, demo_scheme, sample_cases):
    src = sample_cases.iloc[:40].reset_index(drop=True)
    want = grouper.group(src, demo_scheme)[COLS].astype(str).values.tolist()
    lists = src.assign(diagnoses=src["diagnoses"].str.split("|"),
                       procedures=src["procedures"].fillna("").map(lambda s: s.split("|") if s else []))
    tbl = pa.Table.from_pandas(lists[["case_id", "sex", "age", "age_days", "birth_weight", "dept", "los", "diagnoses", "procedures"]])
    assert pa.types.is_list(tbl.schema.field("diagnoses").type)
    pq_path = tmp_path / "c.parquet"
    import pyarrow.parquet as pq

    pq.write_table(tbl, pq_path)
    assert grouper.group(grouper.read_cases(pq_path), demo_scheme)[COLS].astype(str).values.tolist() == want
    assert grouper.group(tbl, demo_scheme)[COLS].astype(str).values.tolist() == want
    x = tmp_path / "c.xlsx"
    src.to_excel(x, index=False)
    assert grouper.group(grouper.read_cases(x), demo_scheme)[COLS].astype(str).values.tolist() == want


def test_csv_codes_keep_leading_zeros(tmp_path):
    p = tmp_path / "z.csv"
    p.write_text("case_id,hospital_id,sex,age,dept,diagnoses\n007,0012,1,40,01,K35.800\n", "utf-8")
    got = grouper.read_cases(p)
    assert (got["case_id"].iloc[0], got["hospital_id"].iloc[0], got["dept"].iloc[0]) == ("007", "0012", "01")
    assert got["age"].iloc[0] == 40


def test_bad_case_files_name_file_column_row(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("case_id,sex,age,diagnoses\n1,1,40,K35.800\n2,1,forty,K35.800\n", "utf-8")
    # a bad cell is no longer a file error (issue 13 item 1): a warning and a row status
    with pytest.warns(grouper.CaseValueWarning) as w:
        got = grouper.read_cases(p)
    msg = str(w[0].message)
    assert str(p) in msg and "column 'age'" in msg and "row 3" in msg and "'forty'" in msg
    assert list(got["read_status"]) == ["OK", "BAD_VALUE"] and pd.isna(got["age"].iloc[1])
    q = tmp_path / "b.csv"
    q.write_text("case_id,sex,diagnoses\n1,1,K35.800\n", "utf-8")
    with pytest.raises(CaseFileError, match=r"column 'age'.*required column missing"):
        grouper.read_cases(q)
    r = tmp_path / "c.csv"
    r.write_bytes(b"case_id,sex,age,diagnoses\n1,1,40,\xff\xfe\xfa\x80\x81\n")
    with pytest.raises(CaseFileError, match="cannot be read as CSV"):
        grouper.read_cases(r)
    (tmp_path / "x.json").write_text("{}", "utf-8")
    with pytest.raises(CaseFileError, match="unknown file type"):
        grouper.read_cases(tmp_path / "x.json")
    with pytest.raises(CaseFileError, match="does not exist"):
        grouper.read_cases(tmp_path / "nope.csv")


def test_keep_columns_and_order(demo_scheme, sample_cases):
    shuffled = sample_cases.sample(frac=1.0, random_state=3).reset_index(drop=True)
    out = grouper.group(shuffled, demo_scheme, keep_columns=True)
    assert list(out["case_id"]) == list(shuffled["case_id"])
    assert list(out.columns[: len(shuffled.columns)]) == list(shuffled.columns)


# --- property: random junk in every column --------------------------------------------------------

_junk = st.one_of(st.none(), st.text(max_size=12), st.integers(-10**6, 10**6),
                  st.floats(allow_nan=True, allow_infinity=True), st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.fixed_dictionaries({c: _junk for c in ("case_id", "sex", "age", "age_days", "birth_weight",
                                                            "dept", "los", "diagnoses", "procedures")}),
                min_size=1, max_size=30))
def test_random_input_gives_one_valid_row_per_case_in_order(demo_scheme, rows):
    df = pd.DataFrame(rows)
    df["case_id"] = [f"c{i}" for i in range(len(df))]
    for mode in ({}, {"strict": True}, {"mapping": False}):
        out = grouper.group(df, demo_scheme, **mode)
        assert len(out) == len(df)
        assert list(out["case_id"]) == list(df["case_id"])
        assert set(out["status"].astype(str)) <= set(grouper.STATUSES)
        assert out[["mdc", "adrg", "drg"]].notna().all().all()
