"""explain(): why a case landed where it did.

Walks the same compiled branch programs as :func:`grouper.group`, leaf by leaf with tracing
on, over the same encoded arrays; the final answer is checked against the kernel's own result
for the case, so an explanation can never disagree with the grouping it explains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import _kernels as K
from .compile import (
    CC2_LIST,
    CMP_INDEX,
    FIELD_INDEX,
    PDX_EXCL_LIST,
)
from .engine import STATUSES, encode_cases, engine_for, run_kernel
from .scheme import Scheme
from .textkey import TEXT_MISSING, TEXT_OTHER, text_slot, text_slots

_CMP_NAME = {v: k for k, v in CMP_INDEX.items()}
_FIELD_NAME = {v: k for k, v in FIELD_INDEX.items()}


@dataclass
class Explanation:
    """A trace of one case through the scheme (JSON-able via :meth:`to_dict`)."""

    case_id: str
    status: str
    mdc: str
    adrg: str
    drg: str
    drg_name: str
    warnings: str
    diagnoses: list[dict[str, Any]] = field(default_factory=list)
    procedures: list[dict[str, Any]] = field(default_factory=list)
    severity: dict[str, Any] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def to_text(self) -> str:
        lines = [f"case {self.case_id}: {self.status} {self.mdc} {self.adrg} {self.drg} {self.drg_name}".rstrip()]
        if self.reason:
            lines.append(f"  reason: {self.reason}")
        if self.warnings:
            lines.append(f"  warnings: {self.warnings}")
        for d in self.diagnoses:
            lines.append(f"  dx[{d['pos']}] {d['code']} {d['name']} {d.get('cc', '')}".rstrip())
        for p in self.procedures:
            lines.append(f"  pr[{p['pos']}] {p['code']} {p['name']}".rstrip())
        s = self.severity
        if s:
            lines.append(f"  has_mcc={s['has_mcc']} has_cc={s['has_cc']} excluded={s['excluded']}")
        for a in self.attempts:
            if len(self.attempts) > 1:
                lines.append(f"  attempt with procedures {a['procedures']}:")
            for m in a["mdcs"]:
                lines.append(f"  MDC {m['mdc']}: entry {'yes' if m['entered'] else 'no'}  [{m['entry_trace']}]")
                for st in m.get("steps", []):
                    if st["kind"] == "qy":
                        lines.append(f"    QY step {st['qy']}: enabled={st['enabled']} -> {st['result']}")
                        continue
                    lines.append(f"    rule {st['rule']}: entry {'yes' if st['entered'] else 'no'}  [{st['entry_trace']}]")
                    for b in st.get("branches", []):
                        lines.append(f"      branch {b['drg']}: {'yes' if b['result'] else 'no'}  [{b['trace']}]")
                    if st.get("outcome"):
                        lines.append(f"      -> {st['outcome']}")
            lines.append(f"  result: {a['result']}")
        return "\n".join(lines)


def _has(words, li: int) -> bool:
    return bool((int(words[li >> 6]) >> (li & 63)) & 1)


class _Ctx:
    def __init__(self, e, arrays, row, pr_lo, pr_hi):
        c = e.c
        self.c = c
        dx = arrays["dx_ids"][arrays["dx_off"][row]:arrays["dx_off"][row + 1]]
        pr = arrays["pr_ids"][pr_lo:pr_hi]
        self.dx, self.pr = dx, pr
        self.num = np.empty(K.N_FIELDS)
        nums = arrays["nums"][:, row]
        self.num[:K.N_DX] = nums[:K.N_DX]
        self.num[K.N_DX] = len(dx)
        self.num[K.N_DX + 1:] = nums[K.N_DX:]
        self.dept = int(arrays["depts"][row])
        self.pdx = int(dx[0]) if len(dx) else -1
        self.m = len(pr)
        self.mainpr = int(pr[0]) if len(pr) else -1
        wd, wp = c.dx_bits.shape[1], c.pr_bits.shape[1]
        self.udx = np.zeros(wd, np.uint64)
        self.usdx = np.zeros(wd, np.uint64)
        self.upr = np.zeros(wp, np.uint64)
        K._fold(c.dx_bits, dx, 0, len(dx), self.udx)
        K._fold(c.dx_bits, dx, 1, len(dx), self.usdx)
        K._fold(c.pr_bits, pr, 0, len(pr), self.upr)
        self.uspr = np.zeros(wp, np.uint64)
        K._fold(c.pr_bits, pr, 1, len(pr), self.uspr)
        self.mcc, self.cc = K.severity(dx, 0, len(dx), c.cc_level, c.cc_excl, c.pdx_excl)
        # text-key slot argument -> (field, literals), for describing OP_INT_CMP leaves
        self.slots = {text_slot(*sl): (f, lits) for f, lits, sl in
                      zip(c.text_fields, c.text_literals, text_slots(c.text_literals))}
        # CC rows of codes listed at both levels (compile._two_level): code position -> note
        self.cc_rows: dict[int, str] = {}
        self.cc_full = bool(self.cc)  # has_cc as the scheme means it (the leaf mirrors the kernel)
        names = {n: i for i, n in enumerate(c.dx_list_names)}
        for name, li in names.items():
            if not name.startswith(CC2_LIST):
                continue
            ex = name[len(CC2_LIST):]
            pli = names.get(PDX_EXCL_LIST + ex) if ex else None
            excluded = pli is not None and self.pdx >= 0 and _has(c.dx_bits[self.pdx], pli)
            for pos in range(1, len(dx)):
                if dx[pos] >= 0 and _has(c.dx_bits[dx[pos]], li):
                    self.cc_rows[pos] = "CC excluded by the principal's exclusion table" if excluded else "CC"
                    self.cc_full = self.cc_full or not excluded

    def describe(self, pc: int) -> str:
        c = self.c
        op, a, b = (int(x) for x in c.prog[pc, :3])
        if op in (K.OP_PDX_IN, K.OP_ANY_DX_IN, K.OP_ANY_SDX_IN):
            name = {K.OP_PDX_IN: "pdx_in", K.OP_ANY_DX_IN: "any_dx_in", K.OP_ANY_SDX_IN: "any_sdx_in"}[op]
            return f"{name}({c.dx_list_names[a]})"
        if op in (K.OP_MAIN_PROC_IN, K.OP_ANY_PROC_IN):
            lst = c.pr_list_names[a]
            if "#" in lst:
                nm, tag = lst.split("#", 1)
                return f"proc_tag_in({nm}, {tag!r})"
            return f"{'main_proc_in' if op == K.OP_MAIN_PROC_IN else 'any_proc_in'}({lst})"
        if op == K.OP_CMP:
            v = c.prog_val[pc]
            return f"{_FIELD_NAME[a]}{_CMP_NAME[b]}{int(v) if v == int(v) else v}"
        if op in (K.OP_PRESENT, K.OP_NONZERO):
            return f"{'present' if op == K.OP_PRESENT else 'nonzero'}({_FIELD_NAME[a]})"
        if op == K.OP_REGIONS:
            return f"dx_regions_at_least({c.region_tables[a]}, {b})"
        if op == K.OP_DEPT_CMP:
            return f"dept{_CMP_NAME[b]}{c.dept_literals[a]!r}"
        if op == K.OP_DEPT_PRESENT:
            return "present(dept)" if b == 0 else "nonzero(dept)"
        if op == K.OP_ANY_SPROC_IN:
            return f"any_sproc_in({c.pr_list_names[a]})"
        if op == K.OP_INT_CMP:
            v = int(c.prog_val[pc])
            if a < 0:
                return f"n_proc{_CMP_NAME[b]}{v}"
            fld, lits = self.slots[a]
            shown = ("<missing>" if v == TEXT_MISSING else "<other text>" if v == TEXT_OTHER
                     else repr(lits[v - 2]))
            return f"{fld}{_CMP_NAME[b]}{shown}"
        return {K.OP_HAS_PROC: "has_proc", K.OP_HAS_MCC: "has_mcc", K.OP_HAS_CC: "has_cc"}[op]

    def leaf(self, pc: int) -> bool:
        """One leaf test, in Python, with the kernel's semantics (see _kernels.eval_program)."""
        c = self.c
        op, a, b = (int(x) for x in c.prog[pc, :3])

        def bit(words) -> bool:
            return bool((int(words[a >> 6]) >> (a & 63)) & 1)

        if op == K.OP_PDX_IN:
            return self.pdx >= 0 and bit(c.dx_bits[self.pdx])
        if op == K.OP_ANY_DX_IN:
            return bit(self.udx)
        if op == K.OP_ANY_SDX_IN:
            return bit(self.usdx)
        if op == K.OP_HAS_PROC:
            return self.m >= 1
        if op == K.OP_MAIN_PROC_IN:
            return self.m >= 1 and self.mainpr >= 0 and bit(c.pr_bits[self.mainpr])
        if op == K.OP_ANY_PROC_IN:
            return bit(self.upr)
        if op == K.OP_ANY_SPROC_IN:
            return bit(self.uspr)
        if op in (K.OP_CMP, K.OP_PRESENT, K.OP_NONZERO):
            x = float(self.num[a])
            if np.isnan(x):
                return False
            if op == K.OP_PRESENT:
                return True
            if op == K.OP_NONZERO:
                return x != 0.0
            return bool(K._cmp(x, b, float(c.prog_val[pc])))
        if op == K.OP_HAS_MCC:
            return bool(self.mcc)
        if op == K.OP_HAS_CC:
            return bool(self.cc)
        if op == K.OP_REGIONS:
            regions = {int(c.region_of[a, d]) for d in self.dx if d >= 0 and c.region_of[a, d] >= 0}
            return len(regions) >= b
        if op == K.OP_DEPT_CMP:
            if self.dept == K.DEPT_MISSING:
                return False
            return (self.dept == a) if b == 0 else (self.dept != a)
        if op == K.OP_INT_CMP:
            if a < 0:
                x = self.m
            else:
                x = (self.dept >> (a & 31)) & ((1 << (a >> 5)) - 1)
            return bool(K._cmp(float(x), b, float(c.prog_val[pc])))
        if op == K.OP_DEPT_PRESENT:
            return self.dept != K.DEPT_MISSING
        raise AssertionError(f"unknown opcode {op}")

    def trace(self, pc: int) -> tuple[bool, str]:
        """Walk a program leaf by leaf; (verdict, 'leaf=T, leaf=F, ...')."""
        c = self.c
        if pc == K.ACCEPT:
            return True, "true"
        if pc == K.REJECT:
            return False, "false"
        steps = []
        while pc >= 0:
            r = self.leaf(pc)
            steps.append(f"{self.describe(pc)}={'T' if r else 'F'}")
            pc = int(c.prog[pc, 3] if r else c.prog[pc, 4])
        return pc == K.ACCEPT, ", ".join(steps)


def _attempt(e, ctx: _Ctx, label: list[str]) -> tuple[dict, int]:
    c = e.c
    out: dict[str, Any] = {"procedures": label, "mdcs": []}
    for k, letter in enumerate(c.mdc_letters):
        ok, tr = ctx.trace(int(c.mdc[k, 0]))
        m: dict[str, Any] = {"mdc": letter, "entered": ok, "entry_trace": tr}
        out["mdcs"].append(m)
        if not ok:
            continue
        m["steps"] = []
        for s in range(int(c.mdc[k, 1]), int(c.mdc[k, 2])):
            kind, rl, enabled, pc, res = (int(x) for x in c.steps[s])
            if kind == K.STEP_QY:
                hit = bool(enabled) and ctx.trace(pc)[0]
                m["steps"].append({"kind": "qy", "qy": c.results[res], "enabled": bool(enabled), "result": hit})
                if hit:
                    out["result"] = c.results[res]
                    return out, res
                continue
            ent, tr = ctx.trace(int(c.rules[rl, 0]))
            st: dict[str, Any] = {"kind": "rule", "rule": c.rule_ids[rl], "entered": ent, "entry_trace": tr}
            m["steps"].append(st)
            if not ent:
                continue
            st["branches"] = []
            for b in range(int(c.rules[rl, 1]), int(c.rules[rl, 2])):
                hit, btr = ctx.trace(int(c.branches[b, 0]))
                st["branches"].append({"drg": c.results[int(c.branches[b, 1])], "result": hit, "trace": btr})
                if hit:
                    st["outcome"] = c.results[int(c.branches[b, 1])]
                    out["result"] = st["outcome"]
                    return out, int(c.branches[b, 1])
            if int(c.rules[rl, 3]) == K.NO_BRANCH_ADRG:
                st["outcome"] = c.results[int(c.rules[rl, 4])] + " (no branch held: ADRG code returned)"
                out["result"] = c.results[int(c.rules[rl, 4])]
                return out, int(c.rules[rl, 4])
            st["outcome"] = "no branch held: next step"
        m["note"] = "no step matched: next MDC"
    out["result"] = c.results[0]
    return out, 0


def explain(case: pd.Series | dict | pd.DataFrame, scheme: Scheme, *, strict: bool = False,
            mapping: bool = True) -> Explanation:
    """Trace one case (a Series, dict or one-row DataFrame) through the scheme."""
    if isinstance(case, pd.DataFrame):
        df = case.iloc[:1].reset_index(drop=True)
    else:
        df = pd.DataFrame([dict(case)])
    return explain_all(df, scheme, strict=strict, mapping=mapping)[0]


_REASONS = {
    "ZD_NOT_MAPPING": "a diagnosis is not an accepted input code",
    "SS_NOT_MAPPING": "a procedure is not an accepted input code",
    "CHECK_FAILED": "sex not 1/2, age missing, newborn age_days / birth_weight missing, or an impossible value",
}


def explain_all(cases: pd.DataFrame, scheme: Scheme, *, strict: bool = False,
                mapping: bool = True) -> list[Explanation]:
    """Explanations of every row of ``cases`` (encoded once), in input order."""
    df = cases.reset_index(drop=True)
    e = engine_for(scheme)
    c = e.c
    arrays, status, warns = encode_cases(df, scheme, strict=strict, mapping=mapping)
    kernel_res = run_kernel(arrays, scheme, threads=1)
    names_dx = dict(zip(scheme.tables["diagnoses"]["code"], scheme.tables["diagnoses"]["name"]))
    names_pr = dict(zip(scheme.tables["procedures"]["code"], scheme.tables["procedures"]["name"]))
    drg_names = scheme.drg_names()
    ids = df["case_id"].astype(str).tolist() if "case_id" in df.columns else [str(i) for i in range(len(df))]
    out: list[Explanation] = []
    for row in range(len(df)):
        w = "; ".join(warns.get(row, []))
        if status[row] >= 0:
            st = STATUSES[status[row]]
            ng = e.not_grouped_id
            out.append(Explanation(ids[row], st, str(e.res_mdc[ng]), str(e.res_adrg[ng]),
                                   str(e.res_drg[ng]), "", w, reason=_REASONS[st]))
            continue
        lo, hi = int(arrays["pr_off"][row]), int(arrays["pr_off"][row + 1])
        ctx = _Ctx(e, arrays, row, lo, hi)
        dx_codes = [c.dx_vocab[i] if i >= 0 else "?" for i in ctx.dx]
        pr_codes = [c.pr_vocab[i] if i >= 0 else "?" for i in ctx.pr]
        px = int(c.pdx_excl[ctx.pdx]) if ctx.pdx >= 0 else -1
        diagnoses, excluded = [], []
        for pos, (i, code) in enumerate(zip(ctx.dx, dx_codes)):
            d: dict[str, Any] = {"pos": pos, "code": code, "name": names_dx.get(code, "")}
            if pos > 0 and i >= 0 and c.cc_level[i]:
                lvl = "MCC" if c.cc_level[i] == 2 else "CC"
                if px >= 0 and c.cc_excl[i] == px:
                    d["cc"] = f"{lvl} excluded by the principal's exclusion table"
                    excluded.append(code)
                else:
                    d["cc"] = lvl
                if pos in ctx.cc_rows:  # the code's second level (its own row and exclusion)
                    d["cc"] += "; also " + ctx.cc_rows[pos]
            diagnoses.append(d)
        procedures = [{"pos": p, "code": code, "name": names_pr.get(code, "")} for p, code in enumerate(pr_codes)]
        attempts = []
        a, res = _attempt(e, ctx, pr_codes)
        attempts.append(a)
        if res == 0 and c.retry[0] == 1 and ctx.m >= c.retry[1]:
            for j in range(1, ctx.m):
                a, res = _attempt(e, _Ctx(e, arrays, row, lo + j, lo + j + 1), [pr_codes[j]])
                attempts.append(a)
                if res != 0:
                    break
        if res != kernel_res[row]:  # pragma: no cover - guards the tracer itself
            raise AssertionError(f"explain disagrees with the kernel on row {row}")
        r = c.results[res]
        st = STATUSES[e.res_status[res]]
        drg = str(e.res_drg[res])
        out.append(Explanation(
            ids[row], st, str(e.res_mdc[res]), str(e.res_adrg[res]), drg, drg_names.get(drg, ""), w,
            diagnoses=diagnoses, procedures=procedures,
            severity={"has_mcc": bool(ctx.mcc), "has_cc": ctx.cc_full, "excluded": excluded},
            attempts=attempts, reason="" if res else f"no rule accepted the case (result {r})",
        ))
    return out
