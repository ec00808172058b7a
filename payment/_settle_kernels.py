"""Settlement kernels: per-hospital money in integer cents over pre-aggregated arrays.

Arrays only; :mod:`payment.settlement` validates, aggregates and encodes. The layout constants
below are the contract between the two. One scenario is :func:`settle_one`; a sweep runs it over
a batch of parameter rows in parallel (one scenario per iteration, outputs per scenario only, so
1 and N threads agree).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import kernel
from ._money_kernels import (
    largest_remainder,
    release_share,
    round_cents,
    round_decimals,
    tier_parts,
)

__all__ = ["largest_remainder", "release_share", "round_cents", "round_decimals", "tier_parts"]

# ---- per-hospital data hd[H, HD] (yuan / points, before rounding) ----
HD_PTS = 0  # points of settled cases not approved in special review (points)
HD_PAY = 1  # their payment at the policy's point value / base rate (yuan, total-cost basis)
HD_SR = 2  # special-review re-priced amounts (yuan, total-cost basis)
HD_TC = 3  # total cost of settled cases (yuan)
HD_PP = 4  # patient payments of settled cases (yuan)
HD = 5

# ---- per hospital × month md[H, 12, MD] (month 1..12 at index 0..11) ----
MD_PAY = 0  # points before special review of the month's discharges × provisional PV (yuan,
#            unrounded, §13)
MD_PP = 1  # their patient payments (yuan)
MD_SRTOP = 2  # special-review top-up decided in the period ending this month (yuan); not in
#              the advances (§13: no special-review money in an advance), kept for reports
MD = 3

# ---- per hospital × alliance ad[H, A, AD]: the cases of alliance a's insured treated at h ----
AD_PTS = 0
AD_PAY = 1
AD_SR = 2
AD_PP = 3
AD = 4

# ---- scalar parameters p[K] ----
P_BUDGET_MODE = 0  # 0 growth, 1 amount
P_AMOUNT = 1  # yuan
P_PRIOR = 2  # yuan
P_GROWTH = 3
P_RESERVE_RATE = 4
P_ADVANCE_RATIO = 5
P_FLOATING = 6  # 1 floating point value, 0 fixed
P_WITHHELD = 7  # 1 reserve withheld before the point value
P_RATIO = 8  # reimbursement ratio (fund ÷ total cost)
P_HAS_PP = 9  # 1 patient payments are in the data
P_TIER_BASE = 10  # 0 fee-for-service amount, 1 entitlement
P_DEPOSIT_RATE = 11
P_MAPPING = 12  # 0 table, 1 linear
P_ZERO_SCORE = 13
P_FULL_SCORE = 14
assert (P_MAPPING, P_ZERO_SCORE, P_FULL_SCORE) == (12, 13, 14)  # payment._money_kernels copies
P_ROUNDING = 15  # 0 half-up, 1 half-even
P_MEMBERS_TIERED = 16
P_POLICY_PV = 17  # the policy's point value, reported in fixed mode (yuan/point)
P_PV_DECIMALS = 18  # decimals the settlement point value is published to; -1 unrounded (§13)
P_POOL = 19  # 0 fund ÷ reimbursement ratio, 1 fund + recorded patient payments (§13)
P_RATE_UNIT = 20  # points per unit of published value: 1 points method, points scale rate method
P_SHARING_FULL = 21  # 1 sharing beyond the reserve paid in full (§13 option), 0 pro rata
P_DEPOSIT_BASE = 22  # 0 max(entitlement + tier adjustment, 0), 1 max(entitlement, 0)
P_FORFEIT_RESERVE = 23  # 1 forfeited deposits stay in the reserve, 0 returned to the fund
K = 24

# ---- per-hospital results out_h[H, OH] (cents) ----
OH_ENT = 0  # entitlement
OH_FFS = 1  # fee-for-service fund amount
OH_SHARE = 2  # overspend sharing paid from the reserve
OH_RECOV = 3  # surplus taken back by the fund
OH_DEPOSIT = 4
OH_RELEASE = 5
OH_ALLY = 6  # alliance result allocated to this member
OH_FINAL = 7
OH_ADV = 8  # sum of monthly advances
OH_CLEAR = 9  # year-end clearing = final − advances
OH = 10

# ---- per-alliance results out_al[A, OA] (cents) ----
OA_BUDGET = 0
OA_CHARGED = 1
OA_RESULT = 2  # the alliance's part: retained surplus (+) or borne overspend (−)
OA_FUND = 3  # the fund's part of the alliance's surplus (+ taken back) or overspend (+ borne)
OA = 4

# ---- scenario summary out_s[S_] (yuan unless noted) ----
S_BUDGET = 0
S_RESERVE = 1
S_FUND = 2  # fund available for the point value
S_PV = 3  # settlement point value (yuan/point)
S_PAID = 4
S_KEPT = 5  # reserve kept
S_RETURNED = 6
S_SHARING = 7
S_RECOV = 8
S_SCALE = 9  # pro-rata factor applied to sharing (1 when the reserve covers it)
S_N_SURPLUS = 10  # hospitals whose final amount exceeds their fee-for-service amount
S_N_OVER = 11
S_WORST_H = 12  # index of the largest loss (−1 if none)
S_WORST = 13  # its result final − ffs (yuan, negative)
S_ENT = 14
S_FFS = 15
S_ALLY = 16
S_ADV = 17
S_DEPOSIT = 18
S_RELEASE = 19
S_PV_STATUS = 20  # PV_OK, PV_ZERO_POINTS, PV_NEGATIVE, PV_NOT_FINITE
S_SR_SCALE = 21  # factor applied to the re-priced amounts (1 unless they exceed the pool)
S_ = 22

# point-value status codes (payment.settlement.PV_STATUSES)
PV_OK = 0
PV_ZERO_POINTS = 1
PV_NEGATIVE = 2
PV_NOT_FINITE = 3


@kernel()
def settle_one(hd, md, ad, member_of, scores, p, tiers, ntiers, rel, nrel, al_budget, al_tiers,
               al_nt, out_h, out_adv, out_al, out_s):
    """One scenario's settlement (domain.md §8, §13) into the cents arrays ``out_*``."""
    nh = hd.shape[0]
    na = al_budget.shape[0]
    rm = np.int64(p[P_ROUNDING])
    ratio = p[P_RATIO]
    has_pp = p[P_HAS_PP] == 1.0
    floating = p[P_FLOATING] == 1.0

    # Budget and reserve (§8; §13: reserve = budget × rate rounded to the cent). A reserve that
    # is not withheld does not exist: the whole budget is the fund for the point value.
    if p[P_BUDGET_MODE] == 1.0:
        budget = round_cents(p[P_AMOUNT], rm)
    else:
        budget = round_cents(p[P_PRIOR] * (1.0 + p[P_GROWTH]), rm)
    reserve = round_cents(budget / 100.0 * p[P_RESERVE_RATE], rm) if p[P_WITHHELD] == 1.0 else 0
    fund = budget - reserve

    # Settlement point value, solved exactly with the re-priced special-review amounts (§13):
    # PV = (pool − Σ re-priced) ÷ Σ other points, published to P_PV_DECIMALS (rate method: per
    # unit of weight = points ÷ scale). Pool (total-cost basis) = fund ÷ reimbursement ratio, or
    # fund + recorded patient payments. Undefined (no points, or not finite) or negative (re-priced
    # more than the pool): PV 0, re-priced amounts scaled to at most the pool (never billed).
    sum_pts = 0.0
    sum_sr = 0.0
    sum_pp = 0.0
    for h in range(nh):
        sum_pts += hd[h, HD_PTS]
        sum_sr += hd[h, HD_SR]
        sum_pp += hd[h, HD_PP]
    pool = fund / 100.0 + sum_pp if (p[P_POOL] == 1.0 and has_pp) else fund / 100.0 / ratio
    runit = p[P_RATE_UNIT]
    dec = np.int64(p[P_PV_DECIMALS])
    status = PV_OK
    sr_scale = 1.0
    exact_total = False  # entitlements allocated by largest remainder (fixed total)
    if floating:
        pv = 0.0
        if sum_pts > 0.0:
            q = (pool - sum_sr) / (sum_pts / runit)
            if not np.isfinite(q):
                status = PV_NOT_FINITE
            elif q < 0.0:
                status = PV_NEGATIVE
            else:
                pv = round_decimals(q, dec) if dec >= 0 else q
        else:
            status = PV_ZERO_POINTS
        if status != PV_OK:
            exact_total = True
            if sum_sr > pool:
                sr_scale = max(pool, 0.0) / sum_sr
        elif dec < 0:
            exact_total = True
        col = HD_PTS
        acol = AD_PTS
        unit = pv / runit
        pv_report = pv
    else:
        # Fixed point value: each hospital's points × the point value the cases were priced
        # at, rounded once (§13), not the sum of per-case payments already rounded to the cent.
        col = HD_PTS
        acol = AD_PTS
        # no finite point value (no points): the points are worth 0, re-priced money still paid
        unit = p[P_POLICY_PV] if np.isfinite(p[P_POLICY_PV]) else 0.0
        pv_report = p[P_POLICY_PV]

    # Entitlement and fee-for-service fund amount, each rounded once (half-up on a published
    # point value; by largest remainder of the exact total otherwise).
    ent_x = np.zeros(nh)
    scaled = sr_scale < 1.0
    # re-priced money scaled down to the pool: each hospital's share in cents by largest
    # remainder, Σ = the pool's whole cents, so no hospital is paid a cent the pool lacks
    # (no work, and an empty array, in the usual unscaled case)
    sr_c = np.zeros(nh if scaled else 0, dtype=np.int64)
    if scaled:
        largest_remainder(hd[:, HD_SR] * (sr_scale * 100.0),
                          np.int64(np.floor(max(pool, 0.0) * 100.0 + 1e-6)), sr_c)
    for h in range(nh):
        tc_value = hd[h, col] * unit + (sr_c[h] / 100.0 if scaled else hd[h, HD_SR])
        if has_pp:
            ent_x[h] = tc_value - hd[h, HD_PP]
            out_h[h, OH_FFS] = round_cents(hd[h, HD_TC] - hd[h, HD_PP], rm)
        else:
            ent_x[h] = tc_value * ratio
            out_h[h, OH_FFS] = round_cents(hd[h, HD_TC] * ratio, rm)
    if exact_total:
        tot = 0.0
        for h in range(nh):
            tot += ent_x[h]
        ent_c = np.zeros(nh, dtype=np.int64)
        largest_remainder(ent_x * 100.0, round_cents(tot, rm), ent_c)
        for h in range(nh):
            out_h[h, OH_ENT] = ent_c[h]
    else:
        for h in range(nh):
            out_h[h, OH_ENT] = round_cents(ent_x[h], rm)

    # Retention / sharing tiers per hospital; sharing paid from the reserve. When the reserve
    # cannot cover it: pro rata (shares allocated by largest remainder, Σ = reserve), or paid
    # in full with the excess drawn from the fund line (§13 option).
    raw_pay = np.zeros(nh)
    sum_raw_pay = 0
    total_raw = 0.0
    for h in range(nh):
        out_h[h, OH_SHARE] = 0
        out_h[h, OH_RECOV] = 0
        if member_of[h] >= 0 and p[P_MEMBERS_TIERED] != 1.0:
            continue
        e = out_h[h, OH_ENT] / 100.0
        f = out_h[h, OH_FFS] / 100.0
        base = f if p[P_TIER_BASE] == 0.0 else e
        if base <= 0.0:
            continue
        x = (f - e) / base
        pay, take = tier_parts(x, base, tiers, ntiers)
        raw_pay[h] = pay
        total_raw += pay
        sum_raw_pay += round_cents(pay, rm)
        out_h[h, OH_RECOV] = round_cents(take, rm)
    scale = 1.0
    if sum_raw_pay > reserve and p[P_SHARING_FULL] != 1.0:
        scale = (reserve / 100.0) / total_raw
        share_c = np.zeros(nh, dtype=np.int64)
        largest_remainder(raw_pay * (reserve / total_raw), reserve, share_c)
        for h in range(nh):
            out_h[h, OH_SHARE] = share_c[h]
    else:
        for h in range(nh):
            out_h[h, OH_SHARE] = round_cents(raw_pay[h], rm)

    # Quality deposit withheld and released by assessment score.
    for h in range(nh):
        e = out_h[h, OH_ENT]
        if p[P_DEPOSIT_BASE] == 0.0:  # §13: after the tier adjustment
            e += out_h[h, OH_SHARE] - out_h[h, OH_RECOV]
        dep = round_cents(max(e, 0) / 100.0 * p[P_DEPOSIT_RATE], rm)
        out_h[h, OH_DEPOSIT] = dep
        out_h[h, OH_RELEASE] = round_cents(dep / 100.0 * release_share(scores[h], p, rel, nrel), rm)
        out_h[h, OH_ALLY] = 0

    # Medical alliances: charged at the settled fund amount of their insured's cases.
    for a in range(na):
        charged = 0.0
        for h in range(nh):
            v = ad[h, a, acol] * unit + ad[h, a, AD_SR] * sr_scale
            charged += v - ad[h, a, AD_PP] if has_pp else v * ratio
        b_c = round_cents(al_budget[a], rm)
        c_c = round_cents(charged, rm)
        out_al[a, OA_BUDGET] = b_c
        out_al[a, OA_CHARGED] = c_c
        bud = b_c / 100.0
        chg = c_c / 100.0
        base = chg if p[P_TIER_BASE] == 0.0 else bud
        d = bud - chg
        fund_part = 0.0
        if base > 0.0:
            pay, take = tier_parts((chg - bud) / base, base, al_tiers[a], al_nt[a])
            fund_part = pay + take
        res = d + fund_part if d < 0.0 else d - fund_part
        r_c = round_cents(res, rm)
        out_al[a, OA_RESULT] = r_c
        out_al[a, OA_FUND] = round_cents(fund_part, rm)
        # Allocate to members pro rata to positive entitlement, largest remainder: exact sum.
        wsum = 0.0
        nmem = 0
        for h in range(nh):
            if member_of[h] == a:
                nmem += 1
                wsum += max(out_h[h, OH_ENT], 0)
        if nmem == 0:
            continue
        sign = 1 if r_c >= 0 else -1
        mag = r_c * sign
        given = 0
        rem = np.zeros(nh)
        for h in range(nh):
            if member_of[h] == a:
                w = max(out_h[h, OH_ENT], 0) / wsum if wsum > 0.0 else 1.0 / nmem
                q = mag * w
                fl = np.int64(np.floor(q))
                out_h[h, OH_ALLY] = fl
                given += fl
                rem[h] = q - fl
        left = mag - given
        while left > 0:
            best = -1
            for h in range(nh):
                if member_of[h] == a and (best < 0 or rem[h] > rem[best]):
                    best = h
            out_h[best, OH_ALLY] += 1
            rem[best] = -1.0
            left -= 1
        for h in range(nh):
            if member_of[h] == a:
                out_h[h, OH_ALLY] *= sign

    # Final amount, monthly advances at the advance ratio, clearing = final − advances. An
    # advance is one rounding per month from unrounded points × provisional PV, without any
    # special-review money (§13); special review is paid at the clearing.
    for h in range(nh):
        out_h[h, OH_FINAL] = (out_h[h, OH_ENT] + out_h[h, OH_SHARE] - out_h[h, OH_RECOV]
                              - out_h[h, OH_DEPOSIT] + out_h[h, OH_RELEASE] + out_h[h, OH_ALLY])
        adv_sum = 0
        for m in range(12):
            prov = md[h, m, MD_PAY]
            fund_m = prov - md[h, m, MD_PP] if has_pp else prov * ratio
            a_c = round_cents(max(fund_m, 0.0) * p[P_ADVANCE_RATIO], rm)
            out_adv[h, m] = a_c
            adv_sum += a_c
        out_h[h, OH_ADV] = adv_sum
        out_h[h, OH_CLEAR] = out_h[h, OH_FINAL] - adv_sum

    # Ledger: budget = paid + reserve kept + returned (exact in cents).
    paid = 0
    sharing = 0
    recov = 0
    forfeit = 0
    ent = 0
    ffs = 0
    ally = 0
    adv = 0
    dep = 0
    rel_t = 0
    n_sur = 0
    n_over = 0
    worst_h = -1
    worst = 0
    for h in range(nh):
        paid += out_h[h, OH_FINAL]
        sharing += out_h[h, OH_SHARE]
        recov += out_h[h, OH_RECOV]
        forfeit += out_h[h, OH_DEPOSIT] - out_h[h, OH_RELEASE]
        dep += out_h[h, OH_DEPOSIT]
        rel_t += out_h[h, OH_RELEASE]
        ent += out_h[h, OH_ENT]
        ffs += out_h[h, OH_FFS]
        ally += out_h[h, OH_ALLY]
        adv += out_h[h, OH_ADV]
        res = out_h[h, OH_FINAL] - out_h[h, OH_FFS]
        if res > 0:
            n_sur += 1
        elif res < 0:
            n_over += 1
            if res < worst:
                worst = res
                worst_h = h
    kept = max(reserve - sharing, 0)  # pay_in_full: the excess comes from the fund line
    if p[P_FORFEIT_RESERVE] == 1.0:
        kept += forfeit
    out_s[S_BUDGET] = budget / 100.0
    out_s[S_RESERVE] = reserve / 100.0
    out_s[S_FUND] = fund / 100.0
    out_s[S_PV] = pv_report
    out_s[S_PAID] = paid / 100.0
    out_s[S_KEPT] = kept / 100.0
    out_s[S_RETURNED] = (budget - paid - kept) / 100.0
    out_s[S_SHARING] = sharing / 100.0
    out_s[S_RECOV] = recov / 100.0
    out_s[S_SCALE] = scale
    out_s[S_N_SURPLUS] = n_sur
    out_s[S_N_OVER] = n_over
    out_s[S_WORST_H] = worst_h
    out_s[S_WORST] = worst / 100.0
    out_s[S_ENT] = ent / 100.0
    out_s[S_FFS] = ffs / 100.0
    out_s[S_ALLY] = ally / 100.0
    out_s[S_ADV] = adv / 100.0
    out_s[S_DEPOSIT] = dep / 100.0
    out_s[S_RELEASE] = rel_t / 100.0
    out_s[S_PV_STATUS] = status
    out_s[S_SR_SCALE] = sr_scale


@kernel(parallel=True)
def settle_batch(hd, md, ad, member_of, scores, P, tiers, ntiers, rel, nrel, al_budget, al_tiers,
                 al_nt):
    """Many settlement-only scenarios over the same aggregates: one summary row each."""
    ns = P.shape[0]
    nh = hd.shape[0]
    na = al_budget.shape[1]
    out = np.zeros((ns, S_))
    for s in prange(ns):
        out_h = np.zeros((nh, OH), dtype=np.int64)
        out_adv = np.zeros((nh, 12), dtype=np.int64)
        out_al = np.zeros((na, OA), dtype=np.int64)
        settle_one(hd, md, ad, member_of, scores[s], P[s], tiers[s], ntiers[s], rel[s], nrel[s],
                   al_budget[s], al_tiers[s], al_nt[s], out_h, out_adv, out_al, out[s])
    return out


# ---- what-if basis: priced cases summed per hospital × month × alliance slot × quantity × term ----
# A what-if is linear in each case's amounts, so each hospital × month × alliance sum after the
# what-if is a fixed combination of four sums taken once: the amount (T_ONE), the amount × (r − 1)
# where r is the ratio of the next severity's base points (T_UP), the amount of simple level-3
# cases (T_SHIFT) and their amount × (r − 1) (T_UPSHIFT).
Q_PTS = 0
Q_PAY = 1
Q_TC = 2
Q_PP = 3
Q = 4
T_ONE = 0
T_UP = 1
T_SHIFT = 2
T_UPSHIFT = 3
T = 4

# ---- what-if parameters w[W] ----
W_VOLUME = 0  # volume growth (fraction)
W_COST = 1  # cost growth (fraction)
W_UPCODE = 2  # share of cases coded one severity level higher in the same ADRG
W_SHIFT = 3  # share of simple level-3 cases moved to level-1/2 hospitals
W = 4


@kernel()
def whatif_aggregates(B, BH, SR, SRD, dest_w, h_pts_f, h_cost_f, w, hd, md, ad):
    """Apply one what-if to the basis sums and fill ``hd``, ``md``, ``ad`` (zeroed here).

    ``B[h, m, s, q, t]``: non-reviewed cases' sums (month 0 = unknown, slot A = no alliance);
    ``BH`` = B summed over hospitals; ``SR[h, m, s, q]``: reviewed cases' payment, cost and
    patient payments by discharge month; ``SRD[h, m, s, 0|1]``: their re-priced amount and payment
    by decision month. Volume growth scales every amount; cost growth scales total cost, patient
    payments and re-priced amounts (points come from the weights, fixed before the year);
    upcoding moves a share of each case to the next severity of its ADRG (points × r); the level
    shift moves a share of simple level-3 cases to level-1/2 hospitals by ``dest_w``, at the
    destination's points and cost factors.
    """
    hd[:] = 0.0
    md[:] = 0.0
    ad[:] = 0.0
    nh = B.shape[0]
    na = ad.shape[1]
    vol = 1.0 + w[W_VOLUME]
    vc = vol * (1.0 + w[W_COST])
    up = w[W_UPCODE]
    sh = w[W_SHIFT]
    c = np.zeros((Q, T))
    for q in (Q_PTS, Q_PAY):
        c[q, T_ONE] = vol
        c[q, T_UP] = vol * up
        c[q, T_SHIFT] = -vol * sh
        c[q, T_UPSHIFT] = -vol * sh * up
    for q in (Q_TC, Q_PP):
        c[q, T_ONE] = vc
        c[q, T_SHIFT] = -vc * sh
    hcol = np.array([HD_PTS, HD_PAY, HD_TC, HD_PP])
    acol = np.array([AD_PTS, AD_PAY, -1, AD_PP])
    for h in range(nh):
        for m in range(13):
            for s in range(na + 1):
                for q in range(Q):
                    y = 0.0
                    for t in range(T):
                        y += B[h, m, s, q, t] * c[q, t]
                    hd[h, hcol[q]] += y
                    if m > 0:
                        if q == Q_PAY:
                            md[h, m - 1, MD_PAY] += y
                        elif q == Q_PP:
                            md[h, m - 1, MD_PP] += y
                    if s < na and acol[q] >= 0:
                        ad[h, s, acol[q]] += y
                pay = SR[h, m, s, Q_PAY] * vol
                tc = SR[h, m, s, Q_TC] * vc
                pp = SR[h, m, s, Q_PP] * vc
                hd[h, HD_TC] += tc
                hd[h, HD_PP] += pp
                if m > 0:
                    md[h, m - 1, MD_PAY] += pay
                    md[h, m - 1, MD_PP] += pp
                sa = SRD[h, m, s, 0] * vc
                hd[h, HD_SR] += sa
                if m > 0:
                    md[h, m - 1, MD_SRTOP] += sa - SRD[h, m, s, 1] * vol
                if s < na:
                    ad[h, s, AD_PP] += pp
                    ad[h, s, AD_SR] += sa
    if sh > 0.0:
        for d in range(nh):
            wd = dest_w[d]
            if wd <= 0.0:
                continue
            for m in range(13):
                for s in range(na + 1):
                    for q in range(Q):
                        mv = BH[m, s, q, T_SHIFT] + up * BH[m, s, q, T_UPSHIFT]
                        f = h_pts_f[d] if q <= Q_PAY else h_cost_f[d]
                        y = mv * (vol if q <= Q_PAY else vc) * sh * wd * f
                        hd[d, hcol[q]] += y
                        if m > 0:
                            if q == Q_PAY:
                                md[d, m - 1, MD_PAY] += y
                            elif q == Q_PP:
                                md[d, m - 1, MD_PP] += y
                        if s < na and acol[q] >= 0:
                            ad[d, s, acol[q]] += y


@kernel(parallel=True)
def whatif_batch(B, BH, SR, SRD, dest_w, h_pts_f, h_cost_f, Wd, member_of, scores, p, tiers,
                 ntiers, rel, nrel, al_budget, al_tiers, al_nt):
    """Many what-ifs (e.g. Monte Carlo draws) under one settlement policy.

    Returns the summary rows [D, S_] and each hospital's result (final − fee-for-service fund
    amount, yuan) per draw [D, H]. One draw per iteration, outputs per draw only.
    """
    nd = Wd.shape[0]
    nh = B.shape[0]
    na = al_budget.shape[0]
    out = np.zeros((nd, S_))
    res = np.zeros((nd, nh))
    for d in prange(nd):
        hd = np.zeros((nh, HD))
        md = np.zeros((nh, 12, MD))
        ad = np.zeros((nh, na, AD))
        whatif_aggregates(B, BH, SR, SRD, dest_w, h_pts_f, h_cost_f, Wd[d], hd, md, ad)
        out_h = np.zeros((nh, OH), dtype=np.int64)
        out_adv = np.zeros((nh, 12), dtype=np.int64)
        out_al = np.zeros((na, OA), dtype=np.int64)
        settle_one(hd, md, ad, member_of, scores, p, tiers, ntiers, rel, nrel, al_budget,
                   al_tiers, al_nt, out_h, out_adv, out_al, out[d])
        for h in range(nh):
            res[d, h] = (out_h[h, OH_FINAL] - out_h[h, OH_FFS]) / 100.0
    return out, res
