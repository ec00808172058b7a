"""Array kernels of :mod:`payment`: grouped reductions over int labels and the per-case pricer.

Labels are int64 with ``-1`` meaning "not in any group"; every reduction ignores them. The
pricing kernel runs ``prange`` over cases with per-case outputs only, so one thread and N threads
give identical results.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import kernel

# ---- grouped reductions (numpy bincount: already one pass in C, no kernel needed) -------------


def group_count(labels: np.ndarray, n: int) -> np.ndarray:
    """Cases per label (``-1`` ignored) as int64, length ``n``."""
    ok = labels >= 0
    return np.bincount(labels[ok], minlength=n).astype(np.int64)


def group_sum(labels: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values`` per label (``-1`` ignored), float64, length ``n``."""
    ok = labels >= 0
    return np.bincount(labels[ok], weights=values[ok], minlength=n)


def group_mean_sd(
    labels: np.ndarray, values: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count, mean, sample SD with ddof=1) per label; two passes so large costs keep precision.

    Mean is nan for empty labels, SD nan for labels with fewer than 2 values.
    """
    ok = labels >= 0
    lab, val = labels[ok], values[ok]
    cnt = np.bincount(lab, minlength=n).astype(np.int64)
    tot = np.bincount(lab, weights=val, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
        dev = val - mean[lab]
        ss = np.bincount(lab, weights=dev * dev, minlength=n)
        sd = np.where(cnt > 1, np.sqrt(ss / np.maximum(cnt - 1, 1)), np.nan)
    return cnt, mean, sd


def group_quantiles(
    labels: np.ndarray, values: np.ndarray, n: int, probs: tuple[float, ...]
) -> list[np.ndarray]:
    """Per-label quantiles by linear interpolation (numpy's default / R type 7).

    One sort of (label, value) for all labels; each quantile is then index arithmetic on the
    segment of its label, so there is no loop per group.
    """
    ok = labels >= 0
    lab, val = labels[ok], values[ok]
    order = np.lexsort((val, lab))
    sorted_val = val[order]
    cnt = np.bincount(lab, minlength=n)
    starts = np.concatenate(([0], np.cumsum(cnt)[:-1]))
    out = []
    for p in probs:
        pos = p * np.maximum(cnt - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(cnt - 1, 0))
        frac = pos - lo
        q = np.full(n, np.nan)
        has = cnt > 0
        a = sorted_val[np.minimum(starts + lo, len(sorted_val) - 1)] if len(sorted_val) else q
        b = sorted_val[np.minimum(starts + hi, len(sorted_val) - 1)] if len(sorted_val) else q
        q[has] = (a + frac * (b - a))[has]
        out.append(q)
    return out


def weighted_yearly_mean(
    labels: np.ndarray, years: np.ndarray, values: np.ndarray, n: int, year_weights: np.ndarray,
    per_case: bool = False,
) -> np.ndarray:
    """Multi-year mean per label (§13): year weights applied to yearly means, renormalised over
    the years in which the label has values; ``per_case`` weights each value by its year instead.

    ``years`` are indices 0..Y-1 into ``year_weights``; nan where a label has no values.
    """
    ny = len(year_weights)
    ok = labels >= 0
    lab, yr, val = labels[ok], years[ok], values[ok]
    if per_case:
        w = year_weights[yr]
        num = np.bincount(lab, weights=w * val, minlength=n)
        den = np.bincount(lab, weights=w, minlength=n)
    else:
        key = lab * ny + yr
        sums = np.bincount(key, weights=val, minlength=n * ny).reshape(n, ny)
        cnts = np.bincount(key, minlength=n * ny).reshape(n, ny)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(cnts > 0, sums / np.maximum(cnts, 1), 0.0)
        wy = np.where(cnts > 0, year_weights[None, :], 0.0)
        num = (wy * means).sum(axis=1)
        den = wy.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


# ---- per-case classification and points --------------------------------------------------------

# class codes (order = payment.outliers.CLASSES)
EXCLUDED, NORMAL, HIGH, LOW, INCOMPLETE, BED_DAY, READMISSION, UNGROUPABLE = range(8)
# reason codes (order = payment.outliers.REASONS)
(R_NORMAL, R_INVALID_COST, R_ABSURD_COST, R_INVALID_LOS, R_ABSURD_LOS, R_LOS_SHORT, R_LOS_LONG,
 R_NO_GROUP, R_NO_WEIGHT, R_AMBIGUOUS, R_UNGROUPABLE, R_INCOMPLETE_MODE, R_INCOMPLETE_LOS,
 R_HIGH, R_LOW, R_DIP_HIGH, R_DIP_LOW, R_BED_DAY, R_READMISSION) = range(19)

# indices into the float parameter vector
F_MAX_COST, F_MAX_LOS, F_LOS_MIN, F_LOS_MAX, F_LOW_MULT, F_DIP_LOW, F_DIP_HIGH, F_INC_MAX_LOS = (
    range(8)
)
# indices into the int flag vector
(I_DIP, I_OUTLIERS, I_LOW_FULL, I_HIGH_FIRST, I_INCOMPLETE, I_INC_COEF, I_INC_CAP,
 I_BED_COEF) = range(8)


@kernel(parallel=True)
def price_cases(
    cost, los, mode, status, g, cmp_mean, coef, incentive,
    g_base, g_thr, g_bed, g_daily, inc_modes, fp, ip,
    out_cls, out_reason, out_r, out_points,
):  # pragma: no cover - compiled
    """Classify and point every case (§5, order §13); writes the four ``out_*`` arrays.

    cost yuan, los days, mode discharge code (-1 unknown), status 0 ok / 1 ambiguous / 2 failed,
    g group index (-1 none, -2 not in weights), cmp_mean yuan (the r denominator per case).
    """
    n = cost.shape[0]
    for i in prange(n):
        c = cost[i]
        d = los[i]
        cls = EXCLUDED
        reason = R_NORMAL
        r = np.nan
        pts = 0.0
        gi = g[i]
        if not (c >= 0.0):  # nan or negative
            reason = R_INVALID_COST
        elif c > fp[F_MAX_COST]:
            reason = R_ABSURD_COST
        elif not (d >= 0.0):
            reason = R_INVALID_LOS
        elif d > fp[F_MAX_LOS]:
            reason = R_ABSURD_LOS
        elif gi >= 0 and status[i] == 0 and g_bed[gi] and g_daily[gi] >= 0.0:
            # bed-day groups are never LOS-excluded (§13)
            cls = BED_DAY
            reason = R_BED_DAY
            if cmp_mean[i] > 0.0:
                r = c / cmp_mean[i]
            pts = g_daily[gi] * d
            if ip[I_BED_COEF]:
                pts *= coef[i]
            pts *= incentive[i]
        elif d <= fp[F_LOS_MIN]:
            reason = R_LOS_SHORT
        elif d >= fp[F_LOS_MAX]:
            reason = R_LOS_LONG
        elif status[i] == 1:
            cls = UNGROUPABLE
            reason = R_AMBIGUOUS
        elif status[i] != 0:
            cls = UNGROUPABLE
            reason = R_UNGROUPABLE
        elif gi == -1:
            cls = UNGROUPABLE
            reason = R_NO_GROUP
        elif gi < 0 or not (g_base[gi] >= 0.0) or not (cmp_mean[i] > 0.0):
            cls = UNGROUPABLE
            reason = R_NO_WEIGHT
        else:
            base = g_base[gi]
            k = coef[i]
            r = c / cmp_mean[i]
            dip = ip[I_DIP] != 0
            is_high = r > fp[F_DIP_HIGH] if dip else (ip[I_OUTLIERS] != 0 and r >= g_thr[gi])
            inc_mode = ip[I_INCOMPLETE] != 0 and mode[i] >= 0 and mode[i] < inc_modes.shape[0] \
                and inc_modes[mode[i]]
            inc_los = ip[I_INCOMPLETE] != 0 and d <= fp[F_INC_MAX_LOS]
            if (inc_mode or inc_los) and not (ip[I_HIGH_FIRST] != 0 and is_high):
                cls = INCOMPLETE
                reason = R_INCOMPLETE_MODE if inc_mode else R_INCOMPLETE_LOS
                pts = base * r
                if ip[I_INC_COEF]:
                    pts *= k
                if ip[I_INC_CAP] and pts > base:
                    pts = base
            elif dip:
                if r < fp[F_DIP_LOW]:
                    cls, reason, pts = LOW, R_DIP_LOW, base * k * r
                elif r > fp[F_DIP_HIGH]:
                    cls, reason, pts = HIGH, R_DIP_HIGH, base * k * (r - 1.0)
                else:
                    cls, pts = NORMAL, base * k
            elif is_high:
                cls, reason = HIGH, R_HIGH
                pts = base * k + base * (r - g_thr[gi])
            elif ip[I_OUTLIERS] != 0 and r <= fp[F_LOW_MULT]:
                cls, reason = LOW, R_LOW
                pts = base * k if ip[I_LOW_FULL] else base * k * r
            else:
                cls, pts = NORMAL, base * k
            pts *= incentive[i]
        out_cls[i] = cls
        out_reason[i] = reason
        out_r[i] = r
        out_points[i] = pts


@kernel(parallel=True)
def cents_half_up(yuan, out):  # pragma: no cover - compiled
    """Integer cents (as float64), half-up away from zero, of yuan; nan stays nan.

    Rounded to 1e-6 cent first so 2.675 (binary 2.67499999…) is read as the decimal meant.
    """
    for i in prange(yuan.shape[0]):
        x = yuan[i]
        a = np.floor(np.round(abs(x) * 100.0, 6) + 0.5)
        out[i] = -a if x < 0 else a
