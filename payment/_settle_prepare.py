"""Per-case helpers of :func:`payment.settlement.prepare`: columns, checks, hospital codes,
the CMI sums and the §13 conversions of approved special-review amounts (one pass each)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .settlement_policy import MAX_YUAN


def _decision_month(values: pd.Series, period: str) -> np.ndarray:
    """Month (1–12) closing the special-review period a case was decided in; 0 when unknown.

    ``sr_quarter`` holds the period number of ``special_review.quota_period``: a quarter 1–4
    (also text ending in that digit, such as '2025Q2'), a month 1–12, or 1 for a year.
    """
    if pd.api.types.is_numeric_dtype(values):
        q = pd.to_numeric(values, errors="coerce").fillna(0).to_numpy(dtype=np.float64)
    else:
        last = values.astype("string").str.strip().str.extract(r"(\d+)$")[0]
        q = pd.to_numeric(last, errors="coerce").fillna(0).to_numpy(dtype=np.float64)
    q = q.astype(np.int64)
    if period == "month":
        m = q
    elif period == "year":
        m = np.where(q > 0, 12, 0)
    else:
        m = np.where((q >= 1) & (q <= 4), 3 * q, 0)
    m[(m < 1) | (m > 12)] = 0
    return m


def provisional_values(pts: np.ndarray, pay: np.ndarray, attrs: dict[str, Any]
                       ) -> tuple[np.ndarray, float]:
    """Each case's provisional value before special review for the monthly advances (§13):
    unrounded points × the pricing's yuan per point (``attrs['yuan_per_point']``), yuan; the
    ``payment`` column when that is unknown (hand-made tables). Also returns that yuan per
    point (NaN when unknown). The one rule settlement and the what-if basis share."""
    ypp = float(attrs.get("yuan_per_point", np.nan))
    if not (np.isfinite(ypp) and ypp > 0):
        ypp = float("nan")
    return (pts * ypp if np.isfinite(ypp) else pay), ypp


def _column(df: pd.DataFrame, name: str, default: float = 0.0) -> np.ndarray:
    """The column as float64 (not numeric → missing; missing → ``default``), a new array."""
    if name not in df.columns:
        return np.full(len(df), default)
    s = df[name]
    if s.dtype == np.float64:  # already numbers: the same values without pandas' fillna
        a = s.to_numpy()
        return np.where(np.isnan(a), default, a)
    return pd.to_numeric(s, errors="coerce").fillna(default).to_numpy(dtype=np.float64)


def _check_cases(pts: np.ndarray, pay: np.ndarray, tc: np.ndarray, sr_amt: np.ndarray,
                 pp: np.ndarray) -> None:
    """Reject settled cases whose numbers would overflow (or poison) the int64-cent settlement."""
    for name, v in (("points", pts), ("payment", pay), ("total_cost", tc),
                    ("sr_amount", sr_amt), ("patient_paid", pp)):
        bad = int((~np.isfinite(v)).sum())
        if bad:
            raise ValueError(f"settlement: {bad} settled case(s) have a non-finite {name}")
    neg = int((pts < 0).sum())
    if neg:
        raise ValueError(f"settlement: {neg} settled case(s) have negative points")
    if not np.isfinite(pts.sum()):
        raise ValueError("settlement: the settled cases' points do not sum to a finite number")
    for name, v in (("payment", pay), ("total_cost", tc), ("sr_amount", sr_amt),
                    ("patient_paid", pp)):
        total = float(np.abs(v).sum())
        if not total <= MAX_YUAN:
            raise ValueError(
                f"settlement: the settled cases' {name} totals {total:.6g} yuan, above the "
                f"largest amount settlement accepts ({MAX_YUAN:.0e} yuan)"
            )


def _hospital_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted hospital ids (object) and each row's code; missing ids are the empty text."""
    codes, uniq = pd.factorize(values.astype("string").fillna(""), use_na_sentinel=False)
    text = np.asarray(uniq, dtype=object).astype(str)
    order = np.argsort(text, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return text[order].astype(object), rank[codes] if len(codes) else codes.astype(np.int64)


def _class_in(values: pd.Series, classes: Any) -> np.ndarray:
    """Rows whose case class is one of ``classes`` (categories compared once, not per row)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = np.asarray(values.cat.categories.astype(str))
        hit = np.append(np.isin(cats, list(classes)), False)  # code -1 (missing) → False
        return hit[values.cat.codes.to_numpy()]
    return values.astype("string").isin(list(classes)).to_numpy(dtype=bool, na_value=False)


def _rw_by_hospital(priced: pd.DataFrame, h: np.ndarray, nh: int, scale: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Σ RW and count of each hospital's cases with a weight (§13 CMI: all cases with a group
    weight, LOS-excluded ones included, ungroupable ones not; RW = base points ÷ scale).
    Empty arrays without a ``base_points`` column."""
    if "base_points" not in priced.columns:
        return np.zeros(0), np.zeros(0)
    bp = _column(priced, "base_points", np.nan)
    ok = np.isfinite(bp)
    if "case_class" in priced.columns:
        ok &= ~_class_in(priced["case_class"], ("ungroupable",))
    s = np.bincount(h, weights=np.where(ok, bp / scale, 0.0), minlength=nh)
    n = np.bincount(h, weights=ok.astype(np.float64), minlength=nh)
    return s, n


def _convert_sr(pts: np.ndarray, pay: np.ndarray, sr_amt: np.ndarray, sr: np.ndarray,
                conversion: str, ypp: float, attrs: dict[str, Any], scale: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Approved special-review amounts as points (§13 options): re-priced ÷ the budget point
    value (``budget_pv``) or ÷ (all-case mean ÷ scale) (``mean_cost``); ``settlement_pv``
    leaves them as amounts for the exact solve."""
    if conversion == "settlement_pv" or not sr.any():
        return pts, pay, sr_amt
    if conversion == "budget_pv":
        unit = ypp
    else:
        unit = float(attrs.get("region_mean_cost", np.nan)) / scale
    if not (np.isfinite(unit) and unit > 0):
        raise ValueError(
            f"settlement: special_review.conversion = {conversion!r} needs the priced cases' "
            "attrs 'yuan_per_point' (budget_pv) or 'region_mean_cost' and 'points_scale' "
            "(mean_cost), as payment.price writes them; allowed: price the cases with "
            "payment.price, or conversion = 'settlement_pv'")
    sr_pts = sr_amt / unit
    pv = ypp if np.isfinite(ypp) else unit
    return (np.where(sr, sr_pts, pts), np.where(sr, sr_pts * pv, pay),
            np.where(sr, 0.0, sr_amt))
