"""Performance indices (绩效评价) per hospital, department or doctor, domain.md §10.

``indices(grouped, weights)`` reduces a period's grouped cases to one row per key with
``cases, grouping_rate, drg_count, cmi, cost_index, time_index, low_risk_mortality`` (then
helper columns). ``risk_levels(grouped)`` gives each DRG's region mortality, z-score and risk
level (低/中低/中高/高风险组). Everything is a grouped reduction over factorised int labels.

Conventions (§10):

- region = all rows of ``grouped`` (the period); grouped = ``status == "SUCCESS"`` with a
  non-empty group (QY and every failure status are not grouped); ungroupable cases count in
  ``cases`` only;
- RW comes from the weights (``Weights.groups.rw`` or a ``group, rw`` table) or, when
  ``weights is None``, from :func:`history_rw` over ``grouped`` itself; a grouped case whose
  group has no finite RW counts as grouped but is left out of CMI (numerator and denominator);
- cost / time index: Σ_g n_hg × (mean_hg ÷ mean_g) ÷ Σ_g n_hg over grouped cases with a finite,
  non-negative cost (LOS); region means mean_g over the same cases; groups whose region mean is
  0 are left out (the ratio is undefined);
- death = ``discharge_mode == 4``; m_g = deaths ÷ grouped cases of DRG g in the region; m_g = 0
  is low risk; otherwise z_g = (ln m_g − mean) ÷ sd (sample sd, ddof 1) over the groups with
  m_g > 0; z < −1 low, −1 ≤ z < 0 mid-low, 0 ≤ z < 1 mid-high, z ≥ 1 high. When fewer than two
  groups have deaths, or all their ln m_g are equal, z is undefined (NaN) and those groups are
  ``unrated`` (not low risk);
- low-risk mortality = deaths in low-risk groups ÷ cases in low-risk groups, NaN when the key has
  no case in a low-risk group. All rates are fractions, unrounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .weights import Weights, factorize

INDEX_COLUMNS = (
    "cases", "grouping_rate", "drg_count", "cmi", "cost_index", "time_index",
    "low_risk_mortality",
)
EXTRA_COLUMNS = ("grouped", "cmi_cases", "low_risk_cases", "low_risk_deaths")
RISK_LEVELS = ("low", "mid_low", "mid_high", "high", "unrated")
# Chinese labels for the columns users read (reports)
LABELS_ZH = {
    "hospital_id": "医疗机构", "dept": "科室", "doctor": "主诊医师",
    "cases": "病例数", "grouping_rate": "入组率", "drg_count": "DRG组数", "cmi": "CMI",
    "cost_index": "费用消耗指数", "time_index": "时间消耗指数",
    "low_risk_mortality": "低风险组死亡率", "grouped": "入组病例数", "cmi_cases": "CMI病例数",
    "low_risk_cases": "低风险组病例数", "low_risk_deaths": "低风险组死亡数",
    "low": "低风险", "mid_low": "中低风险", "mid_high": "中高风险", "high": "高风险",
    "unrated": "未评级",
}
DEATH_MODE = 4
_REQUIRED = ("status", "total_cost", "los", "discharge_mode")


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _check(grouped: pd.DataFrame, group_col: str, by: Sequence[str]) -> None:
    missing = [c for c in (*by, group_col, *_REQUIRED) if c not in grouped.columns]
    if missing:
        raise KeyError(
            f"grouped cases lack column(s) {missing}; indices need {list(by)}, {group_col!r} "
            f"and {list(_REQUIRED)}"
        )


def _grouped_labels(grouped: pd.DataFrame, group_col: str) -> tuple[np.ndarray, np.ndarray]:
    """Group codes (-1 for not grouped) and the group names."""
    g, names = factorize(grouped[group_col].astype("str") if len(grouped) else grouped[group_col])
    ok = (grouped["status"].astype("str") == "SUCCESS").to_numpy(bool)
    return np.where(ok, g, -1), names


def history_rw(history: pd.DataFrame, group_col: str = "drg") -> pd.DataFrame:
    """§10 index RW: mean cost of group g ÷ mean cost of all grouped cases, untrimmed.

    Returns ``group, cases, mean_cost (yuan), rw``; uses SUCCESS rows with a finite cost ≥ 0.
    """
    _check(history, group_col, ())
    g, names = _grouped_labels(history, group_col)
    return _rw_table(g, names, _num(history, "total_cost"))


def _rw_table(g: np.ndarray, names: np.ndarray, cost: np.ndarray) -> pd.DataFrame:
    """:func:`history_rw` of group codes ``g`` (-1 not grouped) and costs already read."""
    ok = (g >= 0) & np.isfinite(cost) & (cost >= 0)
    n = len(names)
    cnt = np.bincount(g[ok], minlength=n)
    tot = np.bincount(g[ok], weights=cost[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = tot / cnt
        rw = mean / (tot.sum() / cnt.sum()) if cnt.sum() else np.full(n, np.nan)
    return pd.DataFrame({"group": pd.Series(names, dtype=object).astype(str),
                         "cases": cnt.astype(np.int64), "mean_cost": mean, "rw": rw})


def _rw_lookup(weights: Any, names: np.ndarray) -> np.ndarray:
    """RW per group code (NaN when the group has no weight)."""
    if isinstance(weights, Weights):
        table = weights.groups
    elif isinstance(weights, pd.DataFrame):
        table = weights
    else:
        raise TypeError(f"weights must be a Weights or a DataFrame, not {type(weights).__name__}")
    if "group" not in table.columns or "rw" not in table.columns:
        raise KeyError(f"weights table needs columns 'group' and 'rw'; has {list(table.columns)}")
    rw = pd.to_numeric(table["rw"], errors="coerce")
    s = pd.Series(rw.to_numpy(np.float64), index=table["group"].astype(str).to_numpy())
    s = s[~s.index.duplicated(keep="last")]
    out = s.reindex(pd.Index(names.astype(str))).to_numpy(np.float64)
    return np.where(np.isfinite(out), out, np.nan)


def _risk(g: np.ndarray, dead: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Per group: cases, deaths, mortality, z, level code (index into RISK_LEVELS)."""
    sel = g >= 0
    cnt = np.bincount(g[sel], minlength=n).astype(np.int64)
    deaths = np.bincount(g[sel], weights=dead[sel], minlength=n).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = deaths / cnt
    pos = m > 0
    z = np.full(n, np.nan)
    if pos.sum() >= 2:
        lm = np.log(m[pos])
        sd = float(np.std(lm, ddof=1))
        if sd > 0:
            z[pos] = (lm - lm.mean()) / sd
    level = np.full(n, 4, dtype=np.int64)  # unrated
    level[cnt > 0] = np.where(m[cnt > 0] == 0, 0, 4)
    rated = np.isfinite(z)
    level[rated] = np.select(
        [z[rated] < -1, z[rated] < 0, z[rated] < 1], [0, 1, 2], default=3
    )
    return cnt, deaths, m, z, level


def risk_levels(grouped: pd.DataFrame, group_col: str = "drg") -> pd.DataFrame:
    """Each group's region mortality and risk level (§10): group, cases, deaths, mortality,
    z (NaN for m = 0 or when undefined), risk_level ∈ low, mid_low, mid_high, high, unrated."""
    _check(grouped, group_col, ())
    g, names = _grouped_labels(grouped, group_col)
    dead = (_num(grouped, "discharge_mode") == DEATH_MODE).astype(np.float64)
    cnt, deaths, m, z, level = _risk(g, dead, len(names))
    present = cnt > 0
    return pd.DataFrame({
        "group": pd.Series(names, dtype=object).astype(str)[present].to_numpy(),
        "cases": cnt[present], "deaths": deaths[present], "mortality": m[present],
        "z": z[present], "risk_level": np.asarray(RISK_LEVELS, dtype=object)[level[present]],
    })


def _ratio_index(
    g: np.ndarray, k: np.ndarray, values: np.ndarray, n_g: int, n_k: int
) -> np.ndarray:
    """Σ_g n_kg × (mean_kg ÷ mean_g) ÷ Σ_g n_kg, i.e. the mean over cases of value ÷ mean_g."""
    ok = (g >= 0) & np.isfinite(values) & (values >= 0)
    cnt_g = np.bincount(g[ok], minlength=n_g)
    tot_g = np.bincount(g[ok], weights=values[ok], minlength=n_g)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_g = tot_g / cnt_g
    ok &= mean_g[np.maximum(g, 0)] > 0
    ratio = np.where(ok, values / np.where(ok, mean_g[np.maximum(g, 0)], 1.0), 0.0)
    num = np.bincount(k[ok], weights=ratio[ok], minlength=n_k)
    den = np.bincount(k[ok], minlength=n_k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _distinct_per_key(k: np.ndarray, g: np.ndarray, n_k: int, n_g: int) -> np.ndarray:
    """Distinct ``g`` per ``k`` (int64, length ``n_k``): marks in a dense key × group table
    when it is small (a hash or sort of every row costs seconds on millions), else a sort."""
    cell = k * max(n_g, 1) + g
    if n_k * max(n_g, 1) <= 64_000_000:
        seen = np.zeros(n_k * max(n_g, 1), dtype=bool)
        seen[cell] = True
        return seen.reshape(n_k, max(n_g, 1)).sum(axis=1).astype(np.int64)
    pair = np.unique(np.sort(cell))
    return np.bincount(pair // max(n_g, 1), minlength=n_k).astype(np.int64)


def indices(
    grouped: pd.DataFrame,
    weights: Weights | pd.DataFrame | None = None,
    by: Sequence[str] = ("hospital_id",),
    group_col: str = "drg",
) -> pd.DataFrame:
    """§10 indices per ``by`` key (e.g. ``("hospital_id",)``, ``("hospital_id", "dept")``,
    ``("hospital_id", "doctor")``) over one period's grouped cases.

    ``grouped`` needs the ``by`` columns, ``group_col``, ``status``, ``total_cost`` (yuan),
    ``los`` (days) and ``discharge_mode``. Returns one row per key (sorted by key) with
    ``INDEX_COLUMNS`` then ``EXTRA_COLUMNS``; rates are fractions, indices unitless.
    """
    by = list(by)
    if not by:
        raise ValueError("indices: `by` needs at least one key column")
    _check(grouped, group_col, by)
    g, names = _grouped_labels(grouped, group_col)
    n_g = len(names)
    cost = _num(grouped, "total_cost")
    rw_g = _rw_table(g, names, cost)["rw"].to_numpy() if weights is None else _rw_lookup(
        weights, names)
    if weights is None:
        rw_g = np.where(np.isfinite(rw_g), rw_g, np.nan)

    keys = grouped[by].astype("str").reset_index(drop=True)
    if len(by) == 1:
        k, uniq = factorize(keys[by[0]])
        key_df = pd.DataFrame({by[0]: pd.Series(uniq, dtype=object)})
        # empty text keys are factorised as -1: keep them as their own key ""
        if (k < 0).any():
            k = np.where(k < 0, len(uniq), k)
            key_df = pd.concat([key_df, pd.DataFrame({by[0]: [""]})], ignore_index=True)
    else:
        mi = pd.MultiIndex.from_frame(keys)
        k, uniq = pd.factorize(mi, sort=True)
        key_df = pd.DataFrame(list(uniq), columns=by)
    k = np.asarray(k, dtype=np.int64)
    n_k = len(key_df)

    sel = g >= 0
    cases = np.bincount(k, minlength=n_k)
    n_grouped = np.bincount(k[sel], minlength=n_k)
    drg_count = _distinct_per_key(k[sel], g[sel], n_k, n_g)

    rw_case = np.where(sel, rw_g[np.maximum(g, 0)], np.nan) if n_g else np.full(len(k), np.nan)
    has_rw = np.isfinite(rw_case)
    cmi_cases = np.bincount(k[has_rw], minlength=n_k)
    rw_sum = np.bincount(k[has_rw], weights=rw_case[has_rw], minlength=n_k)

    cost_index = _ratio_index(g, k, cost, n_g, n_k)
    time_index = _ratio_index(g, k, _num(grouped, "los"), n_g, n_k)

    dead = (_num(grouped, "discharge_mode") == DEATH_MODE).astype(np.float64)
    _, _, _, _, level = _risk(g, dead, n_g)
    low = sel & (level[np.maximum(g, 0)] == 0)
    low_cases = np.bincount(k[low], minlength=n_k)
    low_deaths = np.bincount(k[low], weights=dead[low], minlength=n_k).astype(np.int64)

    with np.errstate(invalid="ignore", divide="ignore"):
        out = key_df.assign(
            cases=cases.astype(np.int64),
            grouping_rate=np.where(cases > 0, n_grouped / np.maximum(cases, 1), np.nan),
            drg_count=drg_count.astype(np.int64),
            cmi=np.where(cmi_cases > 0, rw_sum / np.maximum(cmi_cases, 1), np.nan),
            cost_index=cost_index,
            time_index=time_index,
            low_risk_mortality=np.where(low_cases > 0, low_deaths / np.maximum(low_cases, 1),
                                        np.nan),
            grouped=n_grouped.astype(np.int64),
            cmi_cases=cmi_cases.astype(np.int64),
            low_risk_cases=low_cases.astype(np.int64),
            low_risk_deaths=low_deaths,
        )
    return out.sort_values(by, kind="stable").reset_index(drop=True)
