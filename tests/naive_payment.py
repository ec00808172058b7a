"""Per-case pure-Python reference for weights and pricing, written straight from domain.md.

Deliberately slow and literal (one loop per case, ``statistics`` for moments); the vectorised
code in :mod:`payment` is cross-checked against it. Only the rules needed by the cross-checks are
here: §4 weights with §13 trimming/year weighting, §5 classes and points in the §13 order.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

import numpy as np
import pandas as pd

from payment.policy import Policy
from payment.weights import Weights


def quantile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between order statistics (numpy default)."""
    pos = p * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


def kept_costs(costs: list[float], policy: Policy) -> list[float]:
    """§13 trimming of one group-year set."""
    wp = policy.weights
    if wp.trim == "none" or len(costs) < wp.trim_min_cases:
        return list(costs)
    s = sorted(costs)
    if wp.trim == "sd":
        if len(s) < 2:
            return list(costs)
        m, sd = statistics.fmean(s), statistics.stdev(s)
        lo, hi = m - wp.trim_k * sd, m + wp.trim_k * sd
    elif wp.trim == "iqr":
        q1, q3 = quantile(s, 0.25), quantile(s, 0.75)
        lo, hi = q1 - wp.trim_k * (q3 - q1), q3 + wp.trim_k * (q3 - q1)
    else:
        lo, hi = quantile(s, wp.trim_lower), quantile(s, wp.trim_upper)
    return [c for c in costs if lo <= c <= hi]


def naive_group_means(rows: list[dict], policy: Policy, years: list[int],
                      year_weights: list[float]) -> tuple[dict[str, float], float]:
    """Group means and region mean with the 1:2:7 rule on yearly means of kept costs."""
    by_gy: dict[tuple[str, int], list[float]] = defaultdict(list)
    for row in rows:
        by_gy[(row["drg"], row["year"])].append(row["total_cost"])
    kept = {k: kept_costs(v, policy) for k, v in by_gy.items()}
    w = dict(zip(years, year_weights, strict=True))
    means: dict[str, float] = {}
    for g in sorted({k[0] for k in kept}):
        num = den = 0.0
        for y in years:
            vals = kept.get((g, y), [])
            if vals:
                num += w[y] * statistics.fmean(vals)
                den += w[y]
        means[g] = num / den
    num = den = 0.0
    for y in years:
        vals = [c for (g, yy), v in kept.items() if yy == y for c in v]
        if vals:
            num += w[y] * statistics.fmean(vals)
            den += w[y]
    return means, num / den


def high_threshold(bands, base_points: float) -> float:
    """§5 banded high multiple: the first band whose max base points (inclusive) holds the group;
    the last band is open (max None). Written here, not taken from the policy's own method."""
    for band in bands:
        if band.max_base_points is None or base_points <= band.max_base_points:
            return float(band.multiple)
    raise ValueError("no open last band")


def naive_price_case(case: dict, weights: Weights, policy: Policy, coef: float) -> tuple[str, float, float]:
    """(class, r, points) of one case, in the §13 order; DRG or DIP (region comparison base)."""
    cost, los = case["total_cost"], case["los"]
    if cost is None or not cost >= 0 or cost > policy.input_checks.max_cost:
        return "excluded", math.nan, 0.0
    if los is None or not los >= 0 or los > policy.input_checks.max_los:
        return "excluded", math.nan, 0.0
    g = case.get(policy.group_col) or ""
    table = weights.groups.set_index("group")
    ex = policy.exclusions
    bd = policy.bed_day
    is_bed = g and (g in bd.groups or g in bd.daily_points or any(g.startswith(p) for p in bd.prefixes))
    if is_bed and (g in bd.daily_points or g in table.index):
        daily = bd.daily_points.get(g, table.loc[g, "daily_points"] if g in table.index else math.nan)
        if not math.isnan(daily):
            pts = daily * los * (coef if bd.with_coefficient else 1.0)
            return "bed_day", math.nan, pts
    if ex.los_min is not None and los <= ex.los_min:
        return "excluded", math.nan, 0.0
    if ex.los_max is not None and los >= ex.los_max:
        return "excluded", math.nan, 0.0
    if not g or g not in table.index:
        # §13: fee-for-service points = cost ÷ (all-case mean ÷ scale), or 0 ("zero")
        if getattr(getattr(policy, "ungroupable", None), "points", "zero") == "fee_for_service":
            return "ungroupable", math.nan, cost / (weights.region_mean_cost / weights.points_scale)
        return "ungroupable", math.nan, 0.0
    base = float(table.loc[g, "base_points"])
    mean = float(table.loc[g, "mean_cost"])
    r = cost / mean
    dip = policy.kind == "dip"
    if dip:
        high = r > policy.deviation.high
        thr = policy.deviation.high
    else:
        thr = high_threshold(policy.outliers.high_bands, base)
        high = policy.outliers.enabled and r >= thr
    ic = policy.incomplete
    incomplete = ic.enabled and (
        case.get("discharge_mode") in ic.discharge_modes
        or (ic.max_los is not None and los <= ic.max_los)
    )
    if incomplete and not (policy.outliers.high_over_incomplete and high):
        pts = base * r * (coef if ic.with_coefficient else 1.0)
        if ic.cap_at_base_points:
            pts = min(pts, base)
        return "incomplete", r, pts
    if dip:
        if r < policy.deviation.low:
            return "low", r, base * coef * r
        if r > policy.deviation.high:
            return "high", r, base * coef * (r - 1)
        return "normal", r, base * coef
    if high:
        return "high", r, base * coef + base * (r - thr)
    if policy.outliers.enabled and r <= policy.outliers.low_multiple:
        if policy.outliers.low_rule == "full":
            return "low", r, base * coef
        # §13: base × coefficient × r (option low_with_coefficient = false: base × r)
        return "low", r, base * (coef if policy.outliers.low_with_coefficient else 1.0) * r
    return "normal", r, base * coef


def naive_price(cases: pd.DataFrame, weights: Weights, policy: Policy) -> pd.DataFrame:
    """Loop over cases with :func:`naive_price_case`; coefficients looked up per case."""
    hg = {(r.hospital_id, r.group): r.coefficient for r in weights.hospital_groups.itertuples()}
    out = []
    for case in cases.to_dict("records"):
        coef = policy.coefficients.new_group
        if policy.coefficients.mode == "hospital":
            coef = hg.get((case["hospital_id"], case.get(policy.group_col)), coef)
        elif policy.coefficients.mode == "none":
            coef = 1.0
        cls, r, pts = naive_price_case(case, weights, policy, coef)
        out.append({"case_class": cls, "r": r, "points": pts})
    return pd.DataFrame(out)


def hand_weights(groups: dict[str, tuple[float, float]], region_mean: float = 10_000.0,
                 hospital_coef: dict[tuple[str, str], float] | None = None,
                 level_rows: list[tuple[int, str, float, float]] | None = None,
                 small: set[str] | None = None, daily: dict[str, float] | None = None,
                 kind: str = "drg", budget_point_value: float = 100.0) -> Weights:
    """A :class:`Weights` built from hand numbers: ``groups[g] = (mean_cost, base_points)``."""
    names = list(groups)
    gdf = pd.DataFrame({
        "group": names,
        "cases": [100] * len(names),
        "kept_cases": [100] * len(names),
        "mean_cost": [groups[g][0] for g in names],
        "mean_los": [10.0] * len(names),
        "cv": [0.5] * len(names),
        "stable": [True] * len(names),
        "small": [g in (small or set()) for g in names],
        "rw": [groups[g][1] / 100 for g in names],
        "base_points": [groups[g][1] for g in names],
        "daily_points": [(daily or {}).get(g, np.nan) for g in names],
    })
    hc = hospital_coef or {}
    hdf = pd.DataFrame({
        "hospital_id": [k[0] for k in hc], "group": [k[1] for k in hc],
        "cases": [10] * len(hc), "mean_cost": [np.nan] * len(hc),
        "coefficient": list(hc.values()),
    })
    lr = level_rows or []
    ldf = pd.DataFrame({
        "hospital_level": [x[0] for x in lr], "group": [x[1] for x in lr],
        "cases": [10] * len(lr), "mean_cost": [x[2] for x in lr],
        "coefficient": [x[3] for x in lr],
    })
    hosp = pd.DataFrame({"hospital_id": ["H1"], "hospital_level": [3], "cases": [1],
                         "cmi": [1.0]})
    return Weights(kind=kind, group_column="drg" if kind == "drg" else "dip_group",
                   points_scale=100.0, region_mean_cost=region_mean,
                   budget_point_value=budget_point_value, years=[2023], year_weights=[1.0],
                   groups=gdf, hospital_groups=hdf, level_groups=ldf, hospitals=hosp)
