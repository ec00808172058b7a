"""Compile a loaded scheme into integer arrays for the grouping kernel.

* Code vocabularies: every diagnosis / procedure string named anywhere in the scheme gets an
  integer id (``-1`` = not known to the scheme).
* Code lists become membership bitsets: ``dx_bits[code_id, word]`` (one bit per list).
  A tagged list contributes one pseudo-list per (list, tag).
* Every expression tree becomes a *branch program*: each instruction is one leaf test with a
  target for "true" and one for "false" (``ACCEPT``/``REJECT`` end the program). and / or / not
  are compiled away into the jump targets, so the kernel needs no stack and short-circuits
  exactly like the reference (left to right).

The compiled form is cached on disk by :mod:`grouper.scheme_cache` (plain arrays and JSON,
verified on load) keyed by the scheme's content hash.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import SchemeError
from .scheme import CMP_OPS, NUMERIC_FIELDS, TEXT_FIELDS, Scheme
from .textkey import TEXT_MISSING, text_literals, text_slot, text_slots

FORMAT_VERSION = 8  # bump when the compiled layout changes

ACCEPT = -1
REJECT = -2

# Leaf opcodes (kernel switch). Keep in sync with grouper/_kernels.py.
OP_PDX_IN, OP_ANY_DX_IN, OP_ANY_SDX_IN, OP_HAS_PROC, OP_MAIN_PROC_IN, OP_ANY_PROC_IN = range(6)
OP_CMP, OP_PRESENT, OP_NONZERO, OP_HAS_MCC, OP_HAS_CC, OP_REGIONS, OP_DEPT_CMP, OP_DEPT_PRESENT = range(6, 14)
OP_ANY_SPROC_IN = 14  # a secondary procedure (P[1:]) in a list (changzhou-2022, foshan-2022)
# an integer case quantity compared with prog_val: a < 0 the number of procedures of the attempt
# (n_proc), else a text-field slot of the case's text key (see text_slot / text_keys)
OP_INT_CMP = 15
OP_NAMES = {
    OP_PDX_IN: "pdx_in", OP_ANY_DX_IN: "any_dx_in", OP_ANY_SDX_IN: "any_sdx_in",
    OP_HAS_PROC: "has_proc", OP_MAIN_PROC_IN: "main_proc_in", OP_ANY_PROC_IN: "any_proc_in",
    OP_CMP: "cmp", OP_PRESENT: "present", OP_NONZERO: "nonzero", OP_HAS_MCC: "has_mcc",
    OP_HAS_CC: "has_cc", OP_REGIONS: "dx_regions_at_least", OP_DEPT_CMP: "cmp(dept)",
    OP_DEPT_PRESENT: "present(dept)", OP_ANY_SPROC_IN: "any_sproc_in", OP_INT_CMP: "int_cmp",
}
#: opcodes the compiler no longer emits (dept tests became OP_INT_CMP on the text key);
#: a cached program holding one is rejected
RETIRED_OPS = (OP_DEPT_CMP, OP_DEPT_PRESENT)
FIELD_INDEX = {f: i for i, f in enumerate(NUMERIC_FIELDS)}  # sex age age_days weight los n_dx icu_hours
CMP_INDEX = {c: i for i, c in enumerate(CMP_OPS)}

STEP_RULE, STEP_QY = 0, 1
NO_BRANCH_NEXT, NO_BRANCH_ADRG = 0, 1
#: pseudo diagnosis lists of codes listed at both levels (see _two_level): the CC rows of such
#: codes with exclusion id X, and the principals whose exclusion id is X
CC2_LIST, PDX_EXCL_LIST = "~cc-row-of-two-level-code:", "~principal-exclusion-id:"


@dataclass(frozen=True)
class CompiledScheme:
    """Arrays the kernel reads; immutable once built."""

    content_hash: str
    dx_vocab: list[str]
    pr_vocab: list[str]
    dx_map: np.ndarray  # int32[n_dx]: grouper-code id of an input code, -1 if not an input code
    pr_map: np.ndarray
    dx_chain: np.ndarray  # bool[n_dx]: input code whose target maps elsewhere again (see encode)
    pr_chain: np.ndarray
    dx_bits: np.ndarray  # uint64[n_dx, wd + 1]; the last word packs severity (see _pack_severity)
    pr_bits: np.ndarray  # uint64[n_pr, wp]
    dx_list_names: list[str]
    pr_list_names: list[str]  # includes "LIST#tag" pseudo-lists
    cc_level: np.ndarray  # int8[n_dx]: 0 none, 1 CC, 2 MCC
    cc_excl: np.ndarray  # int32[n_dx]: exclusion id of a CC/MCC code, -1 none
    pdx_excl: np.ndarray  # int32[n_dx]: exclusion id of a principal, -1 none
    region_of: np.ndarray  # int16[n_tables, n_dx]: region id, -1 none
    region_tables: list[str]
    region_names: list[list[str]]
    dept_literals: list[str]  # the literals of the "dept" text field (as text_literals)
    text_fields: list[str]  # text fields the rules read, in TEXT_FIELDS order (one key slot each)
    text_literals: list[list[str]]  # per text field, the literals its tests name (slot 2 + index)
    prog: np.ndarray  # int32[n_instr, 5]: op, a, b, on_true, on_false
    prog_val: np.ndarray  # float64[n_instr]
    mdc_letters: list[str]
    mdc: np.ndarray  # int32[n_mdc, 3]: entry pc, first step, end step
    steps: np.ndarray  # int32[n_steps, 5]: kind, rule, enabled, pc, result
    rules: np.ndarray  # int32[n_rules, 5]: entry pc, first branch, end branch, no-branch mode, adrg result
    rule_ids: list[str]
    branches: np.ndarray  # int32[n_br, 2]: pc, result
    results: list[str]  # result id -> result string; 0 is the no-group code
    retry: np.ndarray  # int32[2]: enabled, min procedures
    # Step index: a rule whose entry requires pdx_in(L) (or main_proc_in(L)) can only match a
    # case whose principal diagnosis (main procedure) is in L, so each code lists the steps it
    # can open (CSR, ascending step order); other steps are always tried. Exact, not heuristic.
    pdx_steps_off: np.ndarray  # int64[n_dx + 1]
    pdx_steps: np.ndarray  # int32
    main_steps_off: np.ndarray  # int64[n_pr + 1]
    main_steps: np.ndarray  # int32
    open_steps: np.ndarray  # int32: steps with no such guard
    # the same for MDC entries (indexes into mdc_letters order)
    pdx_mdcs_off: np.ndarray
    pdx_mdcs: np.ndarray
    main_mdcs_off: np.ndarray
    main_mdcs: np.ndarray
    open_mdcs: np.ndarray


def _vocab(*columns) -> tuple[list[str], dict[str, int]]:
    # first-seen order over the columns in turn; pandas' hash table, not a Python loop per code
    parts = [np.asarray(pd.Series(c, dtype=object).to_numpy(), dtype=object) for c in columns]
    vocab = list(pd.unique(np.concatenate(parts))) if parts else []
    return vocab, {v: i for i, v in enumerate(vocab)}


class _ProgramBuilder:
    def __init__(self, c: dict):
        self.c = c
        self.instr: list[tuple[int, int, int, int, int]] = []
        self.vals: list[float] = []

    def emit(self, op: int, a: int, b: int, t: int, f: int, val: float = 0.0) -> int:
        self.instr.append((op, a, b, t, f))
        self.vals.append(val)
        return len(self.instr) - 1

    def compile(self, node: dict, t: int, f: int) -> int:
        """Return the entry pc of ``node`` that jumps to ``t`` when true and ``f`` when false."""
        op = node["op"]
        c = self.c
        if op == "true":
            return t
        if op == "false":
            return f
        if op == "and":
            nxt = t
            for a in reversed(node["args"]):
                nxt = self.compile(a, nxt, f)
            return nxt
        if op == "or":
            nxt = f
            for a in reversed(node["args"]):
                nxt = self.compile(a, t, nxt)
            return nxt
        if op == "not":
            return self.compile(node["arg"], f, t)
        if op in ("pdx_in", "any_dx_in", "any_sdx_in"):
            code = {"pdx_in": OP_PDX_IN, "any_dx_in": OP_ANY_DX_IN, "any_sdx_in": OP_ANY_SDX_IN}[op]
            return self.emit(code, c["dx_list"][node["list"]], 0, t, f)
        if op in ("main_proc_in", "any_proc_in", "any_sproc_in"):
            code = {"main_proc_in": OP_MAIN_PROC_IN, "any_proc_in": OP_ANY_PROC_IN,
                    "any_sproc_in": OP_ANY_SPROC_IN}[op]
            return self.emit(code, c["pr_list"][node["list"]], 0, t, f)
        if op == "proc_tag_in":
            key = f"{node['list']}#{node['tag']}"
            # A tag that no code carries is a list nobody is in: always false.
            if key not in c["pr_list"]:
                return f
            return self.emit(OP_ANY_PROC_IN, c["pr_list"][key], 0, t, f)
        if op == "has_proc":
            return self.emit(OP_HAS_PROC, 0, 0, t, f)
        if op == "has_mcc":
            return self.emit(OP_HAS_MCC, 0, 0, t, f)
        if op == "has_cc":
            # codes listed at both levels sit in the kernel's severity slot as MCC; their CC
            # rows test here: some secondary diagnosis is such a CC row with exclusion id X and
            # the principal's exclusion id is not X (README: each level consults its own rows)
            nxt = f
            for cc2, pdx in reversed(c["two_level"]):
                inner = t if pdx is None else self.emit(OP_PDX_IN, c["dx_list"][pdx], 0, nxt, t)
                nxt = self.emit(OP_ANY_SDX_IN, c["dx_list"][cc2], 0, inner, nxt)
            return self.emit(OP_HAS_CC, 0, 0, t, nxt)
        if op == "dx_regions_at_least":
            return self.emit(OP_REGIONS, c["region_table"][node["table"]], int(node["n"]), t, f)
        field = node.get("field")
        if field == "n_proc":  # the procedures of this grouping attempt (1 in a retry)
            if op == "present":
                return t
            cmp, v = ("!=", 0.0) if op == "nonzero" else (node["cmp"], float(node["value"]))
            return self.emit(OP_INT_CMP, -1, CMP_INDEX[cmp], t, f, v)
        if field in TEXT_FIELDS:
            return self._text(op, node, t, f)
        if op == "cmp":
            return self.emit(OP_CMP, FIELD_INDEX[node["field"]], CMP_INDEX[node["cmp"]], t, f, float(node["value"]))
        if op in ("present", "nonzero"):
            code = OP_PRESENT if op == "present" else OP_NONZERO
            return self.emit(code, FIELD_INDEX[node["field"]], 0, t, f)
        raise SchemeError("scheme.json", "expression", f"unknown op {op!r}")

    def _text(self, op: str, node: dict, t: int, f: int) -> int:
        """A test on a text field: exact text, false when the field is missing or empty.

        ``cmp`` ==, ``field_in`` (any of the values), ``cmp`` != (present and not equal),
        ``present`` / ``nonzero`` (present: a text field has no zero). An empty literal never
        matches (empty text is missing).
        """
        a = self.c["slot"][node["field"]]
        lits = self.c["text"][node["field"]]
        eq, ne = CMP_INDEX["=="], CMP_INDEX["!="]
        if op in ("present", "nonzero"):
            return self.emit(OP_INT_CMP, a, ne, t, f, float(TEXT_MISSING))
        if op == "field_in" or node["cmp"] == "==":
            values = node["values"] if op == "field_in" else [node["value"]]
            nxt = f
            for v in reversed(list(dict.fromkeys(v for v in values if v != ""))):
                nxt = self.emit(OP_INT_CMP, a, eq, t, nxt, float(2 + lits[v]))
            return nxt
        v = node["value"]  # !=
        inner = t if v == "" else self.emit(OP_INT_CMP, a, ne, t, f, float(2 + lits[v]))
        return self.emit(OP_INT_CMP, a, ne, inner, f, float(TEXT_MISSING))


def _two_level(cc: pd.DataFrame, pdx_excl: pd.DataFrame
               ) -> tuple[pd.DataFrame, list[tuple[str, str | None]], pd.DataFrame]:
    """Codes listed at both levels (one cc_mcc row each, changzhou-2022 README).

    The kernel's severity slot holds one level and exclusion id per code: such a code takes its
    MCC row there, and its CC row becomes a pseudo diagnosis list per exclusion id X (with the
    list of principals whose exclusion id is X) that ``has_cc`` also consults. Returns (rows for
    the slot, [(CC-row list, principal list or None when X is empty)], pseudo list members).
    """
    both = cc["code"].duplicated(keep=False)
    slot = cc[~both | (cc["level"] == "MCC")]
    extra = cc[both & (cc["level"] == "CC")]
    pairs: list[tuple[str, str | None]] = []
    members = []
    for ex, grp in extra.groupby("exclusion_id", sort=False):
        cc2 = CC2_LIST + ex
        members.append(pd.DataFrame({"list": cc2, "code": grp["code"].to_numpy()}))
        pdx = None
        if ex != "":
            pdx = PDX_EXCL_LIST + ex
            codes = pdx_excl["code"][pdx_excl["exclusion_id"] == ex].to_numpy()
            members.append(pd.DataFrame({"list": pdx, "code": codes}))
        pairs.append((cc2, pdx))
    pseudo = pd.concat(members, ignore_index=True) if members else pd.DataFrame({"list": [], "code": []})
    return slot, pairs, pseudo


def _pack_severity(level: np.ndarray, cc_excl: np.ndarray, pdx_excl: np.ndarray) -> np.ndarray:
    """level << 62 | (pdx exclusion id + 1) << 31 | (CC/MCC exclusion id + 1), per code."""
    if max(int(cc_excl.max(initial=0)), int(pdx_excl.max(initial=0))) + 1 >= 1 << 31:
        raise SchemeError("cc_mcc.csv", "exclusion_id", "more than 2**31 - 1 distinct exclusion ids")
    return ((level.astype(np.uint64) << np.uint64(62))
            | ((pdx_excl.astype(np.int64) + 1).astype(np.uint64) << np.uint64(31))
            | (cc_excl.astype(np.int64) + 1).astype(np.uint64))


def _bitsets(n_codes: int, members: list[tuple[np.ndarray, int]], n_lists: int) -> np.ndarray:
    words = max(1, (n_lists + 63) // 64)
    bits = np.zeros((n_codes, words), dtype=np.uint64)
    for ids, li in members:
        w, b = divmod(li, 64)
        bits[ids, w] |= np.uint64(1) << np.uint64(b)
    return bits


def vocabularies(s: Scheme) -> tuple[tuple[list[str], dict[str, int]], tuple[list[str], dict[str, int]]]:
    """Diagnosis and procedure vocabularies (code text -> id, in first-seen order) of a scheme."""
    t = s.tables
    kind_of = dict(zip(t["lists"]["list"], t["lists"]["kind"]))
    cl = t["code_lists"]
    cl_dx = cl[cl["list"].map(kind_of) == "dx"]
    cl_pr = cl[cl["list"].map(kind_of) == "pr"]
    dx = _vocab(
        t["dx_map"]["input_code"], t["dx_map"]["grouper_code"], cl_dx["code"], t["cc_mcc"]["code"],
        t["pdx_exclusion"]["code"], t["dx_regions"]["code"], t["diagnoses"]["code"],
    )
    pr = _vocab(
        t["proc_map"]["input_code"], t["proc_map"]["grouper_code"], cl_pr["code"],
        t["tagged_lists"]["code"], t["or_procedures"]["code"], t["procedures"]["code"],
    )
    return dx, pr


def result_labels(meta: dict) -> list[str]:
    """Result codes in id order: the no-group code, then DRGs and ADRGs rule by rule, then QY codes.

    The compiler numbers results in exactly this order, so the cache can check its labels.
    """
    out = [meta["grouping"].get("no_group_code", "0000")]
    for rid, rule in meta["adrg_rules"].items():
        out += [br["drg"] for br in rule["branches"]]
        out.append(rule.get("adrg", rid))
    for letter in meta["grouping"]["mdc_order"]:
        out += [st["qy"] for st in meta["mdcs"][letter]["steps"] if "rule" not in st]
    return list(dict.fromkeys(out))


def compile_scheme(s: Scheme) -> CompiledScheme:
    """Build the kernel arrays of a validated scheme (slow path; see compile_scheme_cached)."""
    t = s.tables
    lists = t["lists"]
    cl = t["code_lists"]
    kind_of = dict(zip(lists["list"], lists["kind"]))
    cl_dx = cl[cl["list"].map(kind_of) == "dx"]
    cl_pr = cl[cl["list"].map(kind_of) == "pr"]
    (dx_vocab, dx_id), (pr_vocab, pr_id) = vocabularies(s)
    nd, np_ = len(dx_vocab), len(pr_vocab)

    def build_map(df, ids: dict[str, int], n: int) -> tuple[np.ndarray, np.ndarray]:
        m = np.full(n, -1, dtype=np.int32)
        src = np.fromiter((ids[x] for x in df["input_code"]), np.int64, len(df))
        dst = np.fromiter((ids[x] for x in df["grouper_code"]), np.int64, len(df))
        m[src] = dst
        # a chain: x maps to y != x, and y is itself an input code mapping to z != y
        chain = np.zeros(n, dtype=bool)
        moved = m[src] != src
        y = m[src]
        chain[src[moved & (m[y] >= 0) & (m[y] != y)]] = True
        return m, chain

    dx_map, dx_chain = build_map(t["dx_map"], dx_id, nd)
    pr_map, pr_chain = build_map(t["proc_map"], pr_id, np_)

    dx_list_names = list(lists["list"][lists["kind"] == "dx"])
    pr_list_names = list(lists["list"][lists["kind"] == "pr"])
    cc_rows, two_level, pseudo = _two_level(t["cc_mcc"], t["pdx_exclusion"])
    cl_dx = pd.concat([cl_dx, pseudo], ignore_index=True)
    dx_list_names += [name for pair in two_level for name in pair if name is not None]
    dx_list = {n: i for i, n in enumerate(dx_list_names)}
    pr_list = {n: i for i, n in enumerate(pr_list_names)}
    # Tagged lists: the first listed tag of a code wins.
    tl = t["tagged_lists"].drop_duplicates(["list", "code"], keep="first")
    for key in (tl["list"] + "#" + tl["tag"]).drop_duplicates():
        pr_list[key] = len(pr_list_names)
        pr_list_names.append(key)

    def members(df, ids, listcol, index):
        out = []
        for name, grp in df.groupby(listcol, sort=False):
            out.append((np.fromiter((ids[x] for x in grp["code"]), np.int64, len(grp)), index[name]))
        return out

    dx_bits = _bitsets(nd, members(cl_dx, dx_id, "list", dx_list), len(dx_list_names))
    tl_key = tl.assign(key=tl["list"] + "#" + tl["tag"])
    pr_bits = _bitsets(
        np_,
        members(cl_pr, pr_id, "list", pr_list) + members(tl_key, pr_id, "key", pr_list),
        len(pr_list_names),
    )

    cc_level = np.zeros(nd, dtype=np.int8)
    cc_excl = np.full(nd, -1, dtype=np.int32)
    excl_ids: dict[str, int] = {}
    cc = cc_rows
    for code, level, ex in zip(cc["code"], cc["level"], cc["exclusion_id"]):
        i = dx_id[code]
        cc_level[i] = 2 if level == "MCC" else 1
        if ex != "":
            cc_excl[i] = excl_ids.setdefault(ex, len(excl_ids))
    pdx_excl = np.full(nd, -1, dtype=np.int32)
    pe = t["pdx_exclusion"]
    for code, ex in zip(pe["code"], pe["exclusion_id"]):
        if ex != "":
            pdx_excl[dx_id[code]] = excl_ids.setdefault(ex, len(excl_ids))

    # the severity facts of a code ride in the same cache line as its list bits
    dx_bits = np.concatenate([dx_bits, _pack_severity(cc_level, cc_excl, pdx_excl)[:, None]], axis=1)

    rg = t["dx_regions"]
    region_tables = list(dict.fromkeys(rg["table"]))
    region_of = np.full((max(1, len(region_tables)), nd), -1, dtype=np.int16)
    region_names: list[list[str]] = []
    for ti, name in enumerate(region_tables):
        sub = rg[rg["table"] == name]
        names = list(dict.fromkeys(sub["region"]))
        if len(names) > 64:
            raise SchemeError(rg.attrs.get("file", "dx_regions.csv"), f"table {name!r}", "more than 64 regions (the kernel counts regions in a 64-bit mask)")
        region_names.append(names)
        rid = {n: i for i, n in enumerate(names)}
        # a code listed twice in one table keeps its first region
        sub = sub.drop_duplicates("code", keep="first")
        for code, reg in zip(sub["code"], sub["region"]):
            region_of[ti, dx_id[code]] = rid[reg]

    m = s.meta
    text_fields, text_lits = text_literals(m)
    slots = text_slots(text_lits)
    ctx = {
        "dx_list": dx_list, "pr_list": pr_list, "two_level": two_level,
        "region_table": {n: i for i, n in enumerate(region_tables)},
        "text": {f: {v: i for i, v in enumerate(lits)} for f, lits in zip(text_fields, text_lits)},
        "slot": {f: text_slot(*sl) for f, sl in zip(text_fields, slots)},
    }
    b = _ProgramBuilder(ctx)
    results = result_labels(m)
    result_id: dict[str, int] = {r: i for i, r in enumerate(results)}

    def res(r: str) -> int:
        if r not in result_id:
            result_id[r] = len(results)
            results.append(r)
        return result_id[r]

    rule_ids = list(m["adrg_rules"])
    rule_index = {r: i for i, r in enumerate(rule_ids)}
    branches: list[tuple[int, int]] = []
    rules: list[tuple[int, int, int, int, int]] = []
    for rid in rule_ids:
        rule = m["adrg_rules"][rid]
        entry = b.compile(rule["entry"], ACCEPT, REJECT)
        start = len(branches)
        for br in rule["branches"]:
            branches.append((b.compile(br["when"], ACCEPT, REJECT), res(br["drg"])))
        mode = NO_BRANCH_ADRG if rule["if_no_branch"] == "return_adrg" else NO_BRANCH_NEXT
        rules.append((entry, start, len(branches), mode, res(rule.get("adrg", rid))))
    steps: list[tuple[int, int, int, int, int]] = []
    mdc_rows: list[tuple[int, int, int]] = []
    letters = list(m["grouping"]["mdc_order"])
    for letter in letters:
        mdc = m["mdcs"][letter]
        entry = b.compile(mdc["entry"], ACCEPT, REJECT)
        start = len(steps)
        for st in mdc["steps"]:
            if "rule" in st:
                steps.append((STEP_RULE, rule_index[st["rule"]], 0, 0, 0))
            else:
                pc = b.compile(st["when"], ACCEPT, REJECT)
                steps.append((STEP_QY, -1, 1 if st["enabled"] else 0, pc, res(st["qy"])))
        mdc_rows.append((entry, start, len(steps)))
    retry = m["grouping"].get("retry")
    retry_arr = np.array(
        [1 if retry else 0, int(retry.get("requires_min_procedures", 2)) if retry else 0], dtype=np.int32
    )

    prog_arr = np.array(b.instr, dtype=np.int32).reshape(-1, 5)
    index = _step_index(prog_arr, steps, rules, mdc_rows, dx_bits, pr_bits)

    def arr(rows, width):
        return np.array(rows, dtype=np.int32).reshape(-1, width)

    return CompiledScheme(
        content_hash=s.content_hash, dx_vocab=dx_vocab, pr_vocab=pr_vocab,
        dx_map=dx_map, pr_map=pr_map, dx_chain=dx_chain, pr_chain=pr_chain,
        dx_bits=dx_bits, pr_bits=pr_bits, dx_list_names=dx_list_names, pr_list_names=pr_list_names,
        cc_level=cc_level, cc_excl=cc_excl, pdx_excl=pdx_excl,
        region_of=region_of, region_tables=region_tables, region_names=region_names,
        dept_literals=text_lits[text_fields.index("dept")] if "dept" in text_fields else [],
        text_fields=text_fields, text_literals=text_lits,
        prog=arr(b.instr, 5), prog_val=np.array(b.vals, dtype=np.float64),
        mdc_letters=letters, mdc=arr(mdc_rows, 3), steps=arr(steps, 5), rules=arr(rules, 5),
        rule_ids=rule_ids, branches=arr(branches, 2), results=results, retry=retry_arr,
        **index,
    )


def _guard(prog: np.ndarray, pc: int) -> tuple[int, int]:
    """(opcode, list) of a pdx_in / main_proc_in leaf that the program cannot accept without.

    Walks the chain of leaves whose false branch rejects outright: each of them is necessary.
    """
    found = (-1, -1)
    while pc >= 0 and prog[pc, 4] == REJECT:
        op = int(prog[pc, 0])
        if op == OP_PDX_IN:
            return op, int(prog[pc, 1])
        if op == OP_MAIN_PROC_IN and found[0] < 0:
            found = (op, int(prog[pc, 1]))
        pc = int(prog[pc, 3])
    return found


def _csr(pairs: list[tuple[np.ndarray, int]], n_codes: int) -> tuple[np.ndarray, np.ndarray]:
    if pairs:
        codes = np.concatenate([c for c, _ in pairs])
        steps = np.concatenate([np.full(len(c), s, dtype=np.int32) for c, s in pairs])
    else:
        codes, steps = np.zeros(0, np.int64), np.zeros(0, np.int32)
    order = np.lexsort((steps, codes))
    off = np.zeros(n_codes + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes, minlength=n_codes), out=off[1:])
    return off, steps[order].astype(np.int32)


def _members(bits: np.ndarray, li: int) -> np.ndarray:
    w, b = divmod(li, 64)
    return np.flatnonzero((bits[:, w] >> np.uint64(b)) & np.uint64(1))


def _index(entry_pcs: list[int], prog, dx_bits, pr_bits) -> tuple[np.ndarray, ...]:
    """CSR lists of the items (steps or MDCs) each principal diagnosis / main procedure opens."""
    pdx_pairs, main_pairs, open_items = [], [], []
    for item, pc in enumerate(entry_pcs):
        op, li = (-1, -1) if pc is None else _guard(prog, pc)
        if op == OP_PDX_IN:
            pdx_pairs.append((_members(dx_bits, li), item))
        elif op == OP_MAIN_PROC_IN:
            main_pairs.append((_members(pr_bits, li), item))
        else:
            open_items.append(item)
    pdx_off, pdx_items = _csr(pdx_pairs, dx_bits.shape[0])
    main_off, main_items = _csr(main_pairs, pr_bits.shape[0])
    return pdx_off, pdx_items, main_off, main_items, np.array(open_items, dtype=np.int32)


def _step_index(prog, steps, rules, mdc_rows, dx_bits, pr_bits) -> dict[str, np.ndarray]:
    step_pcs = [None if kind == STEP_QY else rules[rl][0] for kind, rl, _, _, _ in steps]
    a = _index(step_pcs, prog, dx_bits, pr_bits)
    b = _index([row[0] for row in mdc_rows], prog, dx_bits, pr_bits)
    return dict(pdx_steps_off=a[0], pdx_steps=a[1], main_steps_off=a[2], main_steps=a[3],
                open_steps=a[4], pdx_mdcs_off=b[0], pdx_mdcs=b[1], main_mdcs_off=b[2],
                main_mdcs=b[3], open_mdcs=b[4])
