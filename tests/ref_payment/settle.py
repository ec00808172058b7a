"""Reference year-end settlement (§4, §8, §13): budget, reserve, point-value solve, entitlement,
tiers, sharing cap, quality deposit, monthly advances, clearing and the fund ledger.

Every per-hospital amount is a Decimal rounded half-up to the cent once (§13 "Money"); sums are
exact. Input: the dicts of :func:`ref_payment.pricing.ref_price`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal, localcontext
from typing import Any

from .money import cents, dec, exact, half_up, largest_remainder
from .weights import RefWeights

ZERO = Decimal(0)


def _bound(x: float) -> Decimal:
    return Decimal("Infinity") if x == math.inf else Decimal("-Infinity") if x == -math.inf \
        else dec(x)


@exact
def tier_parts(ffs: Decimal, ent: Decimal, base: Decimal, tiers: list[dict[str, Any]]
               ) -> tuple[Decimal, Decimal]:
    """(fund pays on the overspend, fund takes back of the surplus), yuan, unrounded.

    Ratio x = (ffs − entitlement) ÷ base; each slice of [0, x] (or [x, 0]) inside a tier
    [lower, upper) counts at that tier's fund share (§13)."""
    pay = take = ZERO
    if base <= 0:
        return pay, take
    with localcontext() as ctx:
        ctx.prec = 60
        x = (ffs - ent) / base
        lo_x, hi_x = min(ZERO, x), max(ZERO, x)
        for t in tiers:
            lo = max(_bound(t["lower"]), lo_x)
            hi = min(_bound(t["upper"]), hi_x)
            if hi > lo:
                if lo == lo_x and hi == hi_x:  # the whole slice: exact without the division
                    amt = abs(ffs - ent) * dec(t["fund_share"])
                else:
                    amt = (hi - lo) * base * dec(t["fund_share"])
                if x > 0:
                    pay += amt
                else:
                    take += amt
    return pay, take


@exact
def release_share(score: float, a: dict[str, Any]) -> Decimal:
    """Share of the deposit released: table (row with the largest min_score ≤ score; 0 below
    the first row) or linear clip((score − zero) ÷ (full − zero), 0, 1)."""
    if a["mapping"] == "linear":
        s = (dec(score) - dec(a["zero_score"])) / (dec(a["full_score"]) - dec(a["zero_score"]))
        return min(Decimal(1), max(ZERO, s))
    share = ZERO
    for row in a["release"]:
        if score >= row["min_score"]:
            share = dec(row["release"])
    return share


@exact
def ref_settle(priced: list[dict[str, Any]], w: RefWeights, pol: dict[str, Any],
               scores: dict[str, float] | None = None) -> dict[str, Any]:
    """Settle one year (§8, defaults §13). Returns ``summary``, ``hospitals`` {id: amounts} and
    ``advances`` {id: [12 monthly Decimals]}; money in Decimal yuan."""
    st, pv = pol["settlement"], pol["point_value"]
    settled = [o for o in priced if o["case_class"] not in st["exclude_classes"]]
    has_pp = all(o.get("patient_paid") is not None and o["patient_paid"] == o["patient_paid"]
                 for o in settled)
    ratio = dec(pv["reimbursement_ratio"])
    ypp = dec(priced[0]["yuan_per_point"]) if priced and math.isfinite(
        priced[0]["yuan_per_point"]) else ZERO
    scale = dec(w.points_scale)
    hosp = sorted({o["hospital_id"] for o in settled})
    pts, sr, tc, pp, sr_pts = (defaultdict(lambda: ZERO) for _ in range(5))
    for o in settled:
        h = o["hospital_id"]
        tc[h] += dec(o["total_cost"])
        pp[h] += dec(o["patient_paid"]) if has_pp else ZERO
        if o["sr_approved"]:
            sr[h] += o["sr_amount"]
        else:
            pts[h] += dec(o["points"])

    # budget and reserve (§8, §13: reserve = budget × rate rounded to the cent)
    b = st["budget"]
    if b["mode"] == "amount":
        budget = cents(b["amount"] if b["amount"] is not None else pv["budget"])
    else:
        prior = b["prior_year_actual"]
        if prior is None:
            prior = sum((tc[h] - pp[h] for h in hosp), ZERO) if has_pp else \
                sum((tc[h] for h in hosp), ZERO) * ratio
        budget = cents(dec(prior) * (1 + dec(b["growth"])))
    rate = st["reserve_rate"] if st["reserve_rate"] is not None else pv["reserve_rate"]
    reserve = cents(budget * dec(rate)) if pv["reserve_withheld"] else ZERO
    fund = budget - reserve
    with localcontext() as ctx:
        ctx.prec = 60
        if pv["pool"] == "fund_plus_patient_paid" and has_pp:
            pool = fund + sum((pp[h] for h in hosp), ZERO)
        else:
            pool = fund / ratio

        # the point value (§13: solved exactly with special-review money)
        conv = pol["special_review"]["conversion"]
        status = "ok"
        floating = st["point_value_mode"] == "floating"
        if conv != "settlement_pv":
            unit = ypp if conv == "budget_pv" else dec(w.region_mean) / scale
            for o in settled:
                if o["sr_approved"]:
                    sr_pts[o["hospital_id"]] += o["sr_amount"] / unit if unit > 0 else ZERO
            for h in hosp:
                sr[h] = ZERO
        rate_method = pol["method"] == "rate"
        if floating:
            total_sr = sum((sr[h] for h in hosp), ZERO)
            total_pts = sum((pts[h] + sr_pts[h] for h in hosp), ZERO)
            denom = total_pts / scale if rate_method else total_pts
            if total_sr > pool:
                status = "negative"
                exact = [sr[h] * pool / total_sr for h in hosp]
                for h, v in zip(hosp, largest_remainder(exact, _floor_cents(pool), hosp), strict=True):
                    sr[h] = v
                value = ZERO
            elif denom <= 0:
                status = "zero_points"
                value = ZERO
            else:
                value = (pool - total_sr) / denom
                if pv["rounding"] == "half_up":
                    value = half_up(value, pv["decimals"])
            per_point = value / scale if rate_method else value
        else:
            value = ypp * scale if rate_method else ypp
            per_point = ypp
        rounded_pv = floating and pv["rounding"] == "half_up"

        exact_ent = {}
        for h in hosp:
            v = (pts[h] + sr_pts[h]) * per_point + sr[h]
            exact_ent[h] = v - pp[h] if has_pp else v * ratio
        if floating and not rounded_pv and status == "ok":
            total = cents(sum(exact_ent.values(), ZERO))
            ent = dict(zip(hosp, largest_remainder([exact_ent[h] for h in hosp], total, hosp),
                           strict=True))
        else:
            ent = {h: cents(exact_ent[h]) for h in hosp}
        ffs = {h: cents(tc[h] - pp[h]) if has_pp else cents(tc[h] * ratio) for h in hosp}

        # tiers; sharing from the reserve, pro rata when the reserve cannot cover it
        raw_pay, recov, share = {}, {}, {}
        for h in hosp:
            base = ffs[h] if st["tier_ratio_base"] == "ffs" else ent[h]
            p, t = tier_parts(ffs[h], ent[h], base, st["tiers"])
            raw_pay[h], recov[h] = p, cents(t)
            share[h] = cents(p)
        total_share = sum(share.values(), ZERO)
        if total_share > reserve and st["sharing_beyond_reserve"] == "pro_rata":
            total_raw = sum(raw_pay.values(), ZERO)
            share = dict(zip(hosp, largest_remainder(
                [raw_pay[h] * reserve / total_raw for h in hosp], reserve, hosp), strict=True))

        # quality deposit and release (§8, §13)
        a = st["assessment"]
        sc = dict(a["scores"])
        sc.update(scores or {})
        dep, rel, final, adv, clear = {}, {}, {}, {}, {}
        month_pts: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
        month_pp: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
        for o in settled:
            if 1 <= o["month"] <= 12:
                month_pts[(o["hospital_id"], o["month"])] += dec(o["points"])
                if has_pp:
                    month_pp[(o["hospital_id"], o["month"])] += dec(o["patient_paid"])
        advances = {}
        for h in hosp:
            after = ent[h] + share[h] - recov[h]
            dbase = max(after, ZERO) if a["deposit_base"] == "after_tiers" else max(ent[h], ZERO)
            dep[h] = cents(dec(a["deposit_rate"]) * dbase)
            rel[h] = cents(dep[h] * release_share(sc.get(h, a["default_score"]), a))
            final[h] = after - dep[h] + rel[h]
            months = []
            for m in range(1, 13):
                v = month_pts[(h, m)] * ypp
                v = v - month_pp[(h, m)] if has_pp else v * ratio
                months.append(max(cents(dec(st["advance_ratio"]) * v), ZERO))
            advances[h] = months
            adv[h] = sum(months, ZERO)
            clear[h] = final[h] - adv[h]

    paid = sum(final.values(), ZERO)
    sharing = sum(share.values(), ZERO)
    forfeit = sum((dep[h] - rel[h] for h in hosp), ZERO)
    kept = max(reserve - sharing, ZERO)
    if a["forfeited"] == "reserve":
        kept += forfeit
    summary = {
        "point_value": value, "point_value_status": status, "budget": budget,
        "reserve": reserve, "fund": fund, "paid": paid, "reserve_kept": kept,
        "returned": budget - paid - kept, "sharing": sharing,
        "recovered": sum(recov.values(), ZERO), "advances": sum(adv.values(), ZERO),
    }
    cmi_n: dict[str, int] = defaultdict(int)
    cmi_s: dict[str, float] = defaultdict(float)
    for o in priced:
        if o["group_known"] and o["case_class"] != "ungroupable":
            cmi_n[o["hospital_id"]] += 1
            cmi_s[o["hospital_id"]] += o["base_points"] / w.points_scale
    hospitals = {h: {
        "ffs_amount": ffs[h], "entitlement": ent[h], "sharing": share[h], "recovered": recov[h],
        "tier_adjustment": share[h] - recov[h], "deposit": dep[h], "release": rel[h],
        "final_amount": final[h], "advances": adv[h], "clearing": clear[h],
        "sr_amount": sr[h], "cmi": cmi_s[h] / cmi_n[h] if cmi_n[h] else math.nan,
    } for h in hosp}
    return {"summary": summary, "hospitals": hospitals, "advances": advances}


def _floor_cents(x: Decimal) -> Decimal:
    from .money import floor_int

    return Decimal(floor_int(x * 100)) / 100
