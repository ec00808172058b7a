"""Reference special case review (特例单议, §6, §13): eligibility, quota, selection, re-pricing."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from .money import ceil_int, cents, dec, exact, floor_int, half_up_int
from .weights import RefWeights


@exact
def quota(base: int, rate: float, rounding: str = "floor") -> int:
    """rate × base in exact decimals, rounded by ``rounding`` (floor / half_up / ceiling)."""
    x = dec(rate) * base
    return {"floor": floor_int, "half_up": half_up_int, "ceiling": ceil_int}[rounding](x)


def period_of(month: int, period: str) -> int:
    if period == "quarter":
        return (month - 1) // 3 + 1 if month > 0 else 0
    if period == "month":
        return month
    return 1


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "y", "t", "是")
    return bool(v) and v == v


def reasons(case: dict[str, Any], o: dict[str, Any], w: RefWeights, pol: dict[str, Any]) -> list[str]:
    """Eligibility rules a case meets (§6, boundaries §13); LOS-excluded stays never qualify."""
    sp = pol["special_review"]
    if o["case_class"] == "excluded":
        return []
    out = []
    cost, los = case["total_cost"], case["los"]
    grp = w.groups.get(case.get("drg") or "") if o["group_known"] else None
    if sp["los_limit"] is not None and los > sp["los_limit"]:
        out.append("los")
    if sp["cost_multiple"] is not None and grp is not None and \
            cost >= sp["cost_multiple"] * grp["mean_cost"]:
        out.append("cost_multiple")  # §13: the group's own region mean, not RW × all-case mean
    bw, age = case.get("birth_weight"), case.get("age_days")
    if sp["newborn_max_weight_g"] is not None and bw is not None and bw == bw \
            and age is not None and age == age and age <= sp["newborn_max_age_days"] \
            and bw < sp["newborn_max_weight_g"] and grp is not None \
            and cost >= sp["newborn_region_multiple"] * w.region_mean \
            and cost >= sp["newborn_group_multiple"] * grp["mean_cost"]:
        out.append("newborn")
    if sp["new_tech"] and (_truthy(case.get("new_tech")) or (case.get("new_tech_cost") or 0) > 0):
        out.append("new_tech")
    if sp["ungroupable"] and o["case_class"] == "ungroupable":
        out.append("ungroupable")
    if sp["small_groups"] and grp is not None and grp["small"]:
        out.append("small_group")
    if pol["kind"] == "dip" and sp["dip_review"] and o["r"] > pol["deviation"]["review"]:
        out.append("dip_review")
    if sp["icu"] and _truthy(case.get("icu")):
        out.append("icu")
    return out


@exact
def review(cases: list[dict[str, Any]], out: list[dict[str, Any]], w: RefWeights,
           pol: dict[str, Any], ypp: float) -> None:
    """Fill ``sr_candidate, sr_reasons, sr_applied, sr_approved, sr_period, sr_amount`` (Decimal,
    unrounded re-priced yuan, 0 unless approved) and ``sr_gain`` (yuan, to the cent) on ``out``
    in place."""
    sp = pol["special_review"]
    for o in out:
        o.update(sr_candidate=False, sr_reasons=[], sr_applied=False, sr_approved=False,
                 sr_amount=Decimal(0), sr_gain=Decimal(0))
    if not sp["enabled"]:
        return
    base: dict[tuple, int] = defaultdict(int)
    cells: dict[tuple, list[int]] = defaultdict(list)
    for i, (c, o) in enumerate(zip(cases, out, strict=True)):
        key = (c["hospital_id"], c.get("year", 0), period_of(o["month"], sp["quota_period"]))
        o["sr_period"] = key[2]
        if o["case_class"] != "excluded":
            base[key] += 1
        rs = reasons(c, o, w, pol)
        o["sr_reasons"] = rs
        o["sr_candidate"] = bool(rs)
        if not rs:
            continue
        if sp["repricing"] == "fee_for_service":
            amount = dec(c["total_cost"]) * (1 - dec(sp["deduction_share"]))
        else:
            amount = dec(o["points"]) * dec(sp["review_coefficient"]) * dec(ypp)
        o["_amount"] = amount
        # §13: gain at the budget point value, after the deduction, in money (to the cent: an
        # ungroupable case's fee-for-service points × budget PV = its cost, a gain of 0, not of
        # the 1e-11 yuan float noise leaves)
        o["sr_gain"] = cents(amount - dec(o["points"]) * dec(ypp))
        if o["sr_gain"] > 0:
            cells[key].append(i)
    for key, idx in cells.items():
        idx.sort(key=lambda i: (-out[i]["sr_gain"], str(out[i]["case_id"])))
        q = quota(base[key], sp["quota_rate"], sp["quota_rounding"])
        applied = idx[:q]
        n_ok = quota(len(applied), sp["approval_rate"], "floor")
        for rank, i in enumerate(applied):
            out[i]["sr_applied"] = True
            if rank < n_ok:
                out[i]["sr_approved"] = True
                out[i]["sr_amount"] = out[i]["_amount"]
