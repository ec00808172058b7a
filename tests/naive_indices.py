"""Plain-Python reference for the §10 performance indices, written straight from domain.md.

Imports nothing from ``payment``: rows are dicts (or a DataFrame turned into dicts), one loop per
case, ``statistics`` for the sample SD. Ratios are floats (indices are not money).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict


def _f(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def is_grouped(row, group_col="drg"):
    return str(row["status"]) == "SUCCESS" and str(row[group_col]) not in ("", "nan", "None")


def is_death(row):
    return _f(row["discharge_mode"]) == 4.0


def history_rw(rows, group_col="drg"):
    """group -> mean cost of the group ÷ mean cost of all grouped cases (untrimmed)."""
    costs = defaultdict(list)
    for r in rows:
        c = _f(r["total_cost"])
        if is_grouped(r, group_col) and c is not None and c >= 0:
            costs[str(r[group_col])].append(c)
    every = [c for cs in costs.values() for c in cs]
    if not every:
        return {}
    overall = sum(every) / len(every)
    return {g: (sum(cs) / len(cs)) / overall if overall else float("nan")
            for g, cs in costs.items()}


def risk_levels(rows, group_col="drg"):
    """group -> (cases, deaths, mortality, z or None, level)."""
    cases, deaths = defaultdict(int), defaultdict(int)
    for r in rows:
        if is_grouped(r, group_col):
            g = str(r[group_col])
            cases[g] += 1
            deaths[g] += 1 if is_death(r) else 0
    m = {g: deaths[g] / cases[g] for g in cases}
    positive = [g for g in m if m[g] > 0]
    logs = [math.log(m[g]) for g in positive]
    z = {}
    if len(logs) >= 2:
        mean, sd = statistics.fmean(logs), statistics.stdev(logs)
        if sd > 0:
            for g in positive:
                z[g] = (math.log(m[g]) - mean) / sd
    out = {}
    for g in cases:
        if m[g] == 0:
            level, zg = "low", None
        elif g in z:
            zg = z[g]
            level = ("low" if zg < -1 else "mid_low" if zg < 0 else "mid_high" if zg < 1
                     else "high")
        else:
            level, zg = "unrated", None
        out[g] = (cases[g], deaths[g], m[g], zg, level)
    return out


def _ratio_index(rows, keyf, col, group_col):
    vals = defaultdict(list)
    for r in rows:
        v = _f(r[col])
        if is_grouped(r, group_col) and v is not None and v >= 0:
            vals[str(r[group_col])].append(v)
    mean_g = {g: sum(v) / len(v) for g, v in vals.items()}
    # Σ_g n_hg × (mean_hg ÷ mean_g) ÷ Σ_g n_hg, literally
    per = defaultdict(lambda: defaultdict(list))
    for r in rows:
        v = _f(r[col])
        g = str(r[group_col])
        if is_grouped(r, group_col) and v is not None and v >= 0 and mean_g[g] > 0:
            per[keyf(r)][g].append(v)
    out = {}
    for k, groups in per.items():
        num = sum(len(v) * ((sum(v) / len(v)) / mean_g[g]) for g, v in groups.items())
        den = sum(len(v) for v in groups.values())
        out[k] = num / den
    return out


def indices(rows, rw=None, by=("hospital_id",), group_col="drg"):
    """key tuple -> dict of the §10 indices. ``rw``: group -> RW (None: history_rw(rows))."""
    rows = list(rows)
    if rw is None:
        rw = history_rw(rows, group_col)
    levels = risk_levels(rows, group_col)

    def keyf(r):
        return tuple(str(r[b]) for b in by)

    cost_ix = _ratio_index(rows, keyf, "total_cost", group_col)
    time_ix = _ratio_index(rows, keyf, "los", group_col)
    acc = defaultdict(lambda: {"cases": 0, "grouped": 0, "drgs": set(), "rw": [],
                               "low_cases": 0, "low_deaths": 0})
    for r in rows:
        a = acc[keyf(r)]
        a["cases"] += 1
        if not is_grouped(r, group_col):
            continue
        g = str(r[group_col])
        a["grouped"] += 1
        a["drgs"].add(g)
        w = _f(rw.get(g))
        if w is not None:
            a["rw"].append(w)
        if levels[g][4] == "low":
            a["low_cases"] += 1
            a["low_deaths"] += 1 if is_death(r) else 0
    out = {}
    for k, a in acc.items():
        out[k] = {
            "cases": a["cases"],
            "grouping_rate": a["grouped"] / a["cases"],
            "drg_count": len(a["drgs"]),
            "cmi": sum(a["rw"]) / len(a["rw"]) if a["rw"] else None,
            "cost_index": cost_ix.get(k),
            "time_index": time_ix.get(k),
            "low_risk_mortality": (a["low_deaths"] / a["low_cases"]) if a["low_cases"] else None,
            "grouped": a["grouped"],
            "cmi_cases": len(a["rw"]),
            "low_risk_cases": a["low_cases"],
            "low_risk_deaths": a["low_deaths"],
        }
    return out
