"""Numba kernel of patient cost-sharing (domain.md §9): one walk over person-year-sorted cases.

All money is int64 cents; basic-fund ratios are integers in 1e-8 (a 4-decimal ratio times a
4-decimal retiree factor is exact there), critical-illness and assistance ratios in 1e-4.
Rounding is half-up on non-negative numerators: (num + half) // scale.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

# reason bits
R_UP = 1
R_UP_NO_PREVIOUS = 2
R_DOWN = 4
R_IRREGULAR = 8
R_FILED = 16
R_UNFILED = 32
R_BASIC_CAP = 64
R_CRITICAL_BAND = 128
R_CRITICAL_CAP = 256
R_ASSISTANCE_CAP = 512
R_SAFETY_NET = 1024
R_RANK_FACTOR = 2048

E8 = 100_000_000
E4 = 10_000


@kernel
def _band_index(a: np.int64, lower: np.int64, uppers: np.ndarray) -> np.int64:
    """0 below/at ``lower``; i + 1 when ``a`` lies in band i (bands (u_{i-1}, u_i])."""
    if a <= lower:
        return 0
    for i in range(uppers.shape[0]):
        if a <= uppers[i]:
            return i + 1
    return uppers.shape[0]


@kernel
def _room(cap: np.int64, paid: np.int64) -> np.int64:
    """What is left of a yearly cap (cents), never negative."""
    left = cap - paid
    return left if left > 0 else np.int64(0)


@kernel
def _critical_f(a: np.int64, ded: np.int64, uppers: np.ndarray, ratios: np.ndarray) -> np.int64:
    """round(F(a)) in cents: Σ ratio_i × (part of a in band i), bands above ``ded``."""
    num = np.int64(0)
    lo = ded
    for i in range(uppers.shape[0]):
        hi = uppers[i]
        if hi <= lo:
            continue
        top = a if a < hi else hi
        if top > lo:
            num += ratios[i] * (top - lo)
        lo = hi
        if a <= hi:
            break
    return (num + E4 // 2) // E4


@kernel
def _stable_by(key, n_keys, rows):
    """``rows`` reordered stably by ``key[row]`` in [0, n_keys): one counting pass, O(n)."""
    n = rows.shape[0]
    cnt = np.zeros(n_keys + 1, dtype=np.int64)
    for k in range(n):
        cnt[key[rows[k]] + 1] += 1
    for t in range(n_keys):
        cnt[t + 1] += cnt[t]
    out = np.empty(n, dtype=np.int64)
    for k in range(n):
        i = rows[k]
        t = key[i]
        out[cnt[t]] = i
        cnt[t] += 1
    return out


@kernel
def person_year_order(person, n_persons, when, n_when):
    """Row order by (person, when) with ties in row order: two stable counting passes, O(n).

    ``person`` in [0, n_persons) and ``when`` (a dense rank of the discharge time, or of the
    year) in [0, n_when); the caller breaks remaining ties by case id.
    """
    rows = np.arange(person.shape[0])
    return _stable_by(person, n_persons, _stable_by(when, n_when, rows))


@kernel
def cost_sharing_kernel(
    order, person, year, level, ins, cat, ref, ooa, total, self_pay, partial,
    ded_table, rank_f, combo, band_up, band_r, basic_cap,
    crit_on, crit_ded, crit_up, crit_r, crit_cap, tilt, base_partial,
    asst_on, asst_r, asst_ded, asst_cap, sn_on, sn_caps,
    out_compliant, out_ded, out_basic, out_crit, out_asst, out_sn, out_oop, out_ratio, out_reason,
):
    """Walk cases in ``order`` (person-year, then discharge order); write per-case layers in yuan
    (cents / 100, so exact to the fen) at each case's own row.

    A person-year starts where ``person`` or ``year`` changes along ``order``. ``combo[j]``
    indexes the basic ratio row band_r[combo, band] (1e-8); ``crit_*`` are indexed by
    insurance × 2 + tilt; ``crit_cap`` < 0 means no cap. Inputs are read and outputs written
    through ``order`` so no sorted copy of any column is made.
    """
    n = order.shape[0]
    nr = rank_f.shape[0]
    rank = 0
    prev_ded = np.int64(0)
    basic_paid = np.int64(0)
    acc_a = np.int64(0)
    crit_paid = np.int64(0)
    acc_b = np.int64(0)
    asst_paid = np.int64(0)
    sn_paid = np.int64(0)
    prev = np.int64(-1)
    for k_ in range(n):
        i = order[k_]
        if prev < 0 or person[i] != person[prev] or year[i] != year[prev]:
            rank = 0
            prev_ded = np.int64(0)
            basic_paid = np.int64(0)
            acc_a = np.int64(0)
            crit_paid = np.int64(0)
            acc_b = np.int64(0)
            asst_paid = np.int64(0)
            sn_paid = np.int64(0)
        reason = 0
        lv = level[i]
        k = ins[i]
        c = cat[i]
        compliant = total[i] - self_pay[i] - partial[i]
        # --- basic fund: deductible
        f = rank_f[rank if rank < nr else nr - 1]
        if f != E4:
            reason |= R_RANK_FACTOR
        d = (ded_table[k, lv] * f + E4 // 2) // E4
        r = ref[i]
        if r == 1:
            if rank > 0:
                d = d - prev_ded
                if d < 0:
                    d = np.int64(0)
                reason |= R_UP
            else:
                reason |= R_UP_NO_PREVIOUS
        elif r == 2:
            d = np.int64(0)
            reason |= R_DOWN
        elif r == 3:
            reason |= R_IRREGULAR
        if ooa[i] == 1:
            reason |= R_FILED
        elif ooa[i] == 2:
            reason |= R_UNFILED
        ded = d if d < compliant else compliant
        eligible = compliant - ded
        # --- basic fund: ratio (bands of the eligible amount; one open band = one ratio)
        num = np.int64(0)
        lo = np.int64(0)
        row = combo[i]
        for b in range(band_up.shape[0]):
            hi = band_up[b]
            top = eligible if eligible < hi else hi
            if top > lo:
                num += band_r[row, b] * (top - lo)
            lo = hi
            if eligible <= hi:
                break
        basic = (num + E8 // 2) // E8
        room = _room(basic_cap[k], basic_paid)
        if basic > room:
            basic = room
            reason |= R_BASIC_CAP
        basic_paid += basic
        out_ratio[i] = band_r[row, 0] / E8
        # --- critical illness
        crit = np.int64(0)
        ci = k * 2 + tilt[c]
        if crit_on[k]:
            base = compliant - basic
            if base_partial:
                base += partial[i]
            a0 = acc_a
            acc_a += base
            cd = crit_ded[ci]
            ups = crit_up[k]
            crit = _critical_f(acc_a, cd, ups, crit_r[ci]) - _critical_f(a0, cd, ups, crit_r[ci])
            if _band_index(acc_a, cd, ups) != _band_index(a0, cd, ups):
                reason |= R_CRITICAL_BAND
            if crit_cap[ci] >= 0:
                room = _room(crit_cap[ci], crit_paid)
                if crit > room:
                    crit = room
                    reason |= R_CRITICAL_CAP
            crit_paid += crit
        # --- medical assistance
        asst = np.int64(0)
        if asst_on[c]:
            b0 = acc_b
            inc = compliant - basic - crit  # < 0 only when critical covered partial_self_pay
            acc_b += inc if inc > 0 else np.int64(0)
            ad = asst_ded[c]
            over0 = b0 - ad if b0 > ad else np.int64(0)
            over1 = acc_b - ad if acc_b > ad else np.int64(0)
            asst = (asst_r[c] * (over1 - over0) + E4 // 2) // E4
            room = _room(asst_cap[c], asst_paid)
            if asst > room:
                asst = room
                reason |= R_ASSISTANCE_CAP
            asst_paid += asst
        # --- safety net
        sn = np.int64(0)
        if sn_on[c]:
            burden = compliant - basic - crit - asst
            if burden < 0:
                burden = np.int64(0)
            if ooa[i] != 0:
                cap = sn_caps[2]
            elif lv == 2:
                cap = sn_caps[1]
            else:
                cap = sn_caps[0]
            room = _room(cap, sn_paid)
            pays = burden if burden < room else room
            sn = burden - pays
            sn_paid += pays
            if sn > 0:
                reason |= R_SAFETY_NET
        prev_ded = ded
        rank += 1
        prev = i
        out_compliant[i] = compliant / 100
        out_ded[i] = ded / 100
        out_basic[i] = basic / 100
        out_crit[i] = crit / 100
        out_asst[i] = asst / 100
        out_sn[i] = sn / 100
        out_oop[i] = (total[i] - basic - crit - asst - sn) / 100
        out_reason[i] = reason
