"""Grouped statistics over integer labels (numpy, no per-case Python): trimming, yearly-
weighted means, medians and CVs. Label −1 means "not in any set"; costs are in yuan.

Semantics (domain §13): trimming per set (group × year) with linear-interpolated quantiles,
sample SD (ddof 1), inclusive bounds, sets with fewer than ``min_cases`` left untrimmed.
"""

from __future__ import annotations

import numpy as np

from drgsim_common.trim import trim_keep as trim_rule


def _sorted_sets(label: np.ndarray, x: np.ndarray, n_labels: int):
    """(sorted values grouped by label, start offset per label, count per label)."""
    from ._kernels import segment_sort

    sel = label >= 0
    lab, val = label[sel], x[sel]
    # Stable sort by the integer label, then sort each label's slice in a kernel: much faster
    # than a two-key lexsort over millions of cases.
    order = np.argsort(lab, kind="stable")
    counts = np.bincount(lab, minlength=n_labels)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    sv = np.ascontiguousarray(val[order], dtype=np.float64)
    segment_sort(sv, starts, counts.astype(np.int64))
    return sv, starts, counts


def grouped_quantile(label: np.ndarray, x: np.ndarray, n_labels: int, q: float) -> np.ndarray:
    """Quantile ``q`` of ``x`` per label, linear interpolation (numpy's default); NaN if empty."""
    sv, starts, counts = _sorted_sets(label, x, n_labels)
    return _quantile_sorted(sv, starts, counts, q)


def _quantile_sorted(sv, starts, counts, q: float) -> np.ndarray:
    out = np.full(len(counts), np.nan)
    has = counts > 0
    pos = q * (counts[has] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, counts[has] - 1)
    frac = pos - lo
    a = sv[starts[has] + lo]
    b = sv[starts[has] + hi]
    out[has] = a + (b - a) * frac
    return out


def grouped_mean_sd(label: np.ndarray, x: np.ndarray, n_labels: int):
    """(count, mean, sample SD with ddof 1) per label; NaN where undefined."""
    sel = label >= 0
    lab, val = label[sel], x[sel]
    n = np.bincount(lab, minlength=n_labels).astype(np.float64)
    s = np.bincount(lab, weights=val, minlength=n_labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        # Two passes (sum of squared deviations) for accuracy on large costs.
        ss = np.bincount(lab, weights=(val - mean[lab]) ** 2, minlength=n_labels)
        sd = np.sqrt(ss / (n - 1))
    sd[n < 2] = np.nan
    return n.astype(np.int64), mean, sd


def trim_keep(
    label: np.ndarray, cost: np.ndarray, n_labels: int, method: str, k: float,
    lower: float, upper: float, min_cases: int,
) -> np.ndarray:
    """Boolean mask of the cases kept by the trimming rule, computed per label (set).

    ``iqr``: [Q1 − k·IQR, Q3 + k·IQR]; ``sd``: [mean − k·SD, mean + k·SD];
    ``percentile``: [Q(lower), Q(upper)]; ``none``: everything. Bounds are inclusive; sets
    with fewer than ``min_cases`` cases are kept whole. Cases with label −1 are not kept.
    The rule is :func:`drgsim_common.trim.trim_keep`, shared with the DRG weights; the grouped
    statistics are this module's.
    """

    def quantiles(lab: np.ndarray, x: np.ndarray, m: int, probs: tuple[float, float]):
        sv, starts, cnt = _sorted_sets(lab, x, m)
        return cnt, _quantile_sorted(sv, starts, cnt, probs[0]), \
            _quantile_sorted(sv, starts, cnt, probs[1])

    return trim_rule(label, cost, n_labels, method, k, lower, upper, min_cases,
                     mean_sd=grouped_mean_sd, quantiles=quantiles)


def weighted_mean(
    label: np.ndarray, year: np.ndarray, cost: np.ndarray, keep: np.ndarray, n_labels: int,
    weights: np.ndarray, mode: str,
) -> np.ndarray:
    """Mean cost per label over kept cases, weighted by year.

    ``yearly_means``: Σ_y w_y·mean_y ÷ Σ_y w_y over the years in which the label has kept
    cases (domain §13); ``per_case``: Σ w_y(case)·cost ÷ Σ w_y(case). Where the weights of the
    years present sum to 0 the plain mean is used; NaN where the label has no kept case.
    """
    lab, yr, val = label[keep], year[keep], cost[keep]
    ny = len(weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        plain = np.bincount(lab, weights=val, minlength=n_labels) / np.bincount(lab, minlength=n_labels)
        if mode == "per_case":
            w = weights[yr]
            wsum = np.bincount(lab, weights=w, minlength=n_labels)
            out = np.bincount(lab, weights=w * val, minlength=n_labels) / wsum
        elif mode == "yearly_means":
            cell = lab * ny + yr
            s = np.bincount(cell, weights=val, minlength=n_labels * ny).reshape(n_labels, ny)
            c = np.bincount(cell, minlength=n_labels * ny).reshape(n_labels, ny)
            present = c > 0
            ym = np.where(present, s / np.where(present, c, 1), 0.0)
            w = np.where(present, weights[None, :], 0.0)
            wsum = w.sum(axis=1)
            out = (w * ym).sum(axis=1) / wsum
        else:
            raise ValueError(f"unknown year weighting {mode!r}")
    return np.where(wsum > 0, out, plain)
