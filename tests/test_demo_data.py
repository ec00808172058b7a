"""The bundled demo scheme (grouper/data/demo) and the synthetic sample cases (sample_cases/).

Most tests need no grouper: they check the scheme files against scheme.json, the rule
references, the coverage of the format's expression vocabulary, and the sample case table. The
last test groups the sample cases with the demo scheme when the grouper is importable.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "grouper" / "data" / "demo"
SAMPLES = ROOT / "sample_cases"

# The expression vocabulary of the neutral scheme format (README "Expression nodes").
FORMAT_OPS = {
    "true", "false", "and", "or", "not", "pdx_in", "any_dx_in", "any_sdx_in", "has_proc",
    "main_proc_in", "any_proc_in", "proc_tag_in", "cmp", "present", "nonzero", "has_mcc",
    "has_cc", "dx_regions_at_least",
}
NUMERIC_CMP_FIELDS = {"sex", "age", "age_days", "weight", "los", "n_dx"}
CASE_COLUMNS = [
    "case_id", "hospital_id", "hospital_level", "patient_id", "sex", "age", "age_days",
    "birth_weight", "dept", "los", "discharge_mode", "diagnoses", "procedures", "total_cost",
    "admission_date", "discharge_date", "year", "patient_paid", "new_tech_cost", "alliance_id",
]


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the file executes
    spec.loader.exec_module(mod)
    return mod


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def meta() -> dict[str, Any]:
    return json.loads((DEMO / "scheme.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tables(meta: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    return {k: _rows(DEMO / v["path"]) for k, v in meta["tables"].items()}


def _walk(expr: dict[str, Any]):
    yield expr
    for a in expr.get("args", []):
        yield from _walk(a)
    if "arg" in expr:
        yield from _walk(expr["arg"])


def _all_exprs(meta: dict[str, Any]):
    for mdc in meta["mdcs"].values():
        yield from _walk(mdc["entry"])
        for step in mdc["steps"]:
            if "qy" in step:
                yield from _walk(step["when"])
    for rule in meta["adrg_rules"].values():
        yield from _walk(rule["entry"])
        for br in rule["branches"]:
            yield from _walk(br["when"])


# -- scheme files ------------------------------------------------------------------------------


def test_tables_match_declared_sha256_rows_and_columns(meta: dict[str, Any]) -> None:
    expected = {"lists", "code_lists", "tagged_lists", "dx_regions", "diagnoses", "procedures",
                "dx_map", "proc_map", "cc_mcc", "pdx_exclusion", "or_procedures", "drgs"}
    assert set(meta["tables"]) == expected
    for name, decl in meta["tables"].items():
        data = (DEMO / decl["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == decl["sha256"], name
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        assert rows[0] == decl["columns"], name
        assert len(rows) - 1 == decl["rows"], name
        assert not decl["path"].startswith(".."), "the demo scheme must be self-contained"


def test_build_script_reproduces_the_files() -> None:
    build = _load_module(DEMO / "build_demo_scheme.py", "_demo_build")
    for name, data in build.build().items():
        assert (DEMO / name).read_bytes() == data, f"{name} differs from build_demo_scheme.py output"


def test_top_level_keys_and_counts(meta: dict[str, Any], tables) -> None:
    for key in ("format", "format_version", "scheme", "tables", "case_fields", "validation",
                "outcomes", "grouping", "mdcs", "adrg_rules", "adrgs", "drgs"):
        assert key in meta
    assert meta["format"] == "neutral-drg-scheme" and meta["format_version"] == 1
    assert meta["scheme"]["n_mdc"] == len(meta["mdcs"])
    assert meta["scheme"]["n_adrg"] == len(meta["adrgs"])
    assert meta["scheme"]["n_drg"] == len(meta["drgs"]) == len(tables["drgs"])
    assert [r["drg"] for r in tables["drgs"]] == list(meta["drgs"])
    assert set(meta["grouping"]["mdc_order"]) == set(meta["mdcs"])
    assert meta["grouping"]["no_group_code"] == "0000"
    assert meta["grouping"]["retry"] is None
    assert 6 <= len(meta["mdcs"]) <= 10
    assert 25 <= len(meta["adrgs"]) <= 45
    assert 60 <= len(meta["drgs"]) <= 100
    assert len(tables["diagnoses"]) >= 200
    assert 100 <= len(tables["procedures"]) <= 250


def test_every_referenced_list_exists(meta: dict[str, Any], tables) -> None:
    declared = {r["list"]: r["kind"] for r in tables["lists"]}
    members: dict[str, set[str]] = {}
    for r in tables["code_lists"]:
        members.setdefault(r["list"], set()).add(r["code"])
    tagged = {r["list"] for r in tables["tagged_lists"]}
    regions = {r["table"] for r in tables["dx_regions"]}
    for e in _all_exprs(meta):
        if e["op"] == "proc_tag_in":
            assert e["list"] in tagged, e
        elif e["op"] == "dx_regions_at_least":
            assert e["table"] in regions, e
        elif "list" in e:
            assert e["list"] in declared, e
            assert members.get(e["list"]), f"list {e['list']} has no members"
            kind = "pr" if e["op"] in ("main_proc_in", "any_proc_in") else "dx"
            assert declared[e["list"]] == kind, e
    for r in tables["lists"]:
        assert int(r["n_codes"]) == len(members.get(r["list"], ())), r["list"]
    for d, v in meta["drgs"].items():
        assert v["adrg"] in meta["adrgs"] and d.startswith(v["adrg"])
    for rule in meta["adrg_rules"].values():
        for br in rule["branches"]:
            assert br["drg"] in meta["drgs"]


def test_codes_in_lists_are_catalogue_codes(tables) -> None:
    dx = {r["code"] for r in tables["diagnoses"]}
    pr = {r["code"] for r in tables["procedures"]}
    kinds = {r["list"]: r["kind"] for r in tables["lists"]}
    for r in tables["code_lists"]:
        assert r["code"] in (dx if kinds[r["list"]] == "dx" else pr), r
    for r in tables["tagged_lists"]:
        assert r["code"] in pr
    for name in ("cc_mcc", "pdx_exclusion", "dx_regions"):
        for r in tables[name]:
            assert r["code"] in dx, (name, r)
    for r in tables["dx_map"]:
        assert r["grouper_code"] in dx
    for r in tables["proc_map"]:
        assert r["grouper_code"] in pr


def test_or_procedures_list_matches_its_table(tables) -> None:
    in_lists = [r["code"] for r in tables["code_lists"] if r["list"] == "OR_PROCEDURES"]
    in_table = [r["code"] for r in tables["or_procedures"]]
    assert in_lists == in_table and len(in_table) > 50


def test_every_format_op_is_exercised(meta: dict[str, Any]) -> None:
    seen_ops = set()
    cmp_fields: dict[str, set[str]] = {}
    for e in _all_exprs(meta):
        seen_ops.add(e["op"])
        if e["op"] == "cmp":
            cmp_fields.setdefault(e["field"], set()).add(type(e["value"]).__name__)
    assert FORMAT_OPS <= seen_ops, FORMAT_OPS - seen_ops
    assert NUMERIC_CMP_FIELDS <= set(cmp_fields), NUMERIC_CMP_FIELDS - set(cmp_fields)
    for f in NUMERIC_CMP_FIELDS:
        assert cmp_fields[f] <= {"int", "float"}
    assert cmp_fields["dept"] == {"str"}


def test_structural_features(meta: dict[str, Any], tables) -> None:
    qy = [s for m in meta["mdcs"].values() for s in m["steps"] if "qy" in s]
    assert any(s["enabled"] for s in qy) and any(not s["enabled"] for s in qy)
    rules = meta["adrg_rules"].values()
    assert any(r["if_no_branch"] == "next_step" for r in rules)
    # A return_adrg rule whose last branch is not the constant true can return its ADRG code.
    assert any(r["if_no_branch"] == "return_adrg" and r["branches"][-1]["when"]["op"] != "true"
               for r in rules)
    sev = {v["severity"] for v in meta["drgs"].values()}
    assert sev == {"mcc", "mcc_or_cc", "none", "other"}
    assert {d[-1] for d in meta["drgs"]} >= {"1", "3", "5", "9"}
    # Exclusions bite: some CC/MCC shares its exclusion id with some principal diagnosis.
    assert {r["exclusion_id"] for r in tables["cc_mcc"]} & {r["exclusion_id"] for r in tables["pdx_exclusion"]}
    assert {r["level"] for r in tables["cc_mcc"]} == {"CC", "MCC"}
    for name in ("dx_map", "proc_map"):
        mp = {r["input_code"]: r["grouper_code"] for r in tables[name]}
        renames = {a: b for a, b in mp.items() if a != b}
        assert len(renames) >= 2, name
        assert any(b in renames for b in renames.values()), f"{name} has no chain a->b->c"
    tags = {r["tag"] for r in tables["tagged_lists"]}
    assert len(tags) >= 2
    assert len({r["region"] for r in tables["dx_regions"]}) >= 2


# -- sample cases ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cases() -> list[dict[str, str]]:
    return _rows(SAMPLES / "cases.csv")


def test_sample_cases_shape(cases: list[dict[str, str]]) -> None:
    with (SAMPLES / "cases.csv").open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert header == CASE_COLUMNS
    assert len(cases) >= 12000
    assert (SAMPLES / "cases.csv").stat().st_size < 3_000_000
    ids = [r["case_id"] for r in cases]
    assert len(set(ids)) == len(ids)
    hospitals = {r["hospital_id"] for r in cases}
    assert len(hospitals) >= 30
    assert {r["hospital_level"] for r in cases} == {"1", "2", "3"}
    assert {r["year"] for r in cases} == {"2023", "2024", "2025"}
    level_of: dict[str, str] = {}
    for r in cases:
        assert level_of.setdefault(r["hospital_id"], r["hospital_level"]) == r["hospital_level"]
    costs = [float(r["total_cost"]) for r in cases]
    assert 8000 <= sum(costs) / len(costs) <= 12500
    assert {r["alliance_id"] for r in cases} >= {"", "YGT01", "YGT02"}
    newborns = [r for r in cases if r["age"] == "0"]
    assert newborns and all(r["age_days"] != "" and int(r["age_days"]) <= 28 for r in newborns)
    assert any(r["birth_weight"] and int(r["birth_weight"]) < 1500 for r in newborns)
    assert {r["discharge_mode"] for r in cases} >= {"1", "2", "3", "4", "5"}
    pids = [r["patient_id"] for r in cases]
    assert len(set(pids)) < len(pids), "some patients are readmitted"


def test_intended_drg_file(cases: list[dict[str, str]], meta: dict[str, Any]) -> None:
    intended = _rows(SAMPLES / "intended_drg.csv")
    ids = {r["case_id"] for r in cases}
    assert {r["case_id"] for r in intended} <= ids
    noisy = len(ids) - len(intended)
    assert 0.01 * len(ids) <= noisy <= 0.04 * len(ids)
    adrg_codes = set(meta["adrg_rules"])
    qy_codes = {s["qy"] for m in meta["mdcs"].values() for s in m["steps"] if "qy" in s}
    for r in intended:
        assert r["drg"] in meta["drgs"] or r["drg"] in adrg_codes or r["drg"] in qy_codes, r


def test_generator_is_deterministic(tmp_path: Path) -> None:
    gen = _load_module(SAMPLES / "generate.py", "_sample_generate")
    paths = gen.main(tmp_path)
    for key, name in (("cases", "cases.csv"), ("intended", "intended_drg.csv")):
        assert paths[key].read_bytes() == (SAMPLES / name).read_bytes(), name


# -- with the grouper ---------------------------------------------------------------------------


def test_sample_cases_group_to_their_intended_drg() -> None:
    try:
        from grouper import group, load_scheme, read_cases
    except ImportError:
        pytest.skip("grouper.load_scheme / grouper.group not available")
    scheme = load_scheme(DEMO)
    result = group(read_cases(SAMPLES / "cases.csv"), scheme)
    got = dict(zip(result["case_id"].astype(str), result["drg"].astype(str), strict=True))
    intended = _rows(SAMPLES / "intended_drg.csv")
    wrong = [(r["case_id"], r["drg"], got.get(r["case_id"])) for r in intended
             if got.get(r["case_id"]) != r["drg"]]
    assert not wrong, wrong[:10]
    statuses = set(result["status"])
    assert {"SUCCESS", "QY"} <= statuses
    noisy = set(got) - {r["case_id"] for r in intended}
    noisy_status = set(result.loc[result["case_id"].astype(str).isin(noisy), "status"])
    assert noisy_status - {"SUCCESS"}, "noise should produce data-quality statuses"
