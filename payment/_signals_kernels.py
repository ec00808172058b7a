"""Kernels of the supervision signals (:mod:`payment.supervision`, :mod:`payment.signals_facts`).

Sequential on purpose: each is one or a few linear passes over the cases, and their outputs are
exactly those of the numpy expressions they replace (a stable sort is unique; the pair test is
the same comparisons; a date is parsed only when it is plain ``YYYY-MM-DD``).
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

__all__ = ["factorize_keys", "iso_day_numbers", "radix_argsort", "radix_sort", "split_pairs",
           "split_pairs_keyed", "stay_bounds", "stay_keys", "stem_rows", "text_keys"]


@kernel()
def radix_sort(keys, payload):  # pragma: no cover - compiled
    """``(keys, payload)`` ordered by non-negative int64 ``keys``, ties in their given order
    (LSD radix, at most 11 bits a pass, so the counts and the scatter targets stay in cache).

    ``payload[np.argsort(keys, kind="stable")]`` and the sorted keys: a stable order is unique.
    Both inputs serve as scratch space (their contents are lost): pass copies to keep them.
    """
    n = keys.shape[0]
    cur_k = keys
    cur_o = payload
    if n < 2:
        return cur_k, cur_o
    mx = keys[0]
    for i in range(n):
        if keys[i] > mx:
            mx = keys[i]
    bits = 0
    while bits < 63 and (mx >> bits) > 0:
        bits += 1
    if bits == 0:
        return cur_k, cur_o
    passes = (bits + 10) // 11
    width = (bits + passes - 1) // passes
    mask = (np.int64(1) << width) - 1
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
            nxt_o[j] = cur_o[i]
        cur_k, nxt_k = nxt_k, cur_k
        cur_o, nxt_o = nxt_o, cur_o
    return cur_k, cur_o


@kernel()
def radix_argsort(keys):  # pragma: no cover - compiled
    """``np.argsort(keys, kind="stable")`` of non-negative int64 keys (:func:`radix_sort`)."""
    return radix_sort(keys.copy(), np.arange(keys.shape[0], dtype=np.int64))[1]


@kernel()
def stay_bounds(pat, adm, dis):  # pragma: no cover - compiled
    """Over the dated stays (patient ≥ 0, both days finite): their count, the largest patient
    code, min and max admission and discharge day, and whether every day is a whole number."""
    cnt = 0
    pmax = np.int64(0)
    amin, amax, dmin, dmax = np.inf, -np.inf, np.inf, -np.inf
    whole = True
    for i in range(pat.shape[0]):
        a, d = adm[i], dis[i]
        if pat[i] < 0 or not np.isfinite(a) or not np.isfinite(d):
            continue
        cnt += 1
        pmax = max(pmax, pat[i])
        amin, amax = min(amin, a), max(amax, a)
        dmin, dmax = min(dmin, d), max(dmax, d)
        if a != np.floor(a) or d != np.floor(d):
            whole = False
    return cnt, pmax, amin, amax, dmin, dmax, whole


@kernel()
def stay_keys(pat, adm, dis, amin, a_bits, dmin, d_bits, idx, keys, k,
              offset):  # pragma: no cover - compiled
    """Write the dated stays' positions (``offset`` + row) and keys ``patient | adm − amin |
    dis − dmin`` (bit fields of ``a_bits`` and ``d_bits``) into ``idx``/``keys`` from ``k`` on,
    in row order; returns the next free slot. The caller checked the fields fit in 62 bits."""
    for i in range(pat.shape[0]):
        a, d = adm[i], dis[i]
        if pat[i] < 0 or not np.isfinite(a) or not np.isfinite(d):
            continue
        idx[k] = i + offset
        keys[k] = ((pat[i] << (a_bits + d_bits)) | ((np.int64(a) - amin) << d_bits)
                   | (np.int64(d) - dmin))
        k += 1
    return k


@kernel()
def _cls_at(cls_h, cls_c, nh, j):  # pragma: no cover - compiled
    """Pair class of combined position ``j`` (history rows first, then the period's)."""
    return cls_h[j] if j < nh else cls_c[j - nh]


@kernel()
def split_pairs_keyed(order, keys, a_bits, d_bits, amin, dmin, cls_h, cls_c, nh,
                      window):  # pragma: no cover - compiled
    """:func:`split_pairs` over stays sorted by their :func:`stay_keys` keys: patient and days
    are read back from the sorted keys (shifts and masks), so only the few stays of one patient
    within the window are looked up in the pair classes (of the history and of the period,
    ``cls_h`` / ``cls_c``, positions ``< nh`` being the history's)."""
    m = max(order.shape[0] - 1, 0)
    a_out = np.empty(m, np.int64)
    b_out = np.empty(m, np.int64)
    g_out = np.empty(m, np.int64)
    k = 0
    if m == 0:
        return a_out, b_out, g_out
    d_mask = (np.int64(1) << d_bits) - 1
    a_mask = (np.int64(1) << a_bits) - 1
    p_shift = a_bits + d_bits
    pa, da = keys[0] >> p_shift, keys[0] & d_mask
    for i in range(m):
        kb = keys[i + 1]
        pb, db, ab = kb >> p_shift, kb & d_mask, (kb >> d_bits) & a_mask
        gap = (ab + amin) - (da + dmin)
        same = pa == pb
        pa, da = pb, db
        if not same or gap < 0 or gap > window:
            continue
        a, b = order[i], order[i + 1]
        c = _cls_at(cls_h, cls_c, nh, a)
        if c >= 0 and c == _cls_at(cls_h, cls_c, nh, b) and (a >= nh or b >= nh):
            a_out[k], b_out[k], g_out[k] = a, b, gap
            k += 1
    return a_out[:k], b_out[:k], g_out[:k]


@kernel()
def split_pairs(order, pat, adm, dis, cls, nh, window):  # pragma: no cover - compiled
    """Consecutive stays ``(a, b) = (order[i], order[i + 1])`` that form a split-admission pair.

    The test of :func:`payment.supervision.split_admissions`: same patient, gap = adm[b] −
    dis[a] in [0, window], the same pair class ``cls`` ≥ 0 (the key of a grouped, not exempt
    stay; −1 otherwise), at least one position ``>= nh`` (a stay of the period). Returns
    ``(a, b, gap)`` in ``order``'s order.
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
        if gap >= 0 and gap <= window and cls[a] >= 0 and cls[a] == cls[b] and (
                a >= nh or b >= nh):
            a_out[k], b_out[k], g_out[k] = a, b, np.int64(gap)
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
def _mix(z):  # pragma: no cover - compiled
    """splitmix64's finaliser: every bit of ``z`` moves every bit of the result."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@kernel()
def _probe(t_key, t_id, low, k):  # pragma: no cover - compiled
    """Slot of key ``k`` in an open-addressing table of ``low + 1`` slots (linear probing):
    where it is, or the empty slot (``t_id`` −1) where it goes."""
    slot = np.int64(_mix(k) & low)
    while t_id[slot] >= 0 and t_key[slot] != k:
        slot = (slot + 1) & np.int64(low)
    return slot


@kernel()
def _factorize_few(keys, valid, limit):  # pragma: no cover - compiled
    """:func:`factorize_keys` in one pass with one table of ``limit`` keys at most; ``ok`` is
    False (and the codes unfinished) as soon as a key beyond the limit appears."""
    n = keys.shape[0]
    size = 16
    while size < 2 * limit:
        size *= 2
    t_key = np.empty(size, np.uint64)
    t_id = np.full(size, -1, np.int64)
    first = np.empty(limit, np.int64)
    codes = np.full(n, -1, np.int64)
    low = np.uint64(size - 1)
    n_dist = 0
    last_k = np.uint64(0)
    last_d = -1
    for i in range(n):
        if not valid[i]:
            continue
        k = keys[i]
        if last_d >= 0 and k == last_k:
            codes[i] = last_d
            continue
        slot = _probe(t_key, t_id, low, k)
        d = t_id[slot]
        if d < 0:
            if n_dist == limit:
                return codes, first[:0], False
            d = n_dist
            t_id[slot], t_key[slot], first[d] = d, k, i
            n_dist += 1
        codes[i] = d
        last_k, last_d = k, d
    return codes, first[:n_dist], True


@kernel()
def factorize_keys(keys, valid):  # pragma: no cover - compiled
    """Codes of uint64 ``keys`` in order of first appearance (-1 where not ``valid``), as
    ``pd.factorize`` gives them, and the first row of each code.

    Few distinct keys (at most 16,384): one pass with one small table. Otherwise, cache-friendly
    on millions of distinct keys: the rows are scattered (stably, with their keys) into
    partitions by the top bits of a hash, each partition is coded with a small open-addressing
    table that stays in cache, and the codes are renumbered by first row at the end. Keys are
    compared whole, so the codes are exact.
    """
    codes, first_rows_, ok = _factorize_few(keys, valid, 16384)
    if ok:
        return codes, first_rows_
    n = keys.shape[0]
    nv = 0
    for i in range(n):
        if valid[i]:
            nv += 1
    pbits = 0
    while pbits < 10 and (np.int64(16384) << pbits) < nv:
        pbits += 1
    n_part = np.int64(1) << pbits
    shift = np.uint64(64 - pbits)
    start = np.zeros(n_part + 1, np.int64)
    part_of = np.zeros(n, np.int64)
    if pbits > 0:
        for i in range(n):
            if valid[i]:
                part_of[i] = np.int64(_mix(keys[i]) >> shift)
    for i in range(n):
        if valid[i]:
            start[part_of[i] + 1] += 1
    for p in range(n_part):
        start[p + 1] += start[p]
    fill = start[:-1].copy()
    prow = np.empty(nv, np.int64)
    pkey = np.empty(nv, np.uint64)
    for i in range(n):
        if valid[i]:
            j = fill[part_of[i]]
            prow[j] = i
            pkey[j] = keys[i]
            fill[part_of[i]] = j + 1
    biggest = 0
    for p in range(n_part):
        biggest = max(biggest, start[p + 1] - start[p])
    tsize = 16
    while tsize < 2 * biggest:
        tsize *= 2
    t_key = np.empty(tsize, np.uint64)
    t_id = np.empty(tsize, np.int64)
    pid = np.empty(nv, np.int64)
    first = np.empty(nv, np.int64)
    n_dist = 0
    for p in range(n_part):
        m = start[p + 1] - start[p]
        size = 16
        while size < 2 * m:
            size *= 2
        t_id[:size] = -1
        low = np.uint64(size - 1)
        last_k = np.uint64(0)
        last_d = -1
        for j in range(start[p], start[p + 1]):
            k = pkey[j]
            if last_d >= 0 and k == last_k:  # runs of one key (few distinct keys)
                pid[j] = last_d
                continue
            slot = _probe(t_key, t_id, low, k)
            d = t_id[slot]
            if d < 0:
                d = n_dist
                t_id[slot], t_key[slot], first[d] = d, k, prow[j]
                n_dist += 1
            pid[j] = d
            last_k, last_d = k, d
    # renumber by first row: a key's code = how many keys appear first before it
    is_first = np.zeros(n, np.bool_)
    for d in range(n_dist):
        is_first[first[d]] = True
    first_rows_ = np.empty(n_dist, np.int64)
    rank = np.empty(n, np.int64)
    c = 0
    for i in range(n):
        rank[i] = c
        if is_first[i]:
            first_rows_[c] = i
            c += 1
    code_of = np.empty(n_dist, np.int64)
    for d in range(n_dist):
        code_of[d] = rank[first[d]]
    codes = np.full(n, -1, np.int64)
    for j in range(nv):
        codes[prow[j]] = code_of[pid[j]]
    return codes, first_rows_


@kernel()
def stem_rows(offsets, data, valid, rows, ptr, stem_off, stem_bytes):  # pragma: no cover
    """Which ``rows`` hold a code starting with one of the stems, at the text's start or just
    after a ``|`` — the regex ``(?:^|\\|)(?:stem|…)`` byte by byte (UTF-8 bytes of the text).

    Stems sorted by first byte: those starting with byte ``c`` are ``ptr[c] … ptr[c + 1] − 1``;
    stem ``k`` is ``stem_bytes[stem_off[k]:stem_off[k + 1]]`` (non-empty).
    """
    out = np.zeros(rows.shape[0], np.bool_)
    for q in range(rows.shape[0]):
        r = rows[q]
        if not valid[r]:
            continue
        s, e = offsets[r], offsets[r + 1]
        p = s
        while p < e and not out[q]:
            if p == s or data[p - 1] == 124:  # '|'
                c = data[p]
                for k in range(ptr[c], ptr[c + 1]):
                    a, z = stem_off[k], stem_off[k + 1]
                    if z - a > e - p:
                        continue
                    same = True
                    for j in range(z - a):
                        if data[p + j] != stem_bytes[a + j]:
                            same = False
                            break
                    if same:
                        out[q] = True
                        break
            p += 1
    return out
