"""Pure-Python, one-case-at-a-time reference of DIP building and grouping.

Written straight from the rules in ``grouper/dip/README.md`` (and domain §7/§13) with dicts and
loops, and none of the vectorised machinery. It imports nothing from :mod:`grouper.dip`: the
scheme is read from its folder (or a dict of tables), the catalogue from its saved folder
(``manifest.json``, ``groups.csv``, ``aux.csv``), and the treatment-type rule is written out
here from the README. Tests compare :mod:`grouper.dip` with it and the benchmarks use it as the
baseline. Trimming is not implemented here (``trim='none'``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

TREATMENTS = ("conservative", "diagnostic", "therapeutic", "surgery")

#: README "treatment type": subcategories of 01–86 titled "Diagnostic procedures on …".
DIAGNOSTIC_SUBCATEGORIES = frozenset("""
01.1 03.3 04.1 05.1 06.1 07.1 08.1 09.1 10.2 11.2 12.2 14.1 15.0 16.2 18.1 20.3 21.2 22.1 24.1
25.0 26.1 27.2 28.1 29.1 31.4 33.2 34.2 37.2 38.2 40.1 41.3 42.2 44.1 45.1 45.2 48.2 49.2 50.1
51.1 52.1 54.2 55.2 56.3 57.3 58.2 59.2 60.1 61.1 62.1 63.0 64.1 65.1 66.1 67.1 68.1 70.2 71.1
76.1 78.8 83.2 85.1 86.1""".split())
DIAGNOSTIC_CATEGORIES = frozenset({"87", "88", "89", "90", "91"})
#: README "Treatment-type exceptions" table (prefix → type).
EXCEPTIONS = {
    **{p: "diagnostic" for p in ("92.0", "92.1", "94.0", "94.1", "95.0", "95.1", "95.2")},
    **{f"95.4{d}": "diagnostic" for d in range(1, 8)},
    "75.3": "therapeutic", "81.9": "therapeutic",
}


def key_code(code: str, level: int, dot_at: int) -> str:
    """README "combination": ``level`` ICD characters without the dot (0 = the whole code)."""
    if level == 0:
        return code
    return code[:level + 1] if level > dot_at else code[:level]


def read_scheme_tables(scheme: Any) -> dict[str, pd.DataFrame]:
    """The scheme's tables as text: a dict of DataFrames, or a scheme folder of CSV files."""
    if isinstance(scheme, dict):
        return scheme
    if hasattr(scheme, "tables"):
        return scheme.tables
    folder = Path(scheme)
    return {f.stem: pd.read_csv(f, dtype=str, keep_default_na=False) for f in folder.glob("*.csv")}


class NaiveConfig:
    """The catalogue options, as attributes, from a dict (a manifest's ``config``)."""

    def __init__(self, d: dict):
        self.__dict__.update(d)
        self.year_weights = tuple(d.get("year_weights") or ())


class NaiveScheme:
    """Dict views of the scheme tables the DIP rules read."""

    def __init__(self, scheme: Any):
        t = read_scheme_tables(scheme)

        def pairs(table: str, a: str, b: str) -> dict[str, str]:
            df = t.get(table)
            return {} if df is None else dict(zip(df[a].astype(str), df[b].astype(str), strict=True))

        self.dx_map = pairs("dx_map", "input_code", "grouper_code") or {c: c for c in t["diagnoses"]["code"].astype(str)}
        self.pr_map = pairs("proc_map", "input_code", "grouper_code") or {c: c for c in t["procedures"]["code"].astype(str)}
        cc = t.get("cc_mcc")
        self.cc = {} if cc is None else {c: (lv, e) for c, lv, e in zip(cc["code"].astype(str), cc["level"].astype(str), cc["exclusion_id"].astype(str), strict=True)}
        self.pdx = pairs("pdx_exclusion", "code", "exclusion_id")
        self.or_codes = set(t["or_procedures"]["code"].astype(str)) if "or_procedures" in t else set()

    def treatment(self, code: str) -> int:
        if code in self.or_codes:
            return 3
        exc = [p for p in EXCEPTIONS if code.startswith(p)]
        if exc:
            return TREATMENTS.index(EXCEPTIONS[max(exc, key=len)])
        if code[:2] in DIAGNOSTIC_CATEGORIES or code[:4] in DIAGNOSTIC_SUBCATEGORIES:
            return 1
        return 2


def _missing(v: Any) -> bool:
    try:
        return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""
    except TypeError:
        return True


def _number(v: Any) -> float | None:
    if _missing(v):
        return None
    try:
        return float(str(v).strip())
    except ValueError:
        return None


def naive_case(case: dict, s: NaiveScheme, cfg: Any) -> dict:
    """Status and DIP features of one case (a dict of canonical fields)."""
    def split(text: Any) -> list[str]:
        return str(text).replace(",", "|").split("|")

    dx_raw, pr_raw = case.get("diagnoses"), case.get("procedures")
    dxs = split(dx_raw if isinstance(dx_raw, str) else "")
    if any(d not in s.dx_map for d in dxs):
        return {"status": "ZD_NOT_MAPPING"}
    dxs = [s.dx_map[d] for d in dxs]
    prs = split(pr_raw) if isinstance(pr_raw, str) and pr_raw != "" else []
    if any(p not in s.pr_map for p in prs):
        return {"status": "SS_NOT_MAPPING"}
    prs = [s.pr_map[p] for p in prs]
    sex, age = _number(case.get("sex")), _number(case.get("age"))
    days, weight = _number(case.get("age_days")), _number(case.get("birth_weight"))
    if sex not in (1.0, 2.0) or age is None or (age == 0 and days is None) or (age == 0 and days is not None and days <= 28 and weight is None):
        return {"status": "CHECK_FAILED"}
    pdx = dxs[0]
    points, seen = 0, set()
    for d in dxs[1:]:
        if d in seen:
            continue
        seen.add(d)
        if d in s.cc:
            level, excl = s.cc[d]
            if excl != "" and s.pdx.get(pdx) == excl:
                continue
            points += 2 if level == "MCC" else 1
    types = [s.treatment(p) for p in prs]
    if cfg.procedures == "or":
        counted = [p for p, t in zip(prs, types, strict=True) if t == 3]
    elif cfg.procedures == "non_diagnostic":
        counted = [p for p, t in zip(prs, types, strict=True) if t != 1]
    else:
        counted = prs
    if age == 0 and days is not None and days <= 28:
        band = "newborn"
    elif age >= cfg.elderly_age:
        band = "elderly"
    elif age < cfg.adult_age:
        band = "child"
    else:
        band = "adult"
    return {
        "status": "SUCCESS",
        "dx": key_code(pdx.strip(), cfg.dx_level, 3),
        "cat": pdx.strip()[:3],
        "procs": tuple(sorted({key_code(p.strip(), cfg.proc_level, 2) for p in counted})),
        "treatment": TREATMENTS[max(types, default=0)],
        "sev": min(points, cfg.severity_cap),
        "age": band,
    }


def naive_build(history: pd.DataFrame, cfg: Any, scheme: Any) -> dict[str, dict]:
    """{group_code: {type, cases, mean, score}} plus ``'__all__'`` mean; untrimmed only.

    ``cfg``: anything with the ``DipConfig`` attributes (a ``DipConfig`` or a :class:`NaiveConfig`)."""
    if cfg.trim != "none":
        raise NotImplementedError("the naive reference does not trim")
    s = NaiveScheme(scheme)
    recs = []
    for case in history.to_dict("records"):
        f = naive_case(case, s, cfg)
        cost = _number(case.get("total_cost"))
        if f["status"] != "SUCCESS" or cost is None or not cost > 0:
            continue
        year = _number(case.get("year"))
        recs.append((f, cost, year))
    years_all = [y for _, _, y in recs if y is not None]
    if cfg.year_weights and years_all:
        last = int(max(years_all))
        first = last - len(cfg.year_weights) + 1
        recs = [(f, c, int(y) - first) for f, c, y in recs if y is not None and first <= y <= last]
        weights = list(cfg.year_weights)
    else:
        recs = [(f, c, 0) for f, c, _ in recs]
        weights = [1.0]
    combos: dict[tuple, int] = {}
    for f, _, _ in recs:
        combos[(f["dx"], f["procs"])] = combos.get((f["dx"], f["procs"]), 0) + 1

    def code_of(f: dict) -> tuple[str, str]:
        if combos[(f["dx"], f["procs"])] >= cfg.core_threshold:
            return f"{f['dx']}/{'+'.join(f['procs']) or 'none'}", "core"
        return f"{f['cat']}/{f['treatment']}", "comprehensive"

    def mean(items: list[tuple[float, int]]) -> float:
        if cfg.year_weighting == "per_case":
            return sum(weights[y] * c for c, y in items) / sum(weights[y] for _, y in items)
        by_year: dict[int, list[float]] = {}
        for c, y in items:
            by_year.setdefault(y, []).append(c)
        return sum(weights[y] * sum(v) / len(v) for y, v in by_year.items()) / sum(weights[y] for y in by_year)

    groups: dict[str, dict] = {}
    for f, c, y in recs:
        code, typ = code_of(f)
        groups.setdefault(code, {"type": typ, "items": []})["items"].append((c, y))
    all_mean = mean([(c, y) for _, c, y in recs]) if recs else float("nan")
    out = {"__all__": {"mean": all_mean}}
    for code, g in groups.items():
        m = mean(g["items"])
        out[code] = {"type": g["type"], "cases": len(g["items"]), "mean": m, "score": m / all_mean * cfg.scale}
    return out


def naive_group(cases: pd.DataFrame, catalogue_dir: str | Path, scheme: Any) -> list[dict]:
    """One dict per case: status, dip_group, dip_type, score, aux_level, aux_coefficient.

    ``catalogue_dir``: a saved catalogue folder (CSV), read here file by file."""
    folder = Path(catalogue_dir)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    cfg = NaiveConfig(manifest["config"])
    files = manifest.get("files", {})
    groups = pd.read_csv(folder / files.get("groups", "groups.csv"), dtype=str, keep_default_na=False)
    aux = pd.read_csv(folder / files.get("aux", "aux.csv"), dtype=str, keep_default_na=False)
    s = NaiveScheme(scheme)
    core, comp, score = {}, {}, {}
    for r in groups.to_dict("records"):
        score[r["group_code"]] = float(r["score"])
        if r["type"] == "core":
            procs = tuple(sorted(p for p in str(r["procedures"]).split("+") if p))
            core[(r["diagnosis"], procs)] = r["group_code"]
        else:
            comp[(r["diagnosis"], r["treatment"])] = r["group_code"]
    coef = {(r["group_code"], r["dimension"], str(r["level"])): float(r["coefficient"]) for r in aux.to_dict("records")}
    out = []
    for case in cases.to_dict("records"):
        f = naive_case(case, s, cfg)
        if f["status"] != "SUCCESS":
            out.append({"status": f["status"], "dip_group": "", "dip_type": ""})
            continue
        code = core.get((f["dx"], f["procs"]))
        typ = "core"
        if code is None:
            code, typ = comp.get((f["cat"], f["treatment"])), "comprehensive"
        level = f"S{f['sev']}-{f['age']}"
        if code is None:
            out.append({"status": "SUCCESS", "dip_group": "", "dip_type": "unmatched", "aux_level": level})
            continue
        c = coef.get((code, "severity", str(f["sev"])), 1.0) * coef.get((code, "age", f["age"]), 1.0)
        out.append({"status": "SUCCESS", "dip_group": code, "dip_type": typ, "score": score[code],
                    "aux_level": level, "aux_coefficient": c, "final_score": score[code] * c})
    return out

