"""Load a grouping scheme in the neutral table format, in two phases.

Phase 1 parses ``scheme.json`` and every table (checking sha256, columns and row counts);
phase 2 links the rules to the tables and checks every reference. Each error names the file,
the row or JSON path, and what is allowed. Nothing here is ever ``eval``-ed: rule trees are
data that :mod:`grouper.compile` turns into integer programs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import SchemeError

TABLES = (
    "lists", "code_lists", "tagged_lists", "dx_regions", "diagnoses", "procedures",
    "dx_map", "proc_map", "cc_mcc", "pdx_exclusion", "or_procedures", "drgs",
)
TABLE_COLUMNS = {
    "lists": ["list", "kind", "n_codes", "used_by"],
    "code_lists": ["list", "code"],
    "tagged_lists": ["list", "code", "tag"],
    "dx_regions": ["table", "code", "region"],
    "diagnoses": ["code", "name"],
    "procedures": ["code", "name"],
    "dx_map": ["input_code", "grouper_code"],
    "proc_map": ["input_code", "grouper_code"],
    "cc_mcc": ["code", "level", "exclusion_id"],
    "pdx_exclusion": ["code", "exclusion_id"],
    "or_procedures": ["code", "name"],
    "drgs": ["drg", "adrg", "mdc", "name", "severity"],
}
#: op -> (argument keys, kind of list argument or None)
OPS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "true": ((), None), "false": ((), None),
    "and": (("args",), None), "or": (("args",), None), "not": (("arg",), None),
    "pdx_in": (("list",), "dx"), "any_dx_in": (("list",), "dx"), "any_sdx_in": (("list",), "dx"),
    "has_proc": ((), None), "main_proc_in": (("list",), "pr"), "any_proc_in": (("list",), "pr"),
    "any_sproc_in": (("list",), "pr"),
    "proc_tag_in": (("list", "tag"), "tag"),
    "cmp": (("field", "cmp", "value"), None), "present": (("field",), None),
    "nonzero": (("field",), None), "has_mcc": ((), None), "has_cc": ((), None),
    "dx_regions_at_least": (("table", "n"), "region"),
    "field_in": (("field", "values"), None),
}
# kernel order; icu_hours (a regional case field) comes after the derived n_dx so that the
# compiled field indexes of the other fields stay as they were
NUMERIC_FIELDS = ("sex", "age", "age_days", "weight", "los", "n_dx", "icu_hours")
#: text case fields: compared as text, exactly (``cmp`` == / !=, ``present``, ``field_in``)
TEXT_FIELDS = ("dept", "discharge_mode")
#: derived counts the kernel knows per grouping attempt: ``n_proc`` = number of procedures
COUNT_FIELDS = ("n_proc",)
ALL_FIELDS = NUMERIC_FIELDS + COUNT_FIELDS + TEXT_FIELDS
CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")
RETRY_MODES = ("each_later_procedure_alone",)


@dataclass(frozen=True)
class Scheme:
    """A loaded, validated grouping scheme (immutable).

    ``tables`` holds every table as a DataFrame of text columns (empty cells are ``""``);
    ``meta`` is the parsed ``scheme.json``; ``content_hash`` identifies the exact bytes of
    all files (it keys the compiled-program cache).
    """

    path: Path
    meta: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    content_hash: str
    _compiled: list = field(default_factory=list, repr=False, compare=False)

    @property
    def id(self) -> str:
        return str(self.meta["scheme"].get("id", self.path.name))

    @property
    def name(self) -> str:
        return str(self.meta["scheme"].get("name", self.id))

    @property
    def compiled(self):
        """The kernel form (:class:`grouper.compile.CompiledScheme`), built or loaded once."""
        if not self._compiled:
            from .scheme_cache import compile_scheme_cached

            self._compiled.append(compile_scheme_cached(self))
        return self._compiled[0]

    def drg_names(self) -> dict[str, str]:
        t = self.tables["drgs"]
        return dict(zip(t["drg"], t["name"]))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        t = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        raise SchemeError(str(path), "file", f"not a readable UTF-8 CSV: {e}") from None
    got = t.column_names
    if got != columns:
        raise SchemeError(str(path), "header", f"columns {got} but the format requires {columns}")
    return pd.DataFrame({c: t.column(c).to_numpy(zero_copy_only=False).astype(object) for c in columns})


def load_scheme(path: str | Path) -> Scheme:
    """Load and validate a scheme folder (or its ``scheme.json``).

    Raises :class:`SchemeError` naming the file, row and problem. The compiled kernel form is
    cached on disk keyed by the content hash, so a second load of a large scheme is fast.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "scheme.json"
    if not p.exists():
        raise SchemeError(str(p), "file", "does not exist (give a scheme folder or its scheme.json)")
    root = p.parent
    raw = p.read_bytes()
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SchemeError(str(p), "file", f"not valid UTF-8 JSON: {e}") from None
    if not isinstance(meta, dict):
        raise SchemeError(str(p), "top level", "must be a JSON object")
    if meta.get("format") != "neutral-drg-scheme":
        raise SchemeError(str(p), "format", f"is {meta.get('format')!r}; allowed: 'neutral-drg-scheme'")
    if meta.get("format_version") != 1:
        raise SchemeError(str(p), "format_version", f"is {meta.get('format_version')!r}; allowed: 1")
    for key in ("scheme", "tables", "grouping", "mdcs", "adrg_rules", "drgs"):
        if key not in meta:
            raise SchemeError(str(p), key, "missing (required top-level key)")

    # Phase 1: every table, checked against its declaration.
    h = hashlib.sha256(raw)
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        decl = meta["tables"].get(name)
        if not isinstance(decl, dict) or "path" not in decl:
            raise SchemeError(str(p), f"tables.{name}", "missing (each table needs path, sha256, rows)")
        tpath = (root / decl["path"]).resolve()
        if not tpath.exists():
            raise SchemeError(str(p), f"tables.{name}.path", f"{decl['path']!r} does not exist ({tpath})")
        digest = _sha256(tpath)
        if decl.get("sha256") and decl["sha256"] != digest:
            raise SchemeError(str(tpath), "file", f"sha256 {digest} differs from scheme.json ({decl['sha256']}): the file was changed")
        h.update(digest.encode())
        df = _read_table(tpath, TABLE_COLUMNS[name])
        if "rows" in decl and int(decl["rows"]) != len(df):
            raise SchemeError(str(tpath), "rows", f"{len(df)} data rows but scheme.json says {decl['rows']}")
        df.attrs["file"] = str(tpath)
        tables[name] = df
    scheme = Scheme(path=root, meta=meta, tables=tables, content_hash=h.hexdigest())
    # Phase 2: link and check every reference.
    _check_tables(scheme)
    _check_rules(scheme, str(p))
    return scheme


def _row_error(df: pd.DataFrame, mask, col: str, problem: str) -> None:
    import numpy as np

    idx = np.flatnonzero(np.asarray(mask))
    if len(idx):
        i = int(idx[0])
        raise SchemeError(df.attrs["file"], f"row {i + 1}, column {col!r}", f"{df[col].iloc[i]!r}: {problem}")


def _check_tables(s: Scheme) -> None:
    t = s.tables
    _row_error(t["lists"], ~t["lists"]["kind"].isin(["dx", "pr"]), "kind", "allowed: 'dx', 'pr'")
    known = set(t["lists"]["list"])
    _row_error(t["code_lists"], ~t["code_lists"]["list"].isin(known), "list", "list not declared in lists.csv")
    _row_error(t["cc_mcc"], ~t["cc_mcc"]["level"].isin(["CC", "MCC"]), "level", "allowed: 'CC', 'MCC'")
    # a code may carry both levels, one row each (changzhou-2022 README); never one level twice
    _row_error(t["cc_mcc"], t["cc_mcc"].duplicated(["code", "level"]), "code",
               "listed twice at the same level (one row per code and level)")
    _row_error(t["pdx_exclusion"], t["pdx_exclusion"]["code"].duplicated(), "code", "listed twice (one exclusion id per principal)")
    for name, col in (("dx_map", "input_code"), ("proc_map", "input_code")):
        _row_error(t[name], t[name][col].duplicated(), col, "input code listed twice")
    _row_error(t["drgs"], t["drgs"]["drg"].duplicated(), "drg", "DRG listed twice")


def _check_rules(s: Scheme, file: str) -> None:
    m = s.meta
    lists = dict(zip(s.tables["lists"]["list"], s.tables["lists"]["kind"]))
    tagged = set(s.tables["tagged_lists"]["list"])
    regions = set(s.tables["dx_regions"]["table"])
    drgs = set(s.tables["drgs"]["drg"])

    def check(node: Any, where: str) -> None:
        if not isinstance(node, dict) or "op" not in node:
            raise SchemeError(file, where, "an expression must be an object with an 'op'")
        op = node["op"]
        if op not in OPS:
            raise SchemeError(file, where, f"unknown op {op!r}; allowed: {sorted(OPS)}")
        keys, kind = OPS[op]
        for k in keys:
            if k not in node:
                raise SchemeError(file, where, f"op {op!r} needs key {k!r}")
        if op in ("and", "or"):
            if not isinstance(node["args"], list):
                raise SchemeError(file, where + ".args", "must be a list")
            for i, a in enumerate(node["args"]):
                check(a, f"{where}.args[{i}]")
        elif op == "not":
            check(node["arg"], where + ".arg")
        elif kind in ("dx", "pr"):
            lst = node["list"]
            if lst not in lists:
                raise SchemeError(file, where + ".list", f"list {lst!r} is not in lists.csv")
            if lists[lst] != kind:
                raise SchemeError(file, where + ".list", f"op {op!r} needs a {kind} list; {lst!r} is {lists[lst]}")
        elif kind == "tag":
            if node["list"] not in tagged:
                raise SchemeError(file, where + ".list", f"tagged list {node['list']!r} is not in tagged_lists.csv")
        elif kind == "region":
            if node["table"] not in regions:
                raise SchemeError(file, where + ".table", f"region table {node['table']!r} is not in dx_regions.csv")
            if not isinstance(node["n"], int):
                raise SchemeError(file, where + ".n", "must be an integer")
        elif op == "cmp":
            f, c, v = node["field"], node["cmp"], node["value"]
            if c not in CMP_OPS:
                raise SchemeError(file, where + ".cmp", f"{c!r}; allowed: {list(CMP_OPS)}")
            if f in NUMERIC_FIELDS + COUNT_FIELDS:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise SchemeError(file, where + ".value", f"field {f!r} compares with a number, got {v!r}")
            elif f in TEXT_FIELDS:
                if c not in ("==", "!=") or not isinstance(v, str):
                    raise SchemeError(file, where, f"field {f!r} allows only == / != with a text value")
            else:
                raise SchemeError(file, where + ".field", f"{f!r}; allowed: {list(ALL_FIELDS)}")
        elif op in ("present", "nonzero"):
            if node["field"] not in ALL_FIELDS:
                raise SchemeError(file, where + ".field", f"{node['field']!r}; allowed: {list(ALL_FIELDS)}")
        elif op == "field_in":
            if node["field"] not in TEXT_FIELDS:
                raise SchemeError(file, where + ".field", f"{node['field']!r}; allowed: {list(TEXT_FIELDS)} (text fields)")
            vals = node["values"]
            if not isinstance(vals, list) or not vals or not all(isinstance(v, str) for v in vals):
                raise SchemeError(file, where + ".values", f"{vals!r}; allowed: a non-empty list of text values")

    g = m["grouping"]
    result_codes(m, file)
    retry = g.get("retry")
    if retry is not None and retry.get("mode") not in RETRY_MODES:
        raise SchemeError(file, "grouping.retry.mode", f"{retry.get('mode')!r}; allowed: {list(RETRY_MODES)} or retry null")
    for letter in g.get("mdc_order", []):
        if letter not in m["mdcs"]:
            raise SchemeError(file, "grouping.mdc_order", f"MDC {letter!r} has no entry in 'mdcs'")
    for letter, mdc in m["mdcs"].items():
        check(mdc.get("entry"), f"mdcs.{letter}.entry")
        for i, step in enumerate(mdc.get("steps", [])):
            w = f"mdcs.{letter}.steps[{i}]"
            if "rule" in step:
                if step["rule"] not in m["adrg_rules"]:
                    raise SchemeError(file, w + ".rule", f"rule {step['rule']!r} is not in adrg_rules")
            elif "qy" in step:
                check(step.get("when"), w + ".when")
                if not isinstance(step.get("enabled"), bool):
                    raise SchemeError(file, w + ".enabled", "must be true or false")
            else:
                raise SchemeError(file, w, "a step needs 'rule' or 'qy'")
    for rid, rule in m["adrg_rules"].items():
        w = f"adrg_rules.{rid}"
        check(rule.get("entry"), w + ".entry")
        for i, br in enumerate(rule.get("branches", [])):
            check(br.get("when"), f"{w}.branches[{i}].when")
            if br.get("drg") not in drgs:
                raise SchemeError(file, f"{w}.branches[{i}].drg", f"{br.get('drg')!r} is not in drgs.csv")
        if rule.get("if_no_branch") not in ("return_adrg", "next_step"):
            raise SchemeError(file, w + ".if_no_branch", f"{rule.get('if_no_branch')!r}; allowed: 'return_adrg', 'next_step'")


#: ``grouping.result_codes`` keys and their national defaults (yunnan-2022 README)
RESULT_CODE_DEFAULTS: dict[str, Any] = {
    "fail": ["0000", "00", "0000"], "fail_mdc_drg": "0000", "not_grouped": ["0000", "00", "0000"],
}
_RESULT_CODE_MAX = 16  # characters of one code


def result_codes(meta: dict, file: str) -> tuple[tuple[str, str, str], str, tuple[str, str, str]]:
    """(fail mdc/adrg/drg, drg of an X00 failure, not-grouped mdc/adrg/drg) of ``scheme.json``.

    Validates ``grouping.result_codes``: an object with only the keys ``fail``, ``fail_mdc_drg``
    and ``not_grouped``; ``fail`` / ``not_grouped`` are lists of three strings [mdc, adrg, drg],
    ``fail_mdc_drg`` a string; each code at most 16 printable characters (empty allowed). An
    absent key takes the national default. Errors name the file, key and allowed values.
    """
    where = "grouping.result_codes"
    raw = meta.get("grouping", {}).get("result_codes")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SchemeError(file, where, f"{raw!r}; allowed: an object with keys {sorted(RESULT_CODE_DEFAULTS)}, or absent")
    extra = sorted(set(raw) - set(RESULT_CODE_DEFAULTS))
    if extra:
        raise SchemeError(file, f"{where}.{extra[0]}", f"unknown key; allowed: {sorted(RESULT_CODE_DEFAULTS)}")
    got = {**RESULT_CODE_DEFAULTS, **raw}

    def code(v: Any, key: str) -> str:
        if not isinstance(v, str) or len(v) > _RESULT_CODE_MAX or not v.isprintable():
            raise SchemeError(file, key, f"{v!r}; allowed: a string of at most {_RESULT_CODE_MAX} printable characters")
        return v

    for k in ("fail", "not_grouped"):
        v = got[k]
        if not (isinstance(v, list) and len(v) == 3):
            raise SchemeError(file, f"{where}.{k}", f"{v!r}; allowed: a list of three strings [mdc, adrg, drg]")
        for i, x in enumerate(v):
            code(x, f"{where}.{k}[{i}]")
    fail_drg = code(got["fail_mdc_drg"], f"{where}.fail_mdc_drg")
    f, n = got["fail"], got["not_grouped"]
    return (f[0], f[1], f[2]), fail_drg, (n[0], n[1], n[2])
