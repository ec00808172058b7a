"""Weights from a bureau's published table (病组权重表 / 病种分值表), for hospitals that do not
have the region's history.

The table has one row per group: its code, optionally its name, its RW (or base points /
score), its average cost (yuan) and average stay (days). Headers may be Chinese or English
(:data:`HEADERS`). The hospital adds its own coefficient (医院系数) and the published point
value (yuan per point) or base rate (费率, yuan per RW). The result is an ordinary
:class:`payment.weights.Weights`: pricing reads it as it reads weights fitted from history,
with ``point_value.source = "history"`` taking the published point value.

Conventions: base points = RW × points scale (or RW = base points ÷ scale when only points are
published); daily points = base points ÷ average stay; every group is stable and not small;
the region's all-case mean cost (used by special review) is the mean over groups of average
cost ÷ RW unless given; the coefficient applies to every group of each listed hospital.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .weights import Weights

__all__ = ["HEADERS", "published_weights"]

#: Accepted headers → column.
HEADERS: dict[str, tuple[str, ...]] = {
    "group": ("group", "drg", "dip_group", "DRG编码", "DRG代码", "病组编码", "病组代码",
              "病种编码", "病种代码", "DRG code", "code"),
    "name": ("name", "DRG名称", "病组名称", "病种名称", "名称", "DRG name"),
    "rw": ("rw", "RW", "权重", "相对权重", "病组权重"),
    "base_points": ("base_points", "基准点数", "点数", "分值", "病种分值", "score"),
    "mean_cost": ("mean_cost", "次均费用", "例均费用", "平均费用", "平均住院费用", "average cost"),
    "mean_los": ("mean_los", "平均住院日", "平均住院天数", "average LOS", "average los"),
}


def _find(df: pd.DataFrame, col: str) -> str | None:
    for h in HEADERS[col]:
        if h in df.columns:
            return h
    return None


def _numbers(df: pd.DataFrame, head: str, col: str, source: str, positive: bool) -> np.ndarray:
    v = pd.to_numeric(df[head].astype("string").str.replace(",", "", regex=False).str.strip(),
                      errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(v) | ((v <= 0) if positive else (v < 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{source}: row {i + 2}, column {head!r} ({col}): {df[head].iloc[i]!r} "
                         f"is not a {'positive' if positive else 'non-negative'} number")
    return v


def published_weights(
    table: pd.DataFrame,
    *,
    coefficients: float | Mapping[str, float] = 1.0,
    hospitals: Sequence[str] = (),
    point_value: float | None = None,
    base_rate: float | None = None,
    kind: str = "drg",
    points_scale: float = 100.0,
    region_mean_cost: float | None = None,
    source: str = "<published table>",
) -> Weights:
    """Weights from a published table; ``coefficients`` one number for every hospital in
    ``hospitals`` or a mapping hospital → coefficient; ``point_value`` yuan per point or
    ``base_rate`` yuan per RW (point value = base rate ÷ points scale)."""
    if (point_value is None) == (base_rate is None):
        raise ValueError(f"{source}: give the published point value or the base rate (one)")
    pv = float(point_value) if point_value is not None else float(base_rate) / points_scale
    if not (math.isfinite(pv) and pv > 0):
        raise ValueError(f"{source}: the point value must be a positive number, got {pv!r}")
    heads = {c: _find(table, c) for c in HEADERS}
    missing = [c for c in ("group", "mean_cost", "mean_los") if heads[c] is None]
    if heads["rw"] is None and heads["base_points"] is None:
        missing.append("rw or base_points")
    if missing:
        raise ValueError(f"{source}: no column for {missing}; accepted headers: "
                         + "; ".join(f"{c}: {', '.join(HEADERS[c])}" for c in missing
                                     if c in HEADERS))
    codes = table[heads["group"]].astype("string").str.strip()
    if codes.isna().any() or (codes == "").any():
        i = int(np.flatnonzero((codes.isna() | (codes == "")).to_numpy())[0])
        raise ValueError(f"{source}: row {i + 2}, column {heads['group']!r}: blank group code")
    dup = codes.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValueError(f"{source}: row {i + 2}: group {codes.iloc[i]!r} listed twice")
    if heads["rw"] is not None:
        rw = _numbers(table, heads["rw"], "rw", source, positive=True)
        base = rw * points_scale
    else:
        base = _numbers(table, heads["base_points"], "base_points", source, positive=True)
        rw = base / points_scale
    cost = _numbers(table, heads["mean_cost"], "mean_cost", source, positive=True)
    los = _numbers(table, heads["mean_los"], "mean_los", source, positive=True)
    n = len(table)
    groups = pd.DataFrame({
        "group": codes.to_numpy(dtype=object), "cases": np.zeros(n, np.int64),
        "kept_cases": np.zeros(n, np.int64), "mean_cost": cost, "mean_los": los,
        "cv": np.full(n, np.nan), "stable": np.ones(n, bool), "small": np.zeros(n, bool),
        "rw": rw, "base_points": base, "daily_points": base / los,
    })
    if isinstance(coefficients, Mapping):
        coef = {str(h): float(c) for h, c in coefficients.items()}
    else:
        coef = {str(h): float(coefficients) for h in hospitals}
    for h, c in coef.items():
        if not (math.isfinite(c) and 0 < c <= 100):
            raise ValueError(f"{source}: coefficient of hospital {h!r} must be in (0, 100], got {c!r}")
    hg = pd.DataFrame({
        "hospital_id": np.repeat(list(coef), n).astype(object),
        "group": np.tile(groups["group"].to_numpy(), len(coef)),
        "cases": 0, "mean_cost": np.tile(cost, len(coef)),
        "coefficient": np.repeat(list(coef.values()), n).astype(np.float64),
    })
    hosp = pd.DataFrame({"hospital_id": list(coef), "hospital_level": np.nan, "cases": 0,
                         "cmi": np.nan})
    lg = pd.DataFrame({"hospital_level": pd.Series(dtype=np.int64), "group": pd.Series(dtype=object),
                       "cases": pd.Series(dtype=np.int64), "mean_cost": pd.Series(dtype=float),
                       "coefficient": pd.Series(dtype=float)})
    region = float(region_mean_cost) if region_mean_cost is not None else float(np.mean(cost / rw))
    meta = {"source": source, "published": True}
    if heads["name"] is not None:
        meta["names"] = dict(zip(groups["group"], table[heads["name"]].astype(str), strict=True))
    return Weights(kind=kind, group_column="drg" if kind == "drg" else "dip_group",
                   points_scale=float(points_scale), region_mean_cost=region,
                   budget_point_value=pv, years=[], year_weights=[], groups=groups,
                   hospital_groups=hg, level_groups=lg, hospitals=hosp, meta=meta)
