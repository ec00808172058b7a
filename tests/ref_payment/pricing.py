"""Reference case classes and points (§5 in the §13 order), readmission (§5, §13).

A case is a dict with ``case_id, hospital_id, hospital_level, drg, total_cost, los,
discharge_mode, month`` and optionally ``status, year, patient_id, admission_date,
discharge_date`` (ISO text), ``patient_paid``, ``birth_weight``, ``age_days``, ``new_tech``,
``new_tech_cost``, ``icu``. Points are floats (compared to 1e-9 relative); money is Decimal.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

from .money import cents, dec, exact
from .policy import high_threshold
from .weights import NO_GROUP, RefWeights, aux_factor, is_bed_group


def coefficient_of(case: dict[str, Any], w: RefWeights, pol: dict[str, Any]) -> float:
    """§4: the hospital's (or level's) coefficient in the case's group; new group → new_group."""
    cp = pol["coefficients"]
    g = case.get("drg") or ""
    if cp["mode"] == "none":
        return 1.0
    if cp["mode"] == "hospital":
        row = w.hospital_groups.get((case["hospital_id"], g))
    else:
        row = w.level_groups.get((int(case["hospital_level"]), g))
    return float(row["coefficient"]) if row else float(cp["new_group"])


def comparison_mean(case: dict[str, Any], g: str, w: RefWeights, pol: dict[str, Any]) -> float:
    """The r denominator. DRG: the group's region mean (option: its mean at the hospital's
    level). DIP (§5): the group's previous-year mean at the hospital's level, else its
    previous-year mean over all levels, else its weighted mean (option ``weighted``: the
    level's weighted mean, else the group's); ``comparison_base = "region"`` skips the level."""
    grp = w.groups[g]
    dip = pol["kind"] == "dip"
    base = pol["deviation"]["comparison_base"] if dip else pol["outliers"]["comparison_base"]
    lv = w.level_groups.get((int(case["hospital_level"]), g)) if base == "same_level" else None
    col = "prev_year_mean" if dip and pol["deviation"]["comparison_years"] == "previous_year" \
        else "mean_cost"
    for row in (lv, grp if col == "prev_year_mean" else None):
        if row is not None and row[col] > 0:
            return row[col]
    return grp["mean_cost"]


@exact
def classify(case: dict[str, Any], w: RefWeights, pol: dict[str, Any]) -> dict[str, Any]:
    """Class, r, base points, coefficient and points (before readmission) of one case."""
    cost, los = case.get("total_cost"), case.get("los")
    g = case.get("drg") or ""
    ic = pol["input_checks"]
    out = {"case_class": "excluded", "r": math.nan, "base_points": math.nan,
           "coefficient": coefficient_of(case, w, pol), "points": 0.0, "group_known": False}
    if cost is None or not (0 <= cost <= ic["max_cost"]) or los is None \
            or not (0 <= los <= ic["max_los"]):
        return out
    status = case.get("status") or "SUCCESS"
    grp = w.groups.get(g) if g not in NO_GROUP else None
    out["group_known"] = grp is not None
    if grp is not None:
        out["base_points"] = grp["base_points"]
    coef = out["coefficient"]
    bd = pol["bed_day"]
    if status == "SUCCESS" and is_bed_group(g, pol) and (grp is not None or g in bd["daily_points"]):
        daily = bd["daily_points"].get(g, grp["daily_points"] if grp else math.nan)
        if not math.isnan(daily):
            out["case_class"] = "bed_day"
            out["points"] = daily * los * (coef if bd["with_coefficient"] else 1.0)
            if grp is not None and grp["mean_cost"] > 0:
                out["r"] = cost / grp["mean_cost"]
            return out
    ex = pol["exclusions"]
    if (ex["los_min"] is not None and los <= ex["los_min"]) or (
            ex["los_max"] is not None and los >= ex["los_max"]):
        return out  # LOS-excluded: paid outside DRG
    if status != "SUCCESS" or grp is None or not grp["mean_cost"] > 0:
        out["case_class"] = "ungroupable"
        unit = w.region_mean / w.points_scale  # nan when no history case was kept: 0 points
        if pol["ungroupable"]["points"] == "fee_for_service" and unit > 0:
            out["points"] = cost / unit
        return out
    dip = pol["kind"] == "dip"
    base = grp["base_points"] * aux_factor(case, pol)  # §7: DIP score × aux coefficient
    mean = comparison_mean(case, g, w, pol)
    r = cost / mean
    out["r"] = r
    ol = pol["outliers"]
    dv = pol["deviation"]
    thr = high_threshold(pol, base)
    high = r > dv["high"] if dip else (ol["enabled"] and r >= thr)
    inc = pol["incomplete"]
    incomplete = inc["enabled"] and (
        case.get("discharge_mode") in inc["discharge_modes"]
        or (inc["max_los"] is not None and los <= inc["max_los"]))
    if incomplete and not (ol["high_over_incomplete"] and high):
        pts = base * r * (coef if inc["with_coefficient"] else 1.0)
        if inc["cap_at_base_points"]:
            pts = min(pts, base)
        out.update(case_class="incomplete", points=pts)
    elif dip:  # §5: score × r, score, score × (r − 1); coefficient on deviation: an option
        kd = coef if dv["with_coefficient"] else 1.0
        if r < dv["low"]:
            out.update(case_class="low", points=base * kd * r)
        elif r > dv["high"]:
            out.update(case_class="high", points=base * kd * (r - 1.0))
        else:
            out.update(case_class="normal", points=base * coef)
    elif high:
        out.update(case_class="high", points=base * coef + base * (r - thr))
    elif ol["enabled"] and r <= ol["low_multiple"]:
        if ol["low_rule"] == "full":
            pts = base * coef
        elif ol["low_with_coefficient"]:
            pts = base * coef * r
        else:
            pts = base * r
        out.update(case_class="low", points=pts)
    else:
        out.update(case_class="normal", points=base * coef)
    return out


def readmissions(cases: list[dict[str, Any]], classes: list[dict[str, Any]],
                 pol: dict[str, Any]) -> list[bool]:
    """§13: a patient's stays by discharge date; a stay is penalised when the patient's next stay
    (same hospital if the policy says so) is in the same group and starts 0 … N days after its
    discharge; excluded and ungrouped stays are never penalised; once per stay."""
    rd = pol["readmission"]
    flags = [False] * len(cases)
    if not rd["enabled"]:
        return flags
    by_p: dict[tuple, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        if c.get("patient_id") and c.get("admission_date") and c.get("discharge_date"):
            key = (c["patient_id"], c["hospital_id"]) if rd["same_hospital"] else (c["patient_id"],)
            by_p[key].append(i)
    day = dt.date.fromisoformat
    for idx in by_p.values():
        idx.sort(key=lambda i: (day(cases[i]["discharge_date"]), day(cases[i]["admission_date"]), i))
        for a, b in zip(idx, idx[1:], strict=False):
            ca, cb = cases[a], cases[b]
            g = ca.get("drg") or ""
            if classes[a]["case_class"] in ("excluded", "ungroupable") or not classes[a]["group_known"]:
                continue
            if g != (cb.get("drg") or "") or not classes[b]["group_known"]:
                continue
            if g in rd["exempt_groups"] or any(g.startswith(p) for p in rd["exempt_prefixes"]):
                continue
            gap = (day(cb["admission_date"]) - day(ca["discharge_date"])).days
            if 0 <= gap <= rd["window_days"]:
                flags[a] = True
    return flags


def yuan_per_point(w: RefWeights, pol: dict[str, Any], total_points: float) -> float:
    """Provisional yuan per point (§4): fixed, the history budget PV, or budget ÷ Σ points."""
    pv = pol["point_value"]
    if pv["source"] == "fixed":
        if pol["method"] == "rate":
            return float(pv["base_rate"]) / w.points_scale
        return float(pv["value"])
    if pv["source"] == "history":
        return w.budget_pv
    if total_points <= 0:
        return math.nan
    fund = dec(pv["budget"])
    if pv["reserve_withheld"]:
        fund -= cents(dec(pv["budget"]) * dec(pv["reserve_rate"]))
    return float(fund / dec(pv["reimbursement_ratio"]) / dec(total_points))


@exact
def ref_price(cases: list[dict[str, Any]], w: RefWeights, pol: dict[str, Any]) -> list[dict[str, Any]]:
    """Price every case: class, r, base points, coefficient, points, payment (yuan, cents) and
    the special-review columns (see :mod:`.review`)."""
    from .review import review

    out = [classify(c, w, pol) for c in cases]
    pen = readmissions(cases, out, pol)
    for o, p in zip(out, pen, strict=True):
        if p:
            o["points"] *= pol["readmission"]["factor"]
            o["case_class"] = "readmission"
    ypp = yuan_per_point(w, pol, math.fsum(o["points"] for o in out))
    for c, o in zip(cases, out, strict=True):
        o["case_id"] = c["case_id"]
        o["hospital_id"] = c["hospital_id"]
        o["month"] = int(c.get("month") or 0)
        o["total_cost"] = c["total_cost"]
        o["patient_paid"] = c.get("patient_paid")
        o["yuan_per_point"] = ypp
        if o["case_class"] == "excluded":
            o["payment"] = (cents(c["total_cost"]) if pol["exclusions"]["payment"] == "fee_for_service"
                            else cents(0))
        else:
            o["payment"] = cents(dec(o["points"]) * dec(ypp))
    review(cases, out, w, pol, ypp)
    return out
