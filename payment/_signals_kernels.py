"""Kernels of the supervision signals (:mod:`payment.supervision`, :mod:`payment.signals_facts`).

Sequential on purpose: each is one or a few linear passes over the cases, and their outputs are
exactly those of the numpy expressions they replace (a stable sort is unique; the pair test is
the same comparisons; a date is parsed only when it is plain ``YYYY-MM-DD``).
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

__all__ = ["first_rows", "iso_day_numbers", "radix_argsort", "split_pairs", "text_keys"]


@kernel()
def radix_argsort(keys):  # pragma: no cover - compiled
    """Stable argsort of non-negative int64 ``keys`` (LSD radix, at most 11 bits a pass, so the
    counts and the scatter targets stay in cache).

    The same permutation as ``np.argsort(keys, kind="stable")``: a stable order is unique.
    """
    n = keys.shape[0]
    order = np.arange(n, dtype=np.int64)
    if n < 2:
        return order
    mx = keys[0]
    for i in range(n):
        if keys[i] > mx:
            mx = keys[i]
    bits = 0
    while bits < 63 and (mx >> bits) > 0:
        bits += 1
    if bits == 0:
        return order
    passes = (bits + 10) // 11
    width = (bits + passes - 1) // passes
    mask = (np.int64(1) << width) - 1
    cur_k = keys.copy()
    nxt_k = np.empty(n, np.int64)
    nxt_o = np.empty(n, np.int64)
    cnt = np.empty(mask + 2, np.int64)
    for p in range(passes):
        shift = p * width
        cnt[:] = 0
        for i in range(n):
            cnt[((cur_k[i] >> shift) & mask) + 1] += 1
        for d in range(mask + 1):
            cnt[d + 1] += cnt[d]
        for i in range(n):
            d = (cur_k[i] >> shift) & mask
            j = cnt[d]
            cnt[d] = j + 1
            nxt_k[j] = cur_k[i]
            nxt_o[j] = order[i]
        cur_k, nxt_k = nxt_k, cur_k
        order, nxt_o = nxt_o, order
    return order


@kernel()
def split_pairs(order, pat, adm, dis, ok, key, exempt, nh, window):  # pragma: no cover
    """Consecutive stays ``(a, b) = (order[i], order[i + 1])`` that form a split-admission pair.

    The test of :func:`payment.supervision.split_admissions`: same patient, gap = adm[b] −
    dis[a] in [0, window], both grouped, same non-missing key, neither exempt, at least one
    position ``>= nh`` (a stay of the period). Returns ``(a, b, gap)`` in ``order``'s order.
    """
    m = max(order.shape[0] - 1, 0)
    a_out = np.empty(m, np.int64)
    b_out = np.empty(m, np.int64)
    g_out = np.empty(m, np.int64)
    k = 0
    for i in range(m):
        a = order[i]
        b = order[i + 1]
        if pat[a] != pat[b]:
            continue
        gap = adm[b] - dis[a]
        if not (gap >= 0 and gap <= window):
            continue
        if not (ok[a] and ok[b]) or exempt[a] or exempt[b]:
            continue
        if key[a] < 0 or key[a] != key[b]:
            continue
        if a < nh and b < nh:
            continue
        a_out[k] = a
        b_out[k] = b
        g_out[k] = np.int64(gap)
        k += 1
    return a_out[:k], b_out[:k], g_out[:k]


@kernel()
def _days_from_civil(y, m, d):  # pragma: no cover - compiled
    """Days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's algorithm)."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m + 9 if m <= 2 else m - 3
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@kernel()
def iso_day_numbers(offsets, data, valid):  # pragma: no cover - compiled
    """Day numbers of plain ``YYYY-MM-DD`` text (Arrow string buffers) and a parsed flag.

    ``offsets``/``data``: the Arrow offsets and bytes; ``valid``: not null. A row is parsed
    only when it is exactly ten characters, four-digit year 1000-9999, two-digit month and day
    forming a real calendar date; every other row is left to the caller (flag False, NaN).
    """
    n = valid.shape[0]
    out = np.full(n, np.nan)
    done = np.zeros(n, np.bool_)
    mdays = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
    dig = np.empty(10, np.int64)
    for i in range(n):
        if not valid[i]:
            continue
        s = offsets[i]
        if offsets[i + 1] - s != 10 or data[s + 4] != 45 or data[s + 7] != 45:
            continue
        good = True
        for j in range(10):
            dig[j] = np.int64(data[s + j]) - 48
            if j != 4 and j != 7 and (dig[j] < 0 or dig[j] > 9):
                good = False
        if not good:
            continue
        y = dig[0] * 1000 + dig[1] * 100 + dig[2] * 10 + dig[3]
        mo = dig[5] * 10 + dig[6]
        d = dig[8] * 10 + dig[9]
        if y < 1000 or mo < 1 or mo > 12 or d < 1:
            continue
        top = mdays[mo - 1]
        if mo == 2 and (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
            top = 29
        if d > top:
            continue
        out[i] = np.float64(_days_from_civil(y, mo, d))
        done[i] = True
    return out, done


@kernel()
def text_keys(offsets, data, valid):  # pragma: no cover - compiled
    """Each text of at most 8 bytes packed into one uint64 (0 for nulls) and whether all fit.

    Text without a NUL byte, zero-padded, is one number per text and the text is its number's
    bytes, so equal keys mean equal text. ``fits`` is False as soon as a text is longer than 8
    bytes or holds a NUL byte (then the keys are not used).
    """
    n = valid.shape[0]
    out = np.zeros(n, np.uint64)
    for i in range(n):
        if not valid[i]:
            continue
        s = offsets[i]
        ln = offsets[i + 1] - s
        if ln > 8:
            return out, False
        h = np.uint64(0)
        for j in range(ln):
            c = data[s + j]
            if c == 0:
                return out, False
            h |= np.uint64(c) << np.uint64(8 * j)
        out[i] = h
    return out, True


@kernel()
def first_rows(codes, n_codes):  # pragma: no cover - compiled
    """The first row holding each code 0 … n_codes − 1 (-1 for a code no row holds)."""
    first = np.full(n_codes, -1, np.int64)
    for i in range(codes.shape[0]):
        c = codes[i]
        if c >= 0 and first[c] < 0:
            first[c] = i
    return first
