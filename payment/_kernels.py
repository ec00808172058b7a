"""Array kernels of :mod:`payment`: grouped reductions over int labels and the per-case pricer.

Labels are int64 with ``-1`` meaning "not in any group"; every reduction ignores them. The
pricing kernel runs ``prange`` over cases with per-case outputs only, so one thread and N threads
give identical results.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import kernel

# ---- grouped reductions ------------------------------------------------------------------------
#
# One sequential pass each in numba (no boolean-mask copies of the inputs). Sums add the values
# of a label in input order, exactly as ``np.bincount(labels, weights=values)`` does, so the
# results are bit-identical to the bincount formulation.


@kernel()
def _count(labels, n):  # pragma: no cover - compiled
    out = np.zeros(n, np.int64)
    for i in range(labels.shape[0]):
        k = labels[i]
        if k >= 0:
            if k >= n:
                raise ValueError("label out of range")
            out[k] += 1
    return out


@kernel()
def _count_sum(labels, values, n):  # pragma: no cover - compiled
    cnt = np.zeros(n, np.int64)
    tot = np.zeros(n, np.float64)
    for i in range(labels.shape[0]):
        k = labels[i]
        if k >= 0:
            if k >= n:
                raise ValueError("label out of range")
            cnt[k] += 1
            tot[k] += values[i]
    return cnt, tot


@kernel()
def _sum_sq_dev(labels, values, mean, n):  # pragma: no cover - compiled
    ss = np.zeros(n, np.float64)
    for i in range(labels.shape[0]):
        k = labels[i]
        if k >= 0:
            d = values[i] - mean[k]
            ss[k] += d * d
    return ss


@kernel()
def _year_cells(labels, years, values, n, ny):  # pragma: no cover - compiled
    sums = np.zeros(n * ny, np.float64)
    cnts = np.zeros(n * ny, np.int64)
    for i in range(labels.shape[0]):
        k = labels[i]
        if k >= 0:
            if k >= n:
                raise ValueError("label out of range")
            c = k * ny + years[i]
            sums[c] += values[i]
            cnts[c] += 1
    return sums, cnts


@kernel()
def _year_weighted(labels, years, values, n, year_weights):  # pragma: no cover - compiled
    num = np.zeros(n, np.float64)
    den = np.zeros(n, np.float64)
    for i in range(labels.shape[0]):
        k = labels[i]
        if k >= 0:
            if k >= n:
                raise ValueError("label out of range")
            w = year_weights[years[i]]
            num[k] += w * values[i]
            den[k] += w
    return num, den


@kernel()
def _segments(labels, values, n):  # pragma: no cover - compiled
    """Counting sort of the values by label: (count per label, start per label, values)."""
    cnt = np.zeros(n, np.int64)
    for i in range(labels.shape[0]):
        k = labels[i]
        if k >= 0:
            if k >= n:
                raise ValueError("label out of range")
            cnt[k] += 1
    start = np.zeros(n + 1, np.int64)
    for k in range(n):
        start[k + 1] = start[k] + cnt[k]
    fill = start[:-1].copy()
    buf = np.empty(start[n], np.float64)
    for i in range(labels.shape[0]):
        k = labels[i]
        if k >= 0:
            buf[fill[k]] = values[i]
            fill[k] += 1
    return cnt, start, buf


@kernel(parallel=True)
def _segment_quantiles(cnt, start, buf, probs, out):  # pragma: no cover - compiled
    """Sort each label's segment of ``buf`` in place and interpolate its quantiles (type 7)."""
    n = cnt.shape[0]
    for k in prange(n):
        c = cnt[k]
        a0 = start[k]
        if c > 1:
            buf[a0:a0 + c].sort()
        top = c - 1 if c > 1 else 0
        for j in range(probs.shape[0]):
            if c == 0:
                out[j, k] = np.nan
                continue
            pos = probs[j] * top
            lo = np.int64(np.floor(pos))
            hi = min(lo + 1, top)
            frac = pos - lo
            a = buf[a0 + lo]
            b = buf[a0 + hi]
            out[j, k] = a + frac * (b - a)


@kernel(parallel=True)
def remap_codes(codes, rank):  # pragma: no cover - compiled
    """``rank[code]`` per code, -1 where the code is negative."""
    out = np.empty(codes.shape[0], np.int64)
    for i in prange(codes.shape[0]):
        c = codes[i]
        out[i] = rank[c] if c >= 0 else -1
    return out


def group_count(labels: np.ndarray, n: int) -> np.ndarray:
    """Cases per label (``-1`` ignored) as int64, length ``n``."""
    return _count(np.ascontiguousarray(labels, dtype=np.int64), n)


def group_sum(labels: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values`` per label (``-1`` ignored), float64, length ``n``."""
    return _count_sum(np.ascontiguousarray(labels, dtype=np.int64),
                      np.ascontiguousarray(values, dtype=np.float64), n)[1]


def group_mean_sd(
    labels: np.ndarray, values: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count, mean, sample SD with ddof=1) per label; two passes so large costs keep precision.

    Mean is nan for empty labels, SD nan for labels with fewer than 2 values.
    """
    lab = np.ascontiguousarray(labels, dtype=np.int64)
    val = np.ascontiguousarray(values, dtype=np.float64)
    cnt, tot = _count_sum(lab, val, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
        ss = _sum_sq_dev(lab, val, mean, n)
        sd = np.where(cnt > 1, np.sqrt(ss / np.maximum(cnt - 1, 1)), np.nan)
    return cnt, mean, sd


def group_quantiles(
    labels: np.ndarray, values: np.ndarray, n: int, probs: tuple[float, ...]
) -> list[np.ndarray]:
    """Per-label quantiles by linear interpolation (numpy's default / R type 7).

    A counting sort puts each label's values in one segment (O(n)); each segment is then sorted
    on its own (in parallel over labels) and the quantiles are index arithmetic on it, so there
    is no global sort and no loop per group in Python.
    """
    cnt, start, buf = _segments(np.ascontiguousarray(labels, dtype=np.int64),
                                np.ascontiguousarray(values, dtype=np.float64), n)
    out = np.empty((len(probs), n), np.float64)
    _segment_quantiles(cnt, start, buf, np.asarray(probs, dtype=np.float64), out)
    return list(out)


def weighted_yearly_mean(
    labels: np.ndarray, years: np.ndarray, values: np.ndarray, n: int, year_weights: np.ndarray,
    per_case: bool = False,
) -> np.ndarray:
    """Multi-year mean per label (§13): year weights applied to yearly means, renormalised over
    the years in which the label has values; ``per_case`` weights each value by its year instead.

    ``years`` are indices 0..Y-1 into ``year_weights``; nan where a label has no values.
    """
    ny = len(year_weights)
    lab = np.ascontiguousarray(labels, dtype=np.int64)
    yr = np.ascontiguousarray(years, dtype=np.int64)
    val = np.ascontiguousarray(values, dtype=np.float64)
    if per_case:
        num, den = _year_weighted(lab, yr, val, n, np.asarray(year_weights, dtype=np.float64))
    else:
        sums_f, cnts_f = _year_cells(lab, yr, val, n, ny)
        sums, cnts = sums_f.reshape(n, ny), cnts_f.reshape(n, ny)
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
# F_FFS_UNIT: yuan per fee-for-service point of an ungroupable case (all-case mean ÷ scale;
# nan: ungroupable cases get 0 points), §13
(F_MAX_COST, F_MAX_LOS, F_LOS_MIN, F_LOS_MAX, F_LOW_MULT, F_DIP_LOW, F_DIP_HIGH, F_INC_MAX_LOS,
 F_FFS_UNIT) = range(9)
# indices into the int flag vector (I_LOW_COEF: low multiple = base × coefficient × r, §13;
# I_DEV_COEF: DIP deviation points × coefficient too, §5 option)
(I_DIP, I_OUTLIERS, I_LOW_FULL, I_HIGH_FIRST, I_INCOMPLETE, I_INC_COEF, I_INC_CAP,
 I_BED_COEF, I_LOW_COEF, I_DEV_COEF) = range(10)


@kernel(parallel=True)
def price_cases(
    cost, los, mode, status, g, cmp_mean, coef, incentive, aux,
    g_base, g_thr, g_bed, g_daily, inc_modes, fp, ip,
    out_cls, out_reason, out_r, out_points,
):  # pragma: no cover - compiled
    """Classify and point every case (§5, order §13); writes the four ``out_*`` arrays.

    cost yuan, los days, mode discharge code (-1 unknown), status 0 ok / 1 ambiguous / 2 failed,
    g group index (-1 none, -2 not in weights), cmp_mean yuan (the r denominator per case),
    aux the DIP auxiliary-catalogue coefficient per case (1.0 when none; it multiplies the
    group's score of a grouped case, §7).
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
            base = g_base[gi] * aux[i]
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
                kd = k if ip[I_DEV_COEF] != 0 else 1.0  # §5: score × r, score × (r − 1)
                if r < fp[F_DIP_LOW]:
                    cls, reason, pts = LOW, R_DIP_LOW, base * kd * r
                elif r > fp[F_DIP_HIGH]:
                    cls, reason, pts = HIGH, R_DIP_HIGH, base * kd * (r - 1.0)
                else:
                    cls, pts = NORMAL, base * k
            elif is_high:
                cls, reason = HIGH, R_HIGH
                pts = base * k + base * (r - g_thr[gi])
            elif ip[I_OUTLIERS] != 0 and r <= fp[F_LOW_MULT]:
                cls, reason = LOW, R_LOW
                if ip[I_LOW_FULL]:
                    pts = base * k
                elif ip[I_LOW_COEF]:
                    pts = base * k * r
                else:
                    pts = base * r
            else:
                cls, pts = NORMAL, base * k
            pts *= incentive[i]
        if cls == UNGROUPABLE and fp[F_FFS_UNIT] > 0.0:
            pts = c / fp[F_FFS_UNIT]  # fee-for-service points (§13); no coefficient/incentive
        out_cls[i] = cls
        out_reason[i] = reason
        out_r[i] = r
        out_points[i] = pts


@kernel()
def _cents(x):  # pragma: no cover - compiled
    """Integer cents (as float64) of one yuan amount, half-up away from zero; nan stays nan."""
    a = np.floor(np.round(abs(x) * 100.0, 6) + 0.5)
    return -a if x < 0 else a


@kernel(parallel=True)
def cents_half_up(yuan, out):  # pragma: no cover - compiled
    """Integer cents (as float64), half-up away from zero, of yuan; nan stays nan.

    Rounded to 1e-6 cent first so 2.675 (binary 2.67499999…) is read as the decimal meant.
    """
    for i in prange(yuan.shape[0]):
        out[i] = _cents(yuan[i])


# ---- per-case inputs and outputs around price_cases (one pass each instead of numpy temporaries)

# coefficient / comparison-mean lookup modes
C_ONE, C_HOSPITAL, C_LEVEL, C_GIVEN = range(4)


@kernel()
def _dense_get(table, key, default):  # pragma: no cover - compiled
    if key >= 0 and key < table.shape[0]:
        return table[key]
    return default


@kernel(parallel=True)
def case_params(
    gcode, gmap, hcode, hmap, hcoef, level, n_g, coef_mode, coef_table, coef_default, coef_in,
    lvl_mean_table, g_mean, g_inc, h_inc,
    out_g, out_h, out_coef, out_cmp, out_inc,
):  # pragma: no cover - compiled
    """Group index, hospital code, coefficient, comparison mean and incentive of every case.

    ``gcode``/``hcode`` are raw text codes (-1 missing); ``gmap`` maps a group code to its
    group-table index (-1 empty text, -2 no weights), ``hmap`` a hospital code to the clean
    hospital code (-1 for empty text), ``hcoef`` a clean hospital code to its row in the
    weights' hospital table (-1 none). ``coef_table``/``lvl_mean_table`` are dense
    (key → value) tables, key = hospital row (or level) × ``n_g`` + group; an empty
    ``lvl_mean_table`` means the region mean is compared. ``g_inc``/``h_inc`` are per group /
    clean hospital code incentive factors (empty: none).
    """
    n = gcode.shape[0]
    for i in prange(n):
        c = gcode[i]
        gi = -1 if c < 0 else gmap[c]
        hc = hcode[i]
        h = -1 if hc < 0 else hmap[hc]
        out_g[i] = gi
        out_h[i] = h
        known = gi >= 0
        if coef_mode == C_ONE:
            k = 1.0
        elif coef_mode == C_HOSPITAL:
            hw = hcoef[h] if h >= 0 else -1
            key = hw * n_g + gi if (known and hw >= 0) else -1
            k = _dense_get(coef_table, key, coef_default)
        elif coef_mode == C_LEVEL:
            key = level[i] * n_g + gi if known else -1
            k = _dense_get(coef_table, key, coef_default)
        else:
            k = coef_in[i]
        out_coef[i] = k
        m = g_mean[gi] if known else np.nan
        if lvl_mean_table.shape[0] > 0:
            key = level[i] * n_g + gi if known else -1
            lm = _dense_get(lvl_mean_table, key, np.nan)
            if np.isfinite(lm):
                m = lm
        out_cmp[i] = m
        inc = 1.0
        if g_inc.shape[0] > 0:
            inc *= g_inc[gi] if known else 1.0
        if h_inc.shape[0] > 0:
            inc *= h_inc[h] if h >= 0 else 1.0
        out_inc[i] = inc


@kernel(parallel=True)
def price_money(
    points, cost, cls, reason, g, r, yuan_per_point, ffs, g_base, g_small, dip, review,
    out_pay, out_gain, out_base, out_small, out_review,
):  # pragma: no cover - compiled
    """``payment`` and ``gain`` (yuan, half-up cents), base points, small-group and DIP review
    flags of every priced case; LOS-excluded stays paid their cost when ``ffs``."""
    for i in prange(points.shape[0]):
        p = points[i]
        c = cost[i]
        pay = p * yuan_per_point
        if ffs and cls[i] == EXCLUDED and reason[i] >= R_LOS_SHORT and reason[i] <= R_LOS_LONG:
            pay = c
        pay_c = _cents(pay)
        cost_ok = c >= 0
        if not (cost_ok or p > 0):
            pay_c = 0.0
        out_pay[i] = pay_c / 100.0
        out_gain[i] = (pay_c - _cents(c)) / 100.0 if cost_ok else 0.0
        gi = g[i]
        out_base[i] = g_base[gi] if gi >= 0 else np.nan
        out_small[i] = g_small[gi] if gi >= 0 else False
        out_review[i] = dip and r[i] > review


# ---- special case review ------------------------------------------------------------------------

# indices into the special-review float parameter vector
(S_LOS_LIMIT, S_COST_MULT, S_NB_MAX_W, S_NB_REGION, S_NB_GROUP, S_NB_MAX_AGE) = range(6)
# indices into the special-review flag vector (rule enabled)
(S_LOS, S_COST, S_NEWBORN, S_NEW_TECH, S_UNGROUPABLE, S_SMALL, S_DIP, S_ICU) = range(8)


@kernel(parallel=True)
def sr_mask(
    cls, cost, los, gmean, small, review, bw, age_days, new_tech, new_tech_cost, icu, sf, si,
    out_mask,
):  # pragma: no cover - compiled
    """Eligibility bit mask per case (bit k = rule k of ``special_review.RULES``); never for
    excluded stays. ``gmean`` is the case's group region mean cost (yuan; nan without a group),
    the base of the cost multiple and the newborn group multiple (§13). Optional per-case inputs
    (``bw``, ``age_days``, ``new_tech``, ``new_tech_cost``, ``icu``) may be empty: the column is
    absent (no ``age_days``: no newborn)."""
    for i in prange(cls.shape[0]):
        m = 0
        if cls[i] != EXCLUDED:
            c = cost[i]
            gm = gmean[i]
            if si[S_LOS] and los[i] > sf[S_LOS_LIMIT]:
                m |= 1
            if si[S_COST] and c >= sf[S_COST_MULT] * gm:
                m |= 2
            if si[S_NEWBORN] and bw.shape[0] > 0 and age_days.shape[0] > 0:
                b = bw[i]
                a = age_days[i]
                if b > 0 and b < sf[S_NB_MAX_W] and a >= 0 and a <= sf[S_NB_MAX_AGE] \
                        and c >= sf[S_NB_REGION] and c >= sf[S_NB_GROUP] * gm:
                    m |= 4
            if si[S_NEW_TECH]:
                if (new_tech.shape[0] > 0 and new_tech[i]) or (
                        new_tech_cost.shape[0] > 0 and new_tech_cost[i] > 0):
                    m |= 8
            if si[S_UNGROUPABLE] and cls[i] == UNGROUPABLE:
                m |= 16
            if si[S_SMALL] and small[i]:
                m |= 32
            if si[S_DIP] and review[i]:
                m |= 64
            if si[S_ICU] and icu.shape[0] > 0 and icu[i]:
                m |= 128
        out_mask[i] = m


@kernel(parallel=True)
def sr_gain(
    cost, points, payment, mask, ffs, factor, coefficient, yuan_per_point,
    out_amount, out_gain_c, out_gain,
):  # pragma: no cover - compiled
    """Re-priced amount (yuan, unrounded: it enters the point-value solve exactly, §13) and the
    gain over ``payment`` (cents, half-up; yuan for candidates, 0 otherwise): fee-for-service
    ``cost × factor`` or ``points × coefficient × yuan per point``."""
    for i in prange(cost.shape[0]):
        if ffs:
            amount = cost[i] * factor
        else:
            amount = points[i] * coefficient * yuan_per_point
        gc = _cents(amount) - _cents(payment[i])
        out_amount[i] = amount
        out_gain_c[i] = gc
        out_gain[i] = gc / 100.0 if mask[i] != 0 else 0.0


@kernel()
def sr_periods(h, year, year_min, n_years, month, period_mode, cls, out_key, out_period, counts):
    # pragma: no cover - compiled
    """Quota cell per case, key = ((hospital + 1) × years + year − min) × 13 + period, with
    period quarter 1–4 (mode 0), month 0–12 (mode 1) or 1 (mode 2; 0 = month unknown for
    quarters); ``counts`` (zeroed, one per key) gets the cases not excluded."""
    for i in range(h.shape[0]):
        m = month[i]
        if period_mode == 0:
            p = (m - 1) // 3 + 1 if m > 0 else 0
        elif period_mode == 1:
            p = m
        else:
            p = 1
        out_period[i] = p
        key = ((h[i] + 1) * n_years + (year[i] - year_min)) * 13 + p
        out_key[i] = key
        if cls[i] != EXCLUDED:
            counts[key] += 1


@kernel()
def sr_order(cell, gain_c, n_cells):  # pragma: no cover - compiled
    """Positions sorted by cell, then gain descending, then position (stable): a counting sort
    by cell and a stable merge sort of each cell's (few) gains."""
    m = cell.shape[0]
    start = np.zeros(n_cells + 1, np.int64)
    for i in range(m):
        start[cell[i] + 1] += 1
    for k in range(n_cells):
        start[k + 1] += start[k]
    fill = start[:-1].copy()
    order = np.empty(m, np.int64)
    for i in range(m):
        c = cell[i]
        order[fill[c]] = i
        fill[c] += 1
    for k in range(n_cells):
        a, b = start[k], start[k + 1]
        if b - a > 1:
            seg = order[a:b].copy()
            neg = np.empty(b - a, np.float64)
            for j in range(b - a):
                neg[j] = -gain_c[seg[j]]
            idx = np.argsort(neg, kind="mergesort")
            for j in range(b - a):
                order[a + j] = seg[idx[j]]
    return order
