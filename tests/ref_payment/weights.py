"""Reference weights (§4, §13): trimming, 1:2:7 year weighting, RW, coefficients, budget PV.

Input: history cases as dicts with ``drg`` (group; a DIP group too), ``hospital_id``,
``hospital_level``, ``total_cost`` (yuan), ``los`` (days), ``year`` and optionally ``status``
and (DIP) ``aux_coefficient``. Every table also has ``prev_year_mean``: the mean of the kept
costs of the newest history year (nan when none), the DIP "previous-year average" (§5). One loop per case;
``statistics``/``math.fsum`` for moments; RW rounded with ``decimal``.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .money import dec, exact, half_up

NO_GROUP = ("", "0000")


def quantile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between order statistics (§13)."""
    pos = p * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


def trimmed(costs: list[float], wp: dict[str, Any]) -> list[bool]:
    """§13 trimming of one group-year set: kept flags, bounds inclusive."""
    n = len(costs)
    if wp["trim"] == "none" or n < wp["trim_min_cases"]:
        return [True] * n
    s = sorted(costs)
    k = wp["trim_k"]
    if wp["trim"] == "sd":
        if n < 2:
            return [True] * n
        m, sd = statistics.fmean(s), statistics.stdev(s)
        lo, hi = m - k * sd, m + k * sd
    elif wp["trim"] == "iqr":
        q1, q3 = quantile(s, 0.25), quantile(s, 0.75)
        lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    else:
        lo, hi = quantile(s, wp["trim_lower"]), quantile(s, wp["trim_upper"])
    return [lo <= c <= hi for c in costs]


def year_weighted_mean(values_by_year: dict[int, list[float]], w: dict[int, float],
                       per_case: bool) -> float:
    """§13: Σ w_y · mean_y ÷ Σ w_y over the years that have values (per_case: each value
    weighted by its year's weight)."""
    num = den = 0.0
    for y, vals in sorted(values_by_year.items()):
        if not vals:
            continue
        if per_case:
            num += w[y] * math.fsum(vals)
            den += w[y] * len(vals)
        else:
            num += w[y] * statistics.fmean(vals)
            den += w[y]
    return num / den if den > 0 else math.nan


@dataclass
class RefWeights:
    """Fitted reference weights; costs yuan, points points."""

    points_scale: float
    region_mean: float
    budget_pv: float
    years: list[int]
    year_weights: list[float]
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    hospital_groups: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    level_groups: dict[tuple[int, str], dict[str, float]] = field(default_factory=dict)


def aux_factor(case: dict[str, Any], pol: dict[str, Any]) -> float:
    """§7: the DIP case's auxiliary coefficient when the policy applies them (missing, not a
    number or not positive → 1.0); 1.0 under DRG."""
    if pol["kind"] != "dip" or pol["dip"]["aux_coefficients"] != "apply":
        return 1.0
    a = case.get("aux_coefficient")
    try:
        a = float(a)
    except (TypeError, ValueError):
        return 1.0
    return a if math.isfinite(a) and a > 0 else 1.0


def is_bed_group(g: str, pol: dict[str, Any]) -> bool:
    bd = pol["bed_day"]
    return bool(g) and (g in bd["groups"] or g in bd["daily_points"]
                        or any(g.startswith(p) for p in bd["prefixes"]))


def _valid_history(row: dict[str, Any], pol: dict[str, Any]) -> bool:
    g = row.get("drg") or ""
    if g in NO_GROUP or row.get("status", "SUCCESS") not in ("SUCCESS", "", None):
        return False
    c, d = row.get("total_cost"), row.get("los", 0)
    ic = pol["input_checks"]
    if c is None or not (0 <= c <= ic["max_cost"]) or d is None or not (0 <= d <= ic["max_los"]):
        return False
    if pol["weights"]["apply_los_exclusions"] and not is_bed_group(g, pol):
        ex = pol["exclusions"]
        if ex["los_min"] is not None and d <= ex["los_min"]:
            return False
        if ex["los_max"] is not None and d >= ex["los_max"]:
            return False
    return True


@exact
def ref_weights(history: list[dict[str, Any]], pol: dict[str, Any]) -> RefWeights:
    """Weights of §4 with the §13 defaults/options of ``pol`` (a :func:`ref_policy`)."""
    wp = pol["weights"]
    rows = [r for r in history if _valid_history(r, pol)]
    if wp["history_years"] is not None:
        years = list(wp["history_years"])
        yw = [float(x) for x in wp["year_weights"]]
    else:  # the newest years present take the newest weights
        present = sorted({int(r["year"]) for r in rows})
        k = min(len(present), len(wp["year_weights"]))
        years = present[len(present) - k:]
        yw = [float(x) for x in wp["year_weights"][len(wp["year_weights"]) - k:]]
    w = dict(zip(years, yw, strict=True))
    rows = [r for r in rows if int(r["year"]) in w]
    per_case = wp["year_weighting"] == "per_case"

    # trimming per group × year, before means
    by_gy: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_gy[(r["drg"], int(r["year"]))].append(i)
    kept = [False] * len(rows)
    for idx in by_gy.values():
        for i, k in zip(idx, trimmed([rows[i]["total_cost"] for i in idx], wp), strict=True):
            kept[i] = k

    def mean_of(idx: list[int], col: str = "total_cost") -> float:
        """The year-weighted mean of ``col`` over the kept rows among ``idx`` (row order)."""
        vals: dict[int, list[float]] = defaultdict(list)
        for i in idx:
            if kept[i]:
                vals[int(rows[i]["year"])].append(float(rows[i][col]))
        return year_weighted_mean(vals, w, per_case)

    # row indices by group, by hospital × group and by level × group (ascending: row order)
    by_g: dict[str, list[int]] = defaultdict(list)
    by_hg: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_lg: dict[tuple[int, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_g[r["drg"]].append(i)
        by_hg[(r["hospital_id"], r["drg"])].append(i)
        by_lg[(int(r["hospital_level"]), r["drg"])].append(i)

    def prev_year_mean(idx: list[int]) -> float:
        """The plain mean of the kept rows among ``idx`` in the newest history year."""
        vals = [rows[i]["total_cost"] for i in idx if kept[i] and int(rows[i]["year"]) == years[-1]]
        return math.fsum(vals) / len(vals) if vals else math.nan

    region = mean_of(list(range(len(rows))))
    scale = float(wp["points_scale"])
    out = RefWeights(points_scale=scale, region_mean=region, budget_pv=math.nan, years=years,
                     year_weights=yw)
    for g in sorted(by_g):
        idx = by_g[g]
        raw = len(idx)
        kept_costs = [rows[i]["total_cost"] for i in idx if kept[i]]
        mean = mean_of(idx)
        mean_los = mean_of(idx, "los")
        exact = mean / region
        # a group whose every case was trimmed has no mean: no RW, its cases have no weight
        rw = float(half_up(exact, wp["rw_decimals"])) \
            if wp["rw_rounding"] == "half_up" and math.isfinite(exact) else exact
        cv = (statistics.stdev(kept_costs) / statistics.fmean(kept_costs)
              if len(kept_costs) >= 2 and statistics.fmean(kept_costs) > 0 else math.nan)
        small = raw < wp["min_cases"]
        base = rw * scale
        out.groups[g] = {
            "cases": raw, "kept_cases": len(kept_costs), "mean_cost": mean, "mean_los": mean_los,
            "rw": rw, "base_points": base, "small": small, "cv": cv,
            "stable": (not small) and (not math.isnan(cv)) and cv < wp["cv_threshold"],
            "daily_points": base / mean_los if mean_los > 0 else math.nan,
            "prev_year_mean": prev_year_mean(idx),
        }

    cp = pol["coefficients"]

    def coefficient(m: float, gmean: float, n_kept: int) -> float:
        c = m / gmean if n_kept >= cp["min_cases"] and gmean > 0 and math.isfinite(m) else math.nan
        if not math.isfinite(c):
            c = float(cp["new_group"])
        if cp["min"] is not None:
            c = max(c, cp["min"])
        if cp["max"] is not None:
            c = min(c, cp["max"])
        return c

    for by_key, table in ((by_hg, out.hospital_groups), (by_lg, out.level_groups)):
        for key in sorted(by_key):
            n_kept = sum(1 for i in by_key[key] if kept[i])
            if not n_kept:
                continue  # only keys with a kept case
            m = mean_of(by_key[key])
            table[key] = {"cases": n_kept, "mean_cost": m,
                          "coefficient": coefficient(m, out.groups[key[1]]["mean_cost"], n_kept),
                          "prev_year_mean": prev_year_mean(by_key[key])}

    # §13 budget point value: 1:2:7 mean of yearly total cost over that of yearly base points
    # (all used history cases, untrimmed; base points = published RW × scale; a DIP case's
    # points are its score × its auxiliary coefficient, §7)
    def points_of(r: dict[str, Any]) -> float:  # a group without a weight counts 0 points
        base = out.groups[r["drg"]]["base_points"]
        return base * aux_factor(r, pol) if math.isfinite(base) else 0.0

    out.budget_pv = budget_point_value(
        {y: math.fsum(r["total_cost"] for r in rows if int(r["year"]) == y) for y in years},
        {y: math.fsum(points_of(r) for r in rows if int(r["year"]) == y) for y in years},
        {y: sum(1 for r in rows if int(r["year"]) == y) for y in years},
        w,
    )
    return out


@exact
def budget_point_value(cost_y: dict[int, float], points_y: dict[int, float],
                       n_y: dict[int, int], w: dict[int, float]) -> float:
    """Σ w_y · cost_y ÷ Σ w_y · points_y over the years with cases (the renormalisation of the
    two 1:2:7 means cancels)."""
    num = math.fsum(float(dec(w[y]) * dec(cost_y[y])) for y in w if n_y.get(y))
    den = math.fsum(float(dec(w[y]) * dec(points_y[y])) for y in w if n_y.get(y))
    return num / den if den > 0 else math.nan
