"""Independent plain-Python reference of domain.md §9 patient cost-sharing, in ``decimal``.

Imports nothing from ``payment``: the policy is a plain nested dict (``BenefitPolicy.model_dump()``
or written by hand), cases a list of dicts. Written from the text of §9, case by case, person-year
by person-year; slow on purpose.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ASSIST = ("tekun", "dibao", "dibian", "fanpin")


def D(x) -> Decimal:  # noqa: N802
    return Decimal(repr(float(x))) if isinstance(x, float) else Decimal(x)


def money(x) -> Decimal:
    return D(x).quantize(CENT, rounding=ROUND_HALF_UP)


def clip01(r: Decimal) -> Decimal:
    return min(Decimal(1), max(Decimal(0), r))


def basic_ratio(pol: dict, ins: str, level: int, cat: str, ooa: str, irregular: bool,
                r: Decimal) -> Decimal:
    rp = pol["ratio"]
    if cat == "retiree":
        r = 1 - (1 - r) * D(rp["retiree_share_factor"])
    if cat == "minor":
        r += D(rp["minor_points"])
    if ooa == "filed":
        r += D(rp["filed_points"])
    if ooa == "unfiled":
        r += D(rp["unfiled_points"])
    if irregular:
        r += D(rp["irregular_points"])
    return clip01(r)


def critical_f(a: Decimal, ded: Decimal, bands: list[tuple[Decimal | None, Decimal]]) -> Decimal:
    total = Decimal(0)
    lo = ded
    for upto, ratio in bands:
        hi = upto if upto is not None else a
        hi_eff = max(hi, lo)
        part = max(Decimal(0), min(a, hi_eff) - lo)
        total += ratio * part
        lo = hi_eff
    return money(total)


def share_person_year(cases: list[dict], pol: dict) -> list[dict]:
    """§9 on one person-year's cases, already in discharge order."""
    out = []
    basic_paid = crit_paid = asst_paid = sn_paid = Decimal(0)
    acc_a = acc_b = Decimal(0)
    prev_ded: Decimal | None = None
    factors = [D(f) for f in pol["deductible"]["rank_factors"]]
    for rank, c in enumerate(cases):
        ins, lv, cat = c["insurance"], int(c["hospital_level"]), c.get("category") or "general"
        ref, ooa = c.get("referral") or "none", c.get("out_of_area") or "local"
        total = money(c["total_cost"])
        sp = min(money(c.get("self_pay") or 0), total)
        psp = min(money(c.get("partial_self_pay") or 0), total - sp)
        compliant = total - sp - psp
        # deductible
        f = factors[min(rank, len(factors) - 1)]
        d = money(D(pol["deductible"][ins][lv - 1]) * f)
        if ref == "up" and prev_ded is not None:
            d = max(Decimal(0), d - prev_ded)
        elif ref == "down":
            d = Decimal(0)
        ded = min(d, compliant)
        eligible = compliant - ded
        irregular = ref == "irregular"
        bands = pol["ratio"]["bands"]
        if bands:
            raw = Decimal(0)
            lo = Decimal(0)
            for b in bands:
                hi = D(b["upto"]) if b["upto"] is not None else eligible
                part = max(Decimal(0), min(eligible, hi) - lo)
                raw += basic_ratio(pol, ins, lv, cat, ooa, irregular, D(b["ratio"])) * part
                lo = max(lo, hi)
            r_first = basic_ratio(pol, ins, lv, cat, ooa, irregular, D(bands[0]["ratio"]))
        else:
            r_first = basic_ratio(pol, ins, lv, cat, ooa, irregular,
                                  D(pol["ratio"][ins][lv - 1]))
            raw = r_first * eligible
        cap = D(pol["basic"][f"{ins}_cap"])
        basic = min(money(raw), max(Decimal(0), cap - basic_paid))
        basic_paid += basic
        # critical illness
        crit = Decimal(0)
        cp = pol["critical"]
        scheme = cp[ins]
        if scheme["enabled"]:
            base = compliant - basic + (psp if cp["base_includes_partial_self_pay"] else 0)
            tilt = cat in cp["tilt_categories"]
            cded = D(scheme["deductible"])
            if scheme["income"] is not None:
                cded = money(D(scheme["income_share"]) * D(scheme["income"]))
            if tilt:
                cded = money(cded * D(cp["tilt_deductible_factor"]))
            pts = D(cp["tilt_points"]) if tilt else Decimal(0)
            cb = [(D(b["upto"]) if b["upto"] is not None else None, clip01(D(b["ratio"]) + pts))
                  for b in scheme["bands"]]
            a0, acc_a = acc_a, acc_a + base
            crit = critical_f(acc_a, cded, cb) - critical_f(a0, cded, cb)
            if not (tilt and cp["tilt_no_cap"]):
                crit = min(crit, max(Decimal(0), D(scheme["cap"]) - crit_paid))
            crit_paid += crit
        # medical assistance
        asst = Decimal(0)
        if cat in ASSIST:
            s = pol["assistance"][cat]
            b0, acc_b = acc_b, acc_b + max(Decimal(0), compliant - basic - crit)
            ad = D(s["deductible"])
            part = max(Decimal(0), acc_b - ad) - max(Decimal(0), b0 - ad)
            asst = min(money(D(s["ratio"]) * part), max(Decimal(0), D(s["cap"]) - asst_paid))
            asst_paid += asst
        # safety net
        sn = Decimal(0)
        snp = pol["safety_net"]
        if snp["enabled"] and cat in snp["categories"]:
            burden = max(Decimal(0), compliant - basic - crit - asst)
            tier = "province" if ooa != "local" else ("city" if lv == 3 else "county")
            pays = min(burden, max(Decimal(0), D(snp[tier]) - sn_paid))
            sn = burden - pays
            sn_paid += pays
        prev_ded = ded
        oop = sp + psp + (compliant - basic - crit - asst - sn)
        out.append({"case_id": c["case_id"], "compliant": compliant, "deductible": ded,
                    "basic": basic, "critical": crit, "assistance": asst, "safety_net": sn,
                    "oop": oop, "ratio": r_first, "total": total})
    return out


def naive_cost_sharing(cases: list[dict], pol: dict) -> list[dict]:
    """All cases: group by (patient_id, year), order by (discharge_date, str(case_id))."""
    groups: dict = defaultdict(list)
    for c in cases:
        year = int(str(c["discharge_date"])[:4]) if "discharge_date" in c else int(c["year"])
        groups[(str(c["patient_id"]), year)].append(c)
    result = {}
    for items in groups.values():
        items.sort(key=lambda c: (str(c.get("discharge_date", "")), str(c["case_id"])))
        for row in share_person_year(items, pol):
            result[row["case_id"]] = row
    return [result[c["case_id"]] for c in cases]
