"""The §13 trimming rule, written once for DRG weights (payment) and DIP scores (grouper).

Per set (a label: group × year): ``iqr`` keeps [Q1 − k·IQR, Q3 + k·IQR], ``sd`` keeps
[mean − k·SD, mean + k·SD] (sample SD, ddof 1), ``percentile`` keeps [Q(lower), Q(upper)]
(linear interpolation), ``none`` keeps everything. Bounds are inclusive; a set with fewer than
``min_cases`` values, or whose bound is undefined (NaN, e.g. the SD of one value), is kept
whole; values with label −1 are never kept. Values are in yuan (or any unit: the rule is
unit-free).

The grouped statistics come from the caller's own kernels (``mean_sd`` and ``quantiles``), so
each package keeps its fast path and this module imports neither package.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["TRIM_METHODS", "trim_keep"]

TRIM_METHODS = ("iqr", "sd", "percentile", "none")

#: (label, values, n_labels) -> (count, mean, sample SD) per label
MeanSd = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]
#: (label, values, n_labels, (p_lo, p_hi)) -> (count, Q(p_lo), Q(p_hi)) per label
Quantiles = Callable[[np.ndarray, np.ndarray, int, tuple[float, float]],
                     tuple[np.ndarray, np.ndarray, np.ndarray]]


def trim_keep(
    label: np.ndarray, values: np.ndarray, n_labels: int, method: str, k: float,
    lower: float, upper: float, min_cases: int, *, mean_sd: MeanSd, quantiles: Quantiles,
) -> np.ndarray:
    """Boolean mask of the values kept by the trimming rule (module docstring), per label."""
    keep = label >= 0
    if method not in TRIM_METHODS:
        raise ValueError(f"unknown trim method {method!r}; allowed: {', '.join(TRIM_METHODS)}")
    if method == "none" or not keep.any():
        return keep
    if method == "sd":
        cnt, mean, sd = mean_sd(label, values, n_labels)
        lo, hi = mean - k * sd, mean + k * sd
    elif method == "iqr":
        cnt, q1, q3 = quantiles(label, values, n_labels, (0.25, 0.75))
        iqr = q3 - q1
        lo, hi = q1 - k * iqr, q3 + k * iqr
    else:
        cnt, lo, hi = quantiles(label, values, n_labels, (lower, upper))
    small = cnt < min_cases
    lo = np.where(small | np.isnan(lo), -np.inf, lo)
    hi = np.where(small | np.isnan(hi), np.inf, hi)
    lab = np.maximum(label, 0)
    return keep & (values >= lo[lab]) & (values <= hi[lab])
