"""compute_weights(): relative weights (DRG) or scores (DIP), coefficients and CMI (§4, §13).

Fitted like an estimator: history in, a :class:`Weights` of plain tables out, saved as a
directory of CSV files plus ``manifest.json``. Everything runs as grouped reductions over int
labels (``payment._kernels``), with no Python loop per group.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from drgsim_common.trim import trim_keep

from . import _kernels as K
from .outliers import prefix_match
from .policy import Policy

_TABLES = ("groups", "hospital_groups", "level_groups", "hospitals")
_STR_COLUMNS = {"group": str, "hospital_id": str}
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Weights:
    """Fitted weights. Costs are yuan, LOS days, base points / daily points in points.

    ``groups``: group, cases (raw count), kept_cases, mean_cost, mean_los, cv, stable, small,
    rw, base_points (DRG RW × scale; DIP score), daily_points (base points ÷ mean LOS),
    prev_year_mean_cost (mean of the kept cases of the newest history year, nan when none:
    the DIP deviation's "previous-year average", §5).
    ``hospital_groups``: hospital_id, group, cases, mean_cost, coefficient.
    ``level_groups``: hospital_level, group, cases, mean_cost, coefficient, prev_year_mean_cost.
    ``hospitals``: hospital_id, hospital_level, cases, cmi.
    """

    kind: str
    group_column: str
    points_scale: float
    region_mean_cost: float
    budget_point_value: float
    years: list[int]
    year_weights: list[float]
    groups: pd.DataFrame
    hospital_groups: pd.DataFrame
    level_groups: pd.DataFrame
    hospitals: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        """The scalar part, as written to ``manifest.json``."""
        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "group_column": self.group_column,
            "points_scale": self.points_scale,
            "region_mean_cost": self.region_mean_cost,
            "budget_point_value": self.budget_point_value,
            "years": self.years,
            "year_weights": self.year_weights,
            "tables": {name: f"{name}.csv" for name in _TABLES},
            "meta": self.meta,
        }

    def save(self, directory: str | Path) -> Path:
        """Write the tables as CSV and the scalars as ``manifest.json`` into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name in _TABLES:
            getattr(self, name).to_csv(out / f"{name}.csv", index=False)
        (out / "manifest.json").write_text(
            json.dumps(self.manifest(), indent=2, ensure_ascii=False), encoding="utf-8"
        )
        return out


def load_weights(directory: str | Path) -> Weights:
    """Read a directory written by :meth:`Weights.save`."""
    src = Path(directory)
    manifest_path = src / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{src}: no manifest.json (not a weights directory)")
    try:
        m = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{manifest_path}: not valid UTF-8 JSON ({e}); expected the manifest of a "
                         "weights directory written by `drgsim weights`") from None
    if isinstance(m, dict) and m.get("format") == "drgsim-dip-catalogue":
        raise ValueError(
            f"{src}: this is a DIP catalogue folder (manifest format 'drgsim-dip-catalogue', written "
            "by `drgsim dip build` / `dip import`), but a weights directory was expected (manifest "
            "with 'kind' and 'tables', written by `drgsim weights HISTORY -p POLICY -o DIR`). Group "
            "cases with the catalogue (`drgsim dip group CASES --catalogue DIR`), then compute "
            "weights with a DIP policy (e.g. -p national_dip) and pass that directory to -w")
    missing = [k for k in ("kind", "tables", "group_column", "points_scale", "region_mean_cost",
                           "budget_point_value", "years", "year_weights")
               if not isinstance(m, dict) or k not in m]
    if missing:
        raise ValueError(f"{manifest_path}: not a weights manifest: key(s) {', '.join(map(repr, missing))} "
                         "missing (expected a weights directory written by `drgsim weights`)")
    absent = [n for n in _TABLES if not isinstance(m["tables"], dict) or n not in m["tables"]]
    if absent:
        raise ValueError(f"{manifest_path}: key 'tables' lacks {', '.join(map(repr, absent))} "
                         f"(allowed: a file name for each of {', '.join(_TABLES)})")
    tables = {
        name: pd.read_csv(src / m["tables"][name], dtype=_STR_COLUMNS, keep_default_na=False,
                          na_values=[""])
        for name in _TABLES
    }
    for name in ("groups", "hospital_groups", "level_groups"):
        tables[name]["group"] = tables[name]["group"].fillna("").astype(str)
    return Weights(
        kind=m["kind"], group_column=m["group_column"], points_scale=float(m["points_scale"]),
        region_mean_cost=float(m["region_mean_cost"]),
        budget_point_value=float(m["budget_point_value"]),
        years=[int(y) for y in m["years"]], year_weights=[float(w) for w in m["year_weights"]],
        meta=m.get("meta", {}), **tables,
    )


# ---- fitting -----------------------------------------------------------------------------------


def factorize(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Int64 codes (sorted uniques; -1 for missing or empty text) and the uniques (object).

    Arrow-backed text is dictionary-encoded by pyarrow (several times faster than a Python-level
    hash on 1M rows); the small dictionary is then sorted and the codes remapped.
    """
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy(np.int64)
        uniques = np.asarray(s.cat.categories.astype(str), dtype=object)
    elif hasattr(s.array, "_pa_array") and pa.types.is_string(s.array._pa_array.type) or (
        hasattr(s.array, "_pa_array") and pa.types.is_large_string(s.array._pa_array.type)
    ):
        enc = s.array._pa_array.combine_chunks().dictionary_encode()
        codes = enc.indices.to_numpy(zero_copy_only=False)
        codes = np.where(np.isnan(codes), -1, codes) if codes.dtype.kind == "f" else codes
        codes = codes.astype(np.int64)
        uniques = np.asarray(enc.dictionary.to_pylist(), dtype=object)
    else:
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        codes = codes.astype(np.int64)
        uniques = np.asarray(uniq, dtype=object).astype(str).astype(object)
    if len(uniques) == 0:
        return codes, uniques
    # sort the dictionary (deterministic group order) and drop empty text
    order = np.argsort(uniques.astype(str), kind="stable")
    sorted_u = uniques[order]
    keep = sorted_u != ""
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.where(keep, np.cumsum(keep) - 1, -1)
    return K.remap_codes(np.ascontiguousarray(codes, dtype=np.int64), rank), sorted_u[keep]


def _num(df: pd.DataFrame, col: str, default: float = np.nan) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), default)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _select_years(
    year: np.ndarray, valid: np.ndarray, policy: Policy
) -> tuple[list[int], np.ndarray]:
    """Years used and their weights (oldest first).

    Explicit ``history_years`` pair with ``year_weights``; otherwise the newest years present
    take the newest weights (with 2 years and 1:2:7 the weights are 2:7).
    """
    wp = policy.weights
    if wp.history_years is not None:
        return list(wp.history_years), np.asarray(wp.year_weights, dtype=np.float64)
    # distinct values by hashing (few years), then sorted: np.unique's result without a sort of
    # every row
    present = np.sort(pd.unique(year[valid & ~np.isnan(year)])).astype(np.int64)
    k = min(len(present), len(wp.year_weights))
    years = [int(y) for y in present[len(present) - k:]]
    return years, np.asarray(wp.year_weights[len(wp.year_weights) - k:], dtype=np.float64)


def trim_mask(
    labels: np.ndarray, values: np.ndarray, n: int, policy: Policy
) -> np.ndarray:
    """Kept flags after trimming per label (group × year), §13.

    Bounds inclusive; quantiles by linear interpolation; SD with ddof 1; labels with fewer than
    ``trim_min_cases`` values are left untrimmed. ``-1`` labels are never kept.
    """
    wp = policy.weights

    def quantiles(lab: np.ndarray, x: np.ndarray, m: int, probs: tuple[float, float]):
        q_lo, q_hi = K.group_quantiles(lab, x, m, probs)
        return K.group_count(lab, m), q_lo, q_hi

    return trim_keep(labels, values, n, wp.trim, wp.trim_k, wp.trim_lower, wp.trim_upper,
                     wp.trim_min_cases, mean_sd=K.group_mean_sd, quantiles=quantiles)


def compute_weights(history: pd.DataFrame, policy: Policy) -> Weights:
    """Fit weights from grouped historical cases under ``policy`` (§4, defaults §13).

    ``history`` needs the group column (``policy.group_col``), ``hospital_id``,
    ``hospital_level``, ``total_cost`` (yuan), ``year`` and ``los`` (days); a ``status`` column,
    when present, keeps only ``SUCCESS`` rows. Rows with missing/negative/absurd cost, no group
    or (if ``weights.apply_los_exclusions``) an LOS exclusion are left out; ``groups`` lists
    only the groups with at least one row left in.
    """
    gcol = policy.group_col
    if gcol not in history.columns:
        raise KeyError(f"history has no group column {gcol!r} (policy kind {policy.kind!r})")
    wp = policy.weights
    n_rows = len(history)
    cost = _num(history, "total_cost")
    los = _num(history, "los", default=0.0)
    year = _num(history, "year", default=0.0)
    g_all, groups = factorize(history[gcol].astype("str") if n_rows else history[gcol])
    n_groups = len(groups)

    valid = (cost >= 0) & (cost <= policy.input_checks.max_cost) & (g_all >= 0)
    valid &= (los >= 0) & (los <= policy.input_checks.max_los)
    if "status" in history.columns:
        valid &= (history["status"].astype("str") == "SUCCESS").to_numpy(bool)
    if wp.apply_los_exclusions:
        bed = prefix_match(groups, policy.bed_day.groups, policy.bed_day.prefixes)
        ex = policy.exclusions
        is_bed = (bed[np.maximum(g_all, 0)] if len(bed) else np.zeros(n_rows, bool)) & (g_all >= 0)
        lo = ex.los_min if ex.los_min is not None else -np.inf
        hi = ex.los_max if ex.los_max is not None else np.inf
        valid &= is_bed | ((los > lo) & (los < hi))

    years, yw = _select_years(year, valid, policy)
    year_idx = np.searchsorted(np.asarray(years, dtype=np.float64), year)
    in_years = (year_idx < len(years)) & (
        np.asarray(years, dtype=np.float64)[np.minimum(year_idx, len(years) - 1)] == year
    ) if years else np.zeros(n_rows, bool)  # no usable row: no year, empty weights
    if "year" not in history.columns:  # one undated year
        years, yw, year_idx, in_years = [0], np.ones(1), np.zeros(n_rows, np.int64), np.ones(
            n_rows, bool)
    valid &= in_years
    ny = len(years)

    sel = np.flatnonzero(valid)
    c, d, g, y = cost[sel], los[sel], g_all[sel], year_idx[sel].astype(np.int64)
    per_case = wp.year_weighting == "per_case"

    # trimming per group × year, before means
    kept = trim_mask(g * ny + y, c, n_groups * ny, policy)
    gk = np.where(kept, g, -1)

    raw = K.group_count(g, n_groups)
    kept_n = K.group_count(gk, n_groups)
    mean_cost = K.weighted_yearly_mean(gk, y, c, n_groups, yw, per_case)
    mean_los = K.weighted_yearly_mean(gk, y, d, n_groups, yw, per_case)
    region_mean = float(
        K.weighted_yearly_mean(np.where(kept, 0, -1), y, c, 1, yw, per_case)[0]
    ) if kept.any() else float("nan")
    _, pooled_mean, pooled_sd = K.group_mean_sd(gk, c, n_groups)
    # §5 DIP "previous-year average": kept cases of the newest history year only
    newest_kept = kept & (y == ny - 1)
    prev_mean = K.group_mean_sd(np.where(newest_kept, g, -1), c, n_groups)[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = pooled_sd / pooled_mean
        rw = publish(mean_cost / region_mean, wp.rw_decimals, wp.rw_rounding)
        base_points = rw * wp.points_scale
        daily = np.where(mean_los > 0, base_points / mean_los, np.nan)

    groups_df = pd.DataFrame({
        "group": pd.Series(groups, dtype=object).astype(str),
        "cases": raw,
        "kept_cases": kept_n,
        "mean_cost": mean_cost,
        "mean_los": mean_los,
        "cv": cv,
        # §13: a group with fewer than min_cases (raw) is never stable
        "stable": (np.nan_to_num(cv, nan=np.inf) < wp.cv_threshold) & (raw >= wp.min_cases),
        "small": raw < wp.min_cases,
        "rw": rw,
        "base_points": base_points,
        "daily_points": daily,
        "prev_year_mean_cost": prev_mean,
    })
    # only groups with a used history case have a weight: codes seen on left-out rows alone
    # (a failed grouping's "0000", the ambiguous "GQY", a group whose every stay is LOS-excluded)
    # are not groups of the table, so they are neither counted nor flagged small (§5, §13)
    groups_df = groups_df[raw > 0].reset_index(drop=True)

    hosp_codes, hospitals = factorize(history["hospital_id"].astype("str"))
    h = hosp_codes[sel]
    level_all = _num(history, "hospital_level", default=0.0)
    lvl = np.nan_to_num(level_all[sel], nan=0.0).astype(np.int64)
    cp = policy.coefficients

    def _pair_table(
        key: np.ndarray, n_keys: int | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        top = int(key.max(initial=-1)) + 1
        if n_keys is None and top <= max(len(key) // 4, 1 << 21):
            # small key space (hospitals × groups): the keys are their own codes; keys with no
            # kept case are dropped by the caller exactly as after a factorisation
            codes, uniq, n_keys = key, np.arange(top, dtype=np.int64), top
        elif n_keys is None:
            codes, uniq = pd.factorize(key, sort=True)
            codes = codes.astype(np.int64)
            n_keys = len(uniq)
        else:
            codes, uniq = key, np.arange(n_keys)
        ck = np.where(kept & (codes >= 0), codes, -1)
        cnt = K.group_count(ck, n_keys)
        m = K.weighted_yearly_mean(ck, y, c, n_keys, yw, per_case)
        return uniq, cnt, m

    # hospital × group
    hk_uniq, hk_cnt, hk_mean = _pair_table(np.where(h >= 0, h * n_groups + g, -1), None)
    present = (hk_cnt > 0) & (hk_uniq >= 0)
    hk_uniq, hk_cnt, hk_mean = hk_uniq[present], hk_cnt[present], hk_mean[present]
    hg_h, hg_g = hk_uniq // max(n_groups, 1), hk_uniq % max(n_groups, 1)
    hosp_coef = _coefficients(hk_mean, mean_cost[hg_g], hk_cnt, cp)
    hospital_groups = pd.DataFrame({
        "hospital_id": pd.Series(hospitals[hg_h], dtype=object).astype(str),
        "group": pd.Series(groups[hg_g], dtype=object).astype(str),
        "cases": hk_cnt, "mean_cost": hk_mean, "coefficient": hosp_coef,
    })

    # level × group (levels 0..3; 0 = unknown level)
    lk_uniq, lk_cnt, lk_mean = _pair_table(
        np.clip(lvl, 0, 3) * n_groups + g, 4 * n_groups
    )
    present = lk_cnt > 0
    lk_prev = K.group_mean_sd(np.where(newest_kept, np.clip(lvl, 0, 3) * n_groups + g, -1), c,
                              4 * n_groups)[1][present]
    lk_uniq, lk_cnt, lk_mean = lk_uniq[present], lk_cnt[present], lk_mean[present]
    lg_l, lg_g = lk_uniq // max(n_groups, 1), lk_uniq % max(n_groups, 1)
    level_groups = pd.DataFrame({
        "hospital_level": lg_l.astype(np.int64),
        "group": pd.Series(groups[lg_g], dtype=object).astype(str),
        "cases": lk_cnt, "mean_cost": lk_mean,
        "coefficient": _coefficients(lk_mean, mean_cost[lg_g], lk_cnt, cp),
        "prev_year_mean_cost": lk_prev,
    })

    # CMI per hospital: mean RW of its cases in the newest history year (assumption: the
    # hospital's current case mix; untrimmed)
    n_h = len(hospitals)
    newest = (y == ny - 1) & (h >= 0) & np.isfinite(rw[g])
    h_new = np.where(newest, h, -1)
    cmi_cnt = K.group_count(h_new, n_h)
    with np.errstate(invalid="ignore", divide="ignore"):
        cmi = np.where(cmi_cnt > 0, K.group_sum(h_new, rw[g], n_h) / np.maximum(cmi_cnt, 1),
                       np.nan)
    level_of = np.zeros(n_h, dtype=np.int64)
    hv = h >= 0
    level_of[h[hv]] = lvl[hv]  # the last row's level wins; a hospital has one level
    hospitals_df = pd.DataFrame({
        "hospital_id": pd.Series(hospitals, dtype=object).astype(str),
        "hospital_level": level_of,
        "cases": K.group_count(h, n_h),
        "cmi": cmi,
    })

    # budget point value (§13): 1:2:7 mean of yearly total cost over that of yearly base points
    bp_case = np.nan_to_num(base_points[g], nan=0.0)
    if policy.kind == "dip" and policy.dip.aux_coefficients == "apply" \
            and "aux_coefficient" in history.columns:
        # a DIP case's points are its score × its auxiliary coefficient (§7), history too
        aux = _num(history, "aux_coefficient")[sel]
        bp_case = bp_case * np.where(np.isfinite(aux) & (aux > 0), aux, 1.0)
    cost_y = np.bincount(y, weights=c, minlength=ny)
    pts_y = np.bincount(y, weights=bp_case, minlength=ny)
    has_y = np.bincount(y, minlength=ny) > 0
    budget_pv = budget_point_value(cost_y[has_y], pts_y[has_y], yw[has_y])

    return Weights(
        kind=policy.kind, group_column=gcol, points_scale=float(wp.points_scale),
        region_mean_cost=region_mean, budget_point_value=budget_pv,
        years=years, year_weights=[float(w) for w in yw],
        groups=groups_df, hospital_groups=hospital_groups, level_groups=level_groups,
        hospitals=hospitals_df,
        meta={"policy": policy.name, "history_rows": int(n_rows), "used_rows": int(len(sel)),
              "kept_rows": int(kept.sum()), "trim": wp.trim},
    )


def publish(values: np.ndarray, decimals: int, rounding: str = "half_up") -> np.ndarray:
    """Values published to ``decimals`` places, half-up on the decimal each float stands for
    (``repr``), as a bureau prints RW (§13); ``rounding = "none"`` returns them unchanged.
    nan stays nan. One Decimal per value: call it on per-group tables, not per case."""
    x = np.asarray(values, dtype=np.float64)
    if rounding == "none":
        return x
    q = Decimal(1).scaleb(-int(decimals))
    out = np.array([float(Decimal(repr(float(v))).quantize(q, ROUND_HALF_UP))
                    if np.isfinite(v) else v for v in x.reshape(-1)], dtype=np.float64)
    return out.reshape(x.shape)


def budget_point_value(
    yearly_total_cost: Sequence[float], yearly_points: Sequence[float],
    year_weights: Sequence[float] = (1.0, 2.0, 7.0),
) -> float:
    """Budget point value (yuan per point, §4, §13) from yearly totals, oldest year first:
    Σ w_y × total cost_y ÷ Σ w_y × total expected (base) points_y.

    Pass only the years that have cases, with their weights (with two years of 1:2:7 pass the
    newest two weights, 2:7). Example: costs 100, 200, 300 and points 1, 2, 3 at 1:2:7 give
    (100 + 400 + 2100) ÷ (1 + 4 + 21) = 100.0. nan when the weighted points are not positive.
    """
    c = np.asarray(yearly_total_cost, dtype=np.float64)
    p = np.asarray(yearly_points, dtype=np.float64)
    w = np.asarray(year_weights, dtype=np.float64)
    if not (c.shape == p.shape == w.shape):
        raise ValueError(
            f"budget_point_value: {c.size} costs, {p.size} point totals and {w.size} weights; "
            "allowed: one of each per year, oldest first"
        )
    num = math.fsum((w * c).tolist())
    den = math.fsum((w * p).tolist())
    return num / den if den > 0 else float("nan")


def _coefficients(
    mean: np.ndarray, group_mean: np.ndarray, kept: np.ndarray, cp: Any
) -> np.ndarray:
    """mean ÷ group mean, clipped to the policy bounds; ``new_group`` below ``min_cases``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = mean / group_mean
    coef = np.where((kept >= cp.min_cases) & np.isfinite(coef), coef, cp.new_group)
    if cp.min is not None or cp.max is not None:
        coef = np.clip(coef, cp.min if cp.min is not None else -np.inf,
                       cp.max if cp.max is not None else np.inf)
    return coef
