"""Money helpers of the settlement kernels: cents rounding, published decimals, largest
remainder, tier slices and deposit release (domain.md §8, §13). Scalar numba functions."""

from __future__ import annotations

import numpy as np

from ._jit import kernel

P_MAPPING = 12  # = payment._settle_kernels.P_MAPPING (0 table, 1 linear)
P_ZERO_SCORE = 13
P_FULL_SCORE = 14


@kernel()
def round_cents(x: float, mode: int) -> int:
    """Yuan → integer cents, half-up (away from zero) or half-even (§13 money rule).

    The product x × 100 is nudged by a few ulps before rounding so a decimal amount such as
    1.005 yuan, stored as 1.00499999…, still rounds like the decimal it stands for.
    """
    if x != x:
        return 0
    v = x * 100.0
    neg = v < 0.0
    a = -v if neg else v
    eps = 1e-7 + a * 1e-15
    if mode == 0:
        r = np.floor(a + 0.5 + eps)
    else:
        f = np.floor(a)
        d = a - f
        if d > 0.5 + eps:
            r = f + 1.0
        elif d < 0.5 - eps:
            r = f
        else:
            r = f + (f % 2.0)
    c = np.int64(r)
    return -c if neg else c


@kernel()
def round_decimals(x: float, d: int) -> float:
    """``x`` half-up (away from zero) to ``d`` decimals, read as the decimal it stands for
    (the same few-ulp nudge as :func:`round_cents`); the published point value (§13)."""
    scale = 10.0 ** d
    v = x * scale
    neg = v < 0.0
    a = -v if neg else v
    if not a < 4.5e15:  # beyond float64's integers (or inf): already as precise as it gets
        return x
    r = np.floor(a + 0.5 + (1e-9 + a * 1e-15))
    return (-r if neg else r) / scale


@kernel()
def largest_remainder(exact_c, target, out):
    """Integer cents ``out`` with Σ out = ``target``: the floor of each exact amount (cents,
    float), then one cent each to the largest fractional parts (ties: lower index first).

    Used where a total is fixed by the rule (the reserve shared pro rata; the fund paid on an
    unrounded point value), so per-hospital rounding never pays a cent more than the total.
    """
    n = exact_c.shape[0]
    given = 0
    frac = np.zeros(n)
    for h in range(n):
        fl = np.floor(exact_c[h] + 1e-7)
        out[h] = np.int64(fl)
        given += out[h]
        frac[h] = exact_c[h] - fl
    left = target - given
    if left > 0 and n > 0:
        # the cents go down the fractional parts, largest first (a stable sort keeps ties in
        # index order): O(n log n) where one scan per cent was O(n × cents)
        order = np.argsort(-frac, kind="mergesort")
        for i in range(left):
            # more cents than amounts happens only with a target beyond Σ exact: index 0
            out[order[i] if i < n else 0] += 1
            if i < n:
                frac[order[i]] = -2.0
        left = 0
    while left < 0 and n > 0:  # only from float noise: take cents back from the smallest parts
        best = -1
        for h in range(n):
            if out[h] > 0 and (best < 0 or frac[h] < frac[best]):
                best = h
        if best < 0:
            break
        out[best] -= 1
        frac[best] = 2.0
        left += 1


@kernel()
def tier_parts(x: float, base: float, tiers: np.ndarray, nt: int) -> tuple:
    """Fund's part of an overspend (x > 0) or surplus (x < 0) ratio, by slices (§13), in yuan.

    Returns (fund pays on the overspend, fund takes back of the surplus); each slice of
    [0, x] (or [x, 0]) inside a tier [lower, upper) counts at that tier's fund share.
    """
    pay = 0.0
    take = 0.0
    lo_x = min(0.0, x)
    hi_x = max(0.0, x)
    for t in range(nt):
        lo = max(tiers[t, 0], lo_x)
        hi = min(tiers[t, 1], hi_x)
        if hi > lo:
            amt = (hi - lo) * base * tiers[t, 2]
            if x > 0.0:
                pay += amt
            else:
                take += amt
    return pay, take


@kernel()
def release_share(score: float, p: np.ndarray, rel: np.ndarray, nrel: int) -> float:
    """Share of the quality deposit released at an assessment score (table or linear)."""
    if p[P_MAPPING] == 1.0:
        z = p[P_ZERO_SCORE]
        f = p[P_FULL_SCORE]
        s = (score - z) / (f - z)
        return min(1.0, max(0.0, s))
    share = 0.0
    for r in range(nrel):
        if score >= rel[r, 0]:
            share = rel[r, 1]
    return share
