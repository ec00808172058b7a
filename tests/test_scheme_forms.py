"""Rule forms of changzhou-2022 (its README), held to hand-worked answers on a demo copy:

* a code listed at both severity levels, one ``cc_mcc`` row each, each with its own exclusion
  id: ``has_mcc`` and ``has_cc`` each consult only the rows of their own level;
* ``field_in`` on a text field (exact text: ``02`` is not ``2``; missing or empty is false);
* ``cmp`` on the derived ``n_proc`` and text ``cmp !=`` (false when the field is missing).

Rule ER1 of the copy (principal in ER1:dx) branches ER11 has_mcc, ER13 has_cc, ER15
field_in(discharge_mode, ['2', '5']) or (n_proc > 1 and dept != 'ICU'), else the ADRG ER1.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from naive import NaiveGrouper

import grouper
from grouper.explain import explain, explain_all

COLS = ["status", "mdc", "adrg", "drg"]
Y, Z = "P92.000", "P92.001"  # the two-level codes of the copy


def _rewrite(dst, name: str, df: pd.DataFrame, meta: dict) -> None:
    path = dst / meta["tables"][name]["path"]
    df.to_csv(path, index=False, lineterminator="\n")
    meta["tables"][name]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    meta["tables"][name]["rows"] = len(df)


def _copy(tmp_path, edit=None, cc_rows=None):
    dst = tmp_path / "demo-forms"
    shutil.copytree(grouper.demo_scheme_path(), dst,
                    ignore=shutil.ignore_patterns("*.py", "README.md", "__pycache__"))
    f = dst / "scheme.json"
    meta = json.loads(f.read_text(encoding="utf-8"))
    meta["adrg_rules"]["ER1"]["branches"] = [
        {"drg": "ER11", "when": {"op": "has_mcc"}},
        {"drg": "ER13", "when": {"op": "has_cc"}},
        {"drg": "ER15", "when": {"op": "or", "args": [
            {"op": "field_in", "field": "discharge_mode", "values": ["2", "5"]},
            {"op": "and", "args": [{"op": "cmp", "field": "n_proc", "cmp": ">", "value": 1},
                                   {"op": "cmp", "field": "dept", "cmp": "!=", "value": "ICU"}]},
        ]}},
    ]
    meta["adrg_rules"]["ER1"]["if_no_branch"] = "return_adrg"
    cc = pd.read_csv(dst / "cc_mcc.csv", dtype=str, keep_default_na=False)
    extra = cc_rows if cc_rows is not None else [
        (Y, "MCC", "900"), (Y, "CC", "901"), (Z, "MCC", "900"), (Z, "CC", "")]
    cc = pd.concat([cc, pd.DataFrame(extra, columns=cc.columns)], ignore_index=True)
    _rewrite(dst, "cc_mcc", cc, meta)
    pe = pd.read_csv(dst / "pdx_exclusion.csv", dtype=str, keep_default_na=False)
    pe.loc[pe["code"] == "C34.100", "exclusion_id"] = "900"
    pe.loc[pe["code"] == "C34.300", "exclusion_id"] = "901"
    _rewrite(dst, "pdx_exclusion", pe, meta)
    if edit:
        edit(meta)
    f.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return grouper.load_scheme(dst)


@pytest.fixture(scope="module")
def scheme(tmp_path_factory):
    return _copy(tmp_path_factory.mktemp("forms"))


BASE = {"sex": 1, "age": 60, "age_days": None, "birth_weight": None, "los": 5, "dept": "A03",
        "discharge_mode": "1", "procedures": ""}
CASES = [  # (fields, expected DRG, why)
    ({"diagnoses": f"C34.900|{Y}"}, "ER11", "principal id 21: Y's MCC row (900) counts"),
    ({"diagnoses": f"C34.100|{Y}"}, "ER13", "principal id 900 excludes the MCC row, not the CC row (901)"),
    ({"diagnoses": f"C34.300|{Y}"}, "ER11", "principal id 901 excludes only the CC row"),
    ({"diagnoses": f"C34.100|{Z}"}, "ER13", "Z's CC row has no exclusion id"),
    ({"diagnoses": "C34.100", "discharge_mode": "2"}, "ER15", "field_in"),
    ({"diagnoses": "C34.100", "discharge_mode": "02"}, "ER1", "text, not number: 02 is not 2"),
    ({"diagnoses": "C34.100", "discharge_mode": "5"}, "ER15", "field_in, second value"),
    ({"diagnoses": "C34.100", "discharge_mode": 5}, "ER15", "a number 5 reads as the text 5"),
    ({"diagnoses": "C34.100", "discharge_mode": ""}, "ER1", "empty is missing"),
    ({"diagnoses": "C34.100", "discharge_mode": None}, "ER1", "missing"),
    ({"diagnoses": "C34.100", "procedures": "96.7100|96.7200"}, "ER15", "n_proc 2 > 1, dept A03"),
    ({"diagnoses": "C34.100", "procedures": "96.7100|96.7200", "dept": "ICU"}, "ER1", "dept is ICU"),
    ({"diagnoses": "C34.100", "procedures": "96.7100|96.7200", "dept": None}, "ER1", "dept missing: != is false"),
    ({"diagnoses": "C34.100", "procedures": "96.7100"}, "ER1", "n_proc 1"),
]


def _frame(rows):
    return pd.DataFrame([{**BASE, "case_id": str(k), **r} for k, r in enumerate(rows)])


def test_forms_by_hand(scheme):
    out = grouper.group(_frame([r for r, _, _ in CASES]), scheme, strict=True)
    got = list(out["drg"])
    for (_, want, why), g in zip(CASES, got):
        assert g == want, why
    assert (out["status"] == "SUCCESS").all()


def test_explain_and_naive_agree(scheme):
    df = _frame([r for r, _, _ in CASES])
    want = [d for _, d, _ in CASES]
    assert [x.drg for x in explain_all(df, scheme, strict=True)] == want
    nv = NaiveGrouper(scheme)
    assert [nv.group(r)[3] for r in df.to_dict("records")] == want


def test_explain_names_the_forms(scheme):
    x = explain(_frame([CASES[1][0]]).iloc[0], scheme, strict=True)
    text = x.to_text()
    assert x.severity["has_cc"] and not x.severity["has_mcc"]
    assert "MCC excluded by the principal's exclusion table; also CC" in text
    x = explain(_frame([CASES[11][0]]).iloc[0], scheme, strict=True)
    text = x.to_text()
    assert "discharge_mode=='2'=F" in text and "discharge_mode=='5'=F" in text
    assert "n_proc>1=T" in text and "dept!='ICU'=F" in text


def test_one_level_twice_is_an_error(tmp_path):
    with pytest.raises(grouper.SchemeError, match="listed twice at the same level"):
        _copy(tmp_path, cc_rows=[(Y, "CC", "900"), (Y, "CC", "901")])


@pytest.mark.parametrize("node,where,allowed", [
    ({"op": "field_in", "field": "los", "values": ["2"]}, r"\.field", "text fields"),
    ({"op": "field_in", "field": "discharge_mode", "values": "2"}, r"\.values", "non-empty list"),
    ({"op": "field_in", "field": "discharge_mode", "values": []}, r"\.values", "non-empty list"),
    ({"op": "field_in", "field": "discharge_mode"}, "", "needs key 'values'"),
    ({"op": "cmp", "field": "n_procs", "cmp": ">", "value": 1}, r"\.field", "n_proc"),
    ({"op": "cmp", "field": "discharge_mode", "cmp": "<", "value": "2"}, "", "only == / !="),
])
def test_bad_forms_name_the_key(tmp_path, node, where, allowed):
    def edit(meta):
        meta["adrg_rules"]["ER1"]["branches"][0]["when"] = node

    with pytest.raises(grouper.SchemeError, match=r"adrg_rules\.ER1\.branches\[0\]\.when" + where) as e:
        _copy(tmp_path, edit=edit)
    assert allowed in str(e.value)


@pytest.mark.parametrize("codes,key,allowed", [
    ([], "grouping.result_codes", "an object with keys"),
    ({"fail": ["0000", "00", 7]}, r"grouping.result_codes.fail\[2\]", "printable"),
    ({"not_grouped": ["", "", "x" * 17]}, r"grouping.result_codes.not_grouped\[2\]", "at most 16"),
    ({"fail_mdc_drg": "00\n00"}, "grouping.result_codes.fail_mdc_drg", "printable"),
])
def test_result_codes_are_validated_on_load(tmp_path, codes, key, allowed):
    def edit(meta):
        meta["grouping"]["result_codes"] = codes

    with pytest.raises(grouper.SchemeError, match=key) as e:
        _copy(tmp_path, edit=edit)
    assert "scheme.json" in str(e.value) and allowed in str(e.value)


def _forged(scheme, tmp_path, edit):
    """Save the compiled scheme, let ``edit(arrays, meta)`` change it, re-sign it, load it."""
    from grouper import scheme_cache
    from grouper.compile import compile_scheme

    path = tmp_path / "forged.npz"
    scheme_cache.save_compiled(compile_scheme(scheme), path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("__meta__").tobytes().decode())
    edit(arrays, meta)
    meta.pop("checksum")
    meta["checksum"] = scheme_cache._checksum(meta, arrays)  # a forger who read the code
    with open(path, "wb") as f:
        np.savez(f, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    return scheme_cache.load_compiled(path, scheme)


def _int_cmp_rows(arrays):
    from grouper.compile import OP_INT_CMP

    return np.flatnonzero(arrays["prog"][:, 0] == OP_INT_CMP)


@pytest.mark.parametrize("what,reason", [
    ("slot", "int_cmp"), ("retired", "retired opcode"), ("literals", "text_literals: labels differ"),
])
def test_cache_checks_the_text_key(scheme, tmp_path, what, reason):
    from grouper.compile import OP_DEPT_CMP
    from grouper.scheme_cache import CacheRejected

    assert _forged(scheme, tmp_path, lambda a, m: None).text_fields == ["dept", "discharge_mode"]

    def edit(arrays, meta):
        pc = _int_cmp_rows(arrays)[-1]
        if what == "slot":
            arrays["prog"][pc, 1] = 31 | (20 << 5)  # a slot no field has: would read other bits
        elif what == "retired":
            arrays["prog"][pc, 0] = OP_DEPT_CMP
        else:
            lits = meta["text_literals"][1]
            lits[0], lits[1] = lits[1], lits[0]

    with pytest.raises(CacheRejected, match=reason):
        _forged(scheme, tmp_path, edit)
