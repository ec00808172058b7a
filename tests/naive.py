"""A per-case, pure-Python grouper written straight from the scheme README (strict mode).

It reads the scheme's JSON trees and tables directly (Python sets and dicts, recursion, no
compilation) so it shares no code with the kernel: agreement between the two is evidence
that both follow the README. It is also the baseline of the grouping benchmarks.
"""

from __future__ import annotations

import math
import re

import pandas as pd

import grouper

_SPLIT = re.compile(r"[|,]")
_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


class NaiveGrouper:
    def __init__(self, scheme: grouper.Scheme):
        t = scheme.tables
        self.meta = scheme.meta
        self.lists: dict[str, set[str]] = {}
        for name, code in zip(t["code_lists"]["list"], t["code_lists"]["code"]):
            self.lists.setdefault(name, set()).add(code)
        self.tags: dict[str, dict[str, str]] = {}
        for name, code, tag in zip(t["tagged_lists"]["list"], t["tagged_lists"]["code"], t["tagged_lists"]["tag"]):
            self.tags.setdefault(name, {}).setdefault(code, tag)  # first listed tag wins
        self.regions: dict[str, dict[str, str]] = {}
        for name, code, reg in zip(t["dx_regions"]["table"], t["dx_regions"]["code"], t["dx_regions"]["region"]):
            self.regions.setdefault(name, {}).setdefault(code, reg)
        self.dx_map = dict(zip(t["dx_map"]["input_code"], t["dx_map"]["grouper_code"]))
        self.pr_map = dict(zip(t["proc_map"]["input_code"], t["proc_map"]["grouper_code"]))
        # a code may be listed at both levels, one row each: level -> exclusion id per code
        self.cc: dict[str, dict[str, str]] = {}
        for c, lv, ex in zip(t["cc_mcc"]["code"], t["cc_mcc"]["level"], t["cc_mcc"]["exclusion_id"]):
            self.cc.setdefault(c, {})[lv] = ex
        self.pdx_excl = dict(zip(t["pdx_exclusion"]["code"], t["pdx_exclusion"]["exclusion_id"]))

    @staticmethod
    def _num(v):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
            return None
        try:
            return float(v)
        except (TypeError, ValueError):
            return None

    @staticmethod
    def _map(tokens: list[str], m: dict[str, str]) -> list[str]:
        vals = list(tokens)
        for i in range(len(vals)):
            x = vals[i]
            if x in m and m[x] != x:
                vals[vals.index(x)] = m[x]
        return vals

    def group(self, case: dict, mapping: bool = True) -> tuple[str, str, str, str]:
        """(status, mdc, adrg, drg) of one case, following the README step by step."""
        dxt = case.get("diagnoses")
        dxt = "" if dxt is None or (isinstance(dxt, float) and math.isnan(dxt)) else str(dxt)
        prt = case.get("procedures")
        prt = "" if prt is None or (isinstance(prt, float) and math.isnan(prt)) else str(prt)
        dx = _SPLIT.split(dxt)
        pr = _SPLIT.split(prt) if prt != "" else []
        rc = self.meta["grouping"].get("result_codes") or {}
        ng = tuple(rc.get("not_grouped", ("0000", "00", "0000")))
        fail = ("FAIL", *rc.get("fail", ("0000", "00", "0000")))
        if mapping:
            if any(x not in self.dx_map for x in dx):
                return ("ZD_NOT_MAPPING", *ng)
            if any(x not in self.pr_map for x in pr):
                return ("SS_NOT_MAPPING", *ng)
            dx = self._map(dx, self.dx_map)
            pr = self._map(pr, self.pr_map)
        f = {k: self._num(case.get(k)) for k in ("sex", "age", "age_days", "los", "icu_hours")}
        f["weight"] = self._num(case.get("birth_weight", case.get("weight")))
        if f["sex"] not in (1.0, 2.0) or f["age"] is None or (f["age"] == 0 and f["age_days"] is None) \
                or (f["age"] == 0 and f["age_days"] is not None and f["age_days"] <= 28 and f["weight"] is None) \
                or not dx:
            return ("CHECK_FAILED", *ng)
        f["n_dx"] = float(len(dx))
        for k in ("dept", "discharge_mode"):
            f[k] = self._text(case.get(k))
        r = self._group(dx, pr, f)
        retry = self.meta["grouping"].get("retry")
        if r == self.meta["grouping"].get("no_group_code", "0000") and retry and len(pr) >= retry.get("requires_min_procedures", 2):
            for p in pr[1:]:
                r = self._group(dx, [p], f)
                if r != "0000":
                    break
        if r == "0000":
            return fail
        if r[1:3] == "00":
            return ("FAIL", "MDC" + r[0], "00", rc.get("fail_mdc_drg", "0000"))
        if r[1:3] == "QY":
            return ("QY", "MDC" + r[0], "QY", r)
        return ("SUCCESS", "MDC" + r[0], r[0:3], r)

    def _group(self, dx, pr, f) -> str:
        m = self.meta
        for letter in m["grouping"]["mdc_order"]:
            mdc = m["mdcs"][letter]
            if not self.ev(mdc["entry"], dx, pr, f):
                continue
            for step in mdc["steps"]:
                if "qy" in step:
                    if step["enabled"] and self.ev(step["when"], dx, pr, f):
                        return step["qy"]
                    continue
                rule = m["adrg_rules"][step["rule"]]
                if not self.ev(rule["entry"], dx, pr, f):
                    continue
                for br in rule["branches"]:
                    if self.ev(br["when"], dx, pr, f):
                        return br["drg"]
                if rule["if_no_branch"] == "return_adrg":
                    return rule.get("adrg", step["rule"])
        return m["grouping"].get("no_group_code", "0000")

    def _severity(self, dx, level) -> bool:
        # each level consults only its own rows (changzhou-2022 README)
        px = self.pdx_excl.get(dx[0])
        for d in dx[1:]:
            rows = self.cc.get(d, {})
            if level in rows and not (px is not None and px != "" and rows[level] == px):
                return True
        return False

    @staticmethod
    def _text(v):
        """A text field as written (None when missing or empty); a number 2 or 2.0 is '2'."""
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        if isinstance(v, float) and v == int(v):
            v = int(v)
        t = str(v)
        return None if t == "" else t

    def ev(self, n, dx, pr, f) -> bool:
        op = n["op"]
        if op == "true":
            return True
        if op == "false":
            return False
        if op == "and":
            return all(self.ev(a, dx, pr, f) for a in n["args"])
        if op == "or":
            return any(self.ev(a, dx, pr, f) for a in n["args"])
        if op == "not":
            return not self.ev(n["arg"], dx, pr, f)
        if op == "pdx_in":
            return dx[0] in self.lists.get(n["list"], ())
        if op == "any_dx_in":
            return any(d in self.lists.get(n["list"], ()) for d in dx)
        if op == "any_sdx_in":
            return any(d in self.lists.get(n["list"], ()) for d in dx[1:])
        if op == "has_proc":
            return len(pr) >= 1
        if op == "main_proc_in":
            return len(pr) >= 1 and pr[0] in self.lists.get(n["list"], ())
        if op == "any_proc_in":
            return any(p in self.lists.get(n["list"], ()) for p in pr)
        if op == "any_sproc_in":
            return any(p in self.lists.get(n["list"], ()) for p in pr[1:])
        if op == "proc_tag_in":
            tags = self.tags.get(n["list"], {})
            return any(tags.get(p) == n["tag"] for p in pr)
        if op == "field_in":
            v = f.get(n["field"])
            return v is not None and v in n["values"]
        if n.get("field") == "n_proc":  # the procedures of this attempt (one in a retry)
            f = {**f, "n_proc": float(len(pr))}
        if op == "cmp":
            v = f.get(n["field"])
            if v is None:
                return False
            return _OPS[n["cmp"]](v, n["value"])
        if op == "present":
            return f.get(n["field"]) is not None
        if op == "nonzero":
            v = f.get(n["field"])
            return v is not None and v != 0
        if op == "has_mcc":
            return self._severity(dx, "MCC")
        if op == "has_cc":
            return self._severity(dx, "CC")
        if op == "dx_regions_at_least":
            table = self.regions.get(n["table"], {})
            return len({table[d] for d in dx if d in table}) >= n["n"]
        raise ValueError(f"unknown op {op}")
