"""Numba kernels of DIP grouping: arrays in, arrays out, one pass over cases.

Per-case outputs only, so results do not depend on threads. Token arrays come from
:mod:`grouper.dip.encode`: ``*_off`` are list offsets (case i owns ``tok[off[i]:off[i+1]]``),
``*_tok`` are vocabulary indices (−1 = code not accepted by the scheme).
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

#: Key of a case that cannot match any core group (unknown procedure key or diagnosis key).
NO_KEY = np.uint64(0xFFFFFFFFFFFFFFFF)
_SEED1 = np.uint64(0x9E3779B97F4A7C15)
_SEED2 = np.uint64(0xC2B2AE3D27D4EB4F)


@kernel
def _mix(x):
    """splitmix64 finaliser: a bijective 64-bit mix (so distinct inputs stay distinct)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@kernel
def _set_hash(buf, n, dx, seed):
    """Hash of (diagnosis key id, sorted unique ids ``buf[:n]``) under ``seed``."""
    h = _mix(seed ^ np.uint64(dx + 1))
    for j in range(n):
        h = _mix(h ^ np.uint64(buf[j] + 1) ^ (np.uint64(j) << np.uint64(40)))
    return _mix(h ^ np.uint64(n))


@kernel
def _sort_unique(buf, n):
    """Insertion-sort ``buf[:n]`` in place and drop duplicates; returns the new length."""
    for i in range(1, n):
        v = buf[i]
        j = i - 1
        while j >= 0 and buf[j] > v:
            buf[j + 1] = buf[j]
            j -= 1
        buf[j + 1] = v
    m = 0
    for i in range(n):
        if m == 0 or buf[i] != buf[m - 1]:
            buf[m] = buf[i]
            m += 1
    return m


@kernel
def case_features(
    dx_off, dx_tok, pr_off, pr_tok, pr_empty,
    dx_key, dx_cat, dx_gid, cc_level, cc_excl, pdx_excl,
    pr_key, pr_type, pr_counted, sev_cap,
):
    """Per-case grouping features.

    Vocabulary arrays (indexed by token): ``dx_key`` diagnosis key id (−1 = not a key of the
    target catalogue), ``dx_cat`` category id, ``dx_gid`` mapped-code id (for de-duplication),
    ``cc_level`` 0 / 1 CC / 2 MCC, ``cc_excl`` and ``pdx_excl`` exclusion-table ids (−1 none);
    ``pr_key`` procedure key id (−1 = not a key of the target catalogue), ``pr_type`` treatment
    type, ``pr_counted`` whether the code belongs in the combination.

    Returns ``bad_dx, bad_pr, dxkey, cat, ttype, sev, key, key2`` where ``key``/``key2`` are two
    independent 64-bit hashes of (diagnosis key, procedure-key set) and ``key`` is
    :data:`NO_KEY` when the combination cannot be a catalogue key.
    """
    n = dx_off.shape[0] - 1
    bad_dx = np.zeros(n, np.bool_)
    bad_pr = np.zeros(n, np.bool_)
    dxkey = np.full(n, -1, np.int32)
    cat = np.full(n, -1, np.int32)
    ttype = np.zeros(n, np.int8)
    sev = np.zeros(n, np.int8)
    key = np.full(n, NO_KEY, np.uint64)
    key2 = np.full(n, NO_KEY, np.uint64)
    maxp = 1
    for i in range(n):
        maxp = max(maxp, pr_off[i + 1] - pr_off[i])
    buf = np.empty(maxp, np.int64)
    for i in range(n):
        a, b = dx_off[i], dx_off[i + 1]
        ok = b > a
        for t in range(a, b):
            if dx_tok[t] < 0:
                ok = False
        if not ok:
            bad_dx[i] = True
            continue
        if not pr_empty[i]:
            for t in range(pr_off[i], pr_off[i + 1]):
                if pr_tok[t] < 0:
                    bad_pr[i] = True
            if bad_pr[i]:
                continue
        p = dx_tok[a]
        dxkey[i] = dx_key[p]
        cat[i] = dx_cat[p]
        # Severity: distinct secondary codes that are CC/MCC and not excluded by the principal.
        ncc = 0
        nmcc = 0
        for t in range(a + 1, b):
            c = dx_tok[t]
            dup = False
            for u in range(a + 1, t):
                if dx_gid[dx_tok[u]] == dx_gid[c]:
                    dup = True
                    break
            if dup or cc_level[c] == 0:
                continue
            if pdx_excl[p] >= 0 and cc_excl[c] == pdx_excl[p]:
                continue
            if cc_level[c] == 2:
                nmcc += 1
            else:
                ncc += 1
        sev[i] = min(ncc + 2 * nmcc, sev_cap)
        # Procedure set: counted codes' keys, order-free, duplicates removed.
        m = 0
        unknown = dxkey[i] < 0
        tt = 0
        if not pr_empty[i]:
            for t in range(pr_off[i], pr_off[i + 1]):
                c = pr_tok[t]
                tt = max(tt, pr_type[c])
                if pr_counted[c]:
                    if pr_key[c] < 0:
                        unknown = True
                    buf[m] = pr_key[c]
                    m += 1
        ttype[i] = tt
        if unknown:
            continue
        m = _sort_unique(buf, m)
        key[i] = _set_hash(buf, m, dxkey[i], _SEED1)
        key2[i] = _set_hash(buf, m, dxkey[i], _SEED2)
    return bad_dx, bad_pr, dxkey, cat, ttype, sev, key, key2


@kernel
def set_keys(dx, off, ids):
    """``key, key2`` of explicit combinations (catalogue rows): ``ids[off[i]:off[i+1]]``."""
    n = dx.shape[0]
    key = np.empty(n, np.uint64)
    key2 = np.empty(n, np.uint64)
    maxp = 1
    for i in range(n):
        maxp = max(maxp, off[i + 1] - off[i])
    buf = np.empty(maxp, np.int64)
    for i in range(n):
        m = 0
        for t in range(off[i], off[i + 1]):
            buf[m] = ids[t]
            m += 1
        m = _sort_unique(buf, m)
        key[i] = _set_hash(buf, m, dx[i], _SEED1)
        key2[i] = _set_hash(buf, m, dx[i], _SEED2)
    return key, key2


@kernel
def case_sets(rows, pr_off, pr_tok, pr_empty, pr_key, pr_counted):
    """Sorted unique counted procedure-key ids of the cases ``rows``, as (offsets, ids)."""
    n = rows.shape[0]
    off = np.zeros(n + 1, np.int64)
    total = 0
    for r in range(n):
        i = rows[r]
        total += pr_off[i + 1] - pr_off[i]
    ids = np.empty(total, np.int64)
    maxp = 1
    for r in range(n):
        i = rows[r]
        maxp = max(maxp, pr_off[i + 1] - pr_off[i])
    buf = np.empty(maxp, np.int64)
    for r in range(n):
        i = rows[r]
        m = 0
        if not pr_empty[i]:
            for t in range(pr_off[i], pr_off[i + 1]):
                c = pr_tok[t]
                if pr_counted[c]:
                    buf[m] = pr_key[c]
                    m += 1
        m = _sort_unique(buf, m)
        for j in range(m):
            ids[off[r] + j] = buf[j]
        off[r + 1] = off[r] + m
    return off, ids[: off[n]]


@kernel
def match(key, key2, cat, ttype, cat_keys, cat_keys2, cat_rows, comp_table):
    """Group row of each case: its core combination (hash join on the sorted ``cat_keys``),
    else its comprehensive group ``comp_table[cat * 4 + ttype]``, else −1 (unmatched).

    Returns ``row`` (int32) and ``is_core`` (bool).
    """
    n = key.shape[0]
    row = np.full(n, -1, np.int32)
    core = np.zeros(n, np.bool_)
    m = cat_keys.shape[0]
    for i in range(n):
        k = key[i]
        if k != NO_KEY and m > 0:
            lo = 0
            hi = m
            while lo < hi:
                mid = (lo + hi) >> 1
                if cat_keys[mid] < k:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < m and cat_keys[lo] == k and cat_keys2[lo] == key2[i]:
                row[i] = cat_rows[lo]
                core[i] = True
                continue
        c = cat[i]
        if c >= 0:
            row[i] = comp_table[c * 4 + ttype[i]]
    return row, core


@kernel
def segment_sort(vals, starts, counts):
    """Sort each segment ``vals[starts[k]:starts[k] + counts[k]]`` in place (costs per set)."""
    for k in range(starts.shape[0]):
        a = starts[k]
        b = a + counts[k]
        if b - a > 1:
            vals[a:b] = np.sort(vals[a:b])
