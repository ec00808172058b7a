"""The preview answer, built once from columns, for one case and for a batch alike.

Grouping is :mod:`grouper.engine`'s own (``encode_inputs`` holds the input checks,
``run_kernel`` the kernel, ``result_ids`` the decoding); pricing is
:class:`payment.prepared.PreparedPrices` (the lookups, kernels and rounding of
:func:`payment.price`). One case skips only the DataFrame: its fields go straight into the
same functions as one-element columns. A batch is priced by :func:`payment.price` itself
(with the prepared lookups), since its cases may meet the readmission rule together; a case
alone never has a readmission partner, and the service never uses a budget point value, so
the two give the same answer for the same case (``tests/test_service.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .models import CaseIn

NAN = float("nan")


@dataclass
class Grouping:
    """Where each case lands, as lists (input order)."""

    case_id: list[str]
    status: list[str]
    mdc: list[str]
    adrg: list[str]
    drg: list[str]
    warnings: list[list[str]]


@dataclass
class DipGrouping:
    """Where each case lands in the DIP catalogue (:func:`grouper.dip.group` columns)."""

    status: list[str]
    dip_group: list[str]
    dip_type: list[str]
    score: np.ndarray
    aux_level: list[str]
    aux_coefficient: np.ndarray
    final_score: np.ndarray


@dataclass
class Priced:
    """The ``payment.price`` fields the answer reports, one array or list per field."""

    group: list[str]  # the priced group (DRG, or DIP group)
    case_class: list[str]
    class_reason: list[str]
    r: np.ndarray
    base_points: np.ndarray
    coefficient: np.ndarray
    points: np.ndarray
    payment: np.ndarray
    gain: np.ndarray
    small_group: list[bool]
    sr_reasons: list[str]
    cmp_mean: np.ndarray  # the r denominator, yuan
    high_multiple: np.ndarray
    total_cost: np.ndarray


def _f(v: float | int | None) -> float:
    return NAN if v is None else float(v)


def _grouping(scheme: Any, ids: list[str], arrays: dict, status: np.ndarray,
              warns: dict[int, list[str]], threads: int) -> Grouping:
    from grouper.engine import STATUSES, engine_for, result_ids, run_kernel

    e = engine_for(scheme)
    st, ridx = result_ids(scheme, run_kernel(arrays, scheme, threads), status)
    n = len(ids)
    return Grouping(
        case_id=ids, status=[STATUSES[k] for k in st.tolist()],
        mdc=e.res_mdc[ridx].tolist(), adrg=e.res_adrg[ridx].tolist(),
        drg=e.res_drg[ridx].tolist(),
        warnings=[warns.get(k, []) for k in range(n)] if warns else [[] for _ in range(n)])


def group_one(scheme: Any, case: CaseIn, case_id: str) -> Grouping:
    """:func:`grouper.group` (default mode) of one case, without a DataFrame."""
    from grouper.engine import NUM_FIELDS, dept_ids, encode_inputs

    nums = np.array([_f(getattr(case, f)) for f in NUM_FIELDS], dtype=np.float64)
    arrays, status, warns = encode_inputs(
        ["|".join(case.diagnoses)], ["|".join(case.procedures)], nums.reshape(-1, 1),
        dept_ids([case.dept], scheme, [case.discharge_mode]), scheme)
    return _grouping(scheme, [case_id], arrays, status, warns, 1)


def group_frame(scheme: Any, frame: pd.DataFrame, threads: int) -> Grouping:
    """:func:`grouper.group` of a canonical case table."""
    from grouper.engine import encode_cases

    arrays, status, warns = encode_cases(frame, scheme)
    return _grouping(scheme, frame["case_id"].tolist(), arrays, status, warns, threads)


def dip_group(compiled: Any, frame: pd.DataFrame) -> DipGrouping:
    """:func:`grouper.dip.group` of a canonical case table into a compiled catalogue."""
    from grouper.dip.group import group_frame

    d = group_frame(frame, compiled)
    return DipGrouping(
        status=d["status"].astype(str).tolist(), dip_group=d["dip_group"].astype(str).tolist(),
        dip_type=d["dip_type"].astype(str).tolist(), score=d["score"].to_numpy(np.float64),
        aux_level=d["aux_level"].astype(str).tolist(),
        aux_coefficient=d["aux_coefficient"].to_numpy(np.float64),
        final_score=d["final_score"].to_numpy(np.float64))


def price_one(prep: Any, yuan_per_point: float, case: CaseIn, status: str, group: str,
              aux: np.ndarray | None = None) -> Priced:
    """:func:`payment.price` of one grouped case (``status``, ``group`` from the grouper;
    ``aux``: the DIP grouper's auxiliary coefficient, one float64)."""
    from payment.outliers import CLASSES, REASONS
    from payment.pricing import status_codes
    from payment.special_review import reason_text

    # one array per dtype; each input is a one-element view of it
    f = np.array([_f(case.total_cost), _f(case.los), _f(case.birth_weight), _f(case.age_days),
                  _f(case.new_tech_cost)])
    i = np.array([0 if case.hospital_level is None else case.hospital_level,
                  -1 if case.discharge_mode is None else case.discharge_mode], np.int64)
    t = np.array([group, case.hospital_id or "", status], dtype=object)
    b = np.array([bool(case.new_tech), bool(case.icu)])
    cost = f[0:1]
    out = prep.price_alone(
        t[0:1], t[1:2], i[0:1], cost, f[1:2], i[1:2],
        status_codes(t[2:3]), yuan_per_point,
        birth_weight=f[2:3], age_days=f[3:4], new_tech=b[0:1], new_tech_cost=f[4:5],
        icu=b[1:2], aux=aux)
    return Priced(
        group=[group], case_class=[CLASSES[int(out["case_class"][0])]],
        class_reason=[REASONS[int(out["class_reason"][0])]],
        r=out["r"], base_points=out["base_points"], coefficient=out["coefficient"],
        points=out["points"], payment=out["payment"], gain=out["gain"],
        small_group=out["small_group"].tolist(), sr_reasons=reason_text(out["sr_mask"]),
        cmp_mean=out["cmp_mean"], high_multiple=out["high_multiple"], total_cost=cost)


def price_frame(prep: Any, frame: pd.DataFrame, status: list[str], group: list[str],
                aux: np.ndarray | None = None) -> Priced:
    """:func:`payment.price` of a grouped case table (the prepared lookups reused; ``aux``:
    the DIP grouper's auxiliary coefficients)."""
    import payment
    from payment.pricing import AUX_COLUMN

    p = prep.policy
    extra = {AUX_COLUMN: aux} if aux is not None else {}
    priced = payment.price(frame.assign(status=status, **{p.group_col: group}, **extra),
                           prep.weights, p, prepared=prep)
    lk = prep.lookups(priced["group"], priced["hospital_id"], priced["hospital_level"]
                      .to_numpy(np.int64))
    return Priced(
        group=list(group), case_class=priced["case_class"].astype(str).tolist(),
        class_reason=priced["class_reason"].astype(str).tolist(),
        r=priced["r"].to_numpy(), base_points=priced["base_points"].to_numpy(),
        coefficient=priced["coefficient"].to_numpy(), points=priced["points"].to_numpy(),
        payment=priced["payment"].to_numpy(), gain=priced["gain"].to_numpy(),
        small_group=priced["small_group"].astype(bool).tolist(),
        sr_reasons=priced["sr_reasons"].astype(str).tolist(), cmp_mean=lk.cmp_mean,
        high_multiple=prep.high_multiple(lk.group), total_cost=priced["total_cost"].to_numpy())


# ---- JSON-ready values ---------------------------------------------------------------------------


def clean(x: Any) -> Any:
    """JSON-safe number: nan / inf -> None, numpy scalars -> Python."""
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def finite(a: Any, missing: float | None = None) -> list[Any]:
    """A float column as a list: non-finite values (nan, inf) -> ``missing``.

    ``finite(a)[k] == clean(a[k])`` and ``finite(a, 0.0)[k] == (clean(a[k]) or 0.0)``.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.size <= 4:  # one case: plain floats beat a round of numpy calls
        isf = math.isfinite
        if missing == 0.0:
            return [v if v and isf(v) else 0.0 for v in a.tolist()]
        return [v if isf(v) else missing for v in a.tolist()]
    ok = np.isfinite(a)
    if missing == 0.0:
        ok &= a != 0.0  # `x or 0.0` turns -0.0 into 0.0 too
    if ok.all():
        return a.tolist()
    obj = a.astype(object)
    obj[~ok] = missing
    return obj.tolist()


def finite_array(a: Any, missing: float | None = None) -> np.ndarray:
    """:func:`finite` as a float64 array for orjson (nan / inf are written as null): with
    ``missing=0.0`` non-finite values and -0.0 become 0.0, as ``finite`` gives."""
    a = np.asarray(a, dtype=np.float64)
    if missing == 0.0:
        return np.where(np.isfinite(a) & (a != 0.0), a, 0.0)
    return a


def money(x: np.ndarray) -> list[float | None]:
    """Yuan rounded to the cent for display (thresholds are estimates, not payments).

    ``round(v, 2)`` (Python's, exact on the decimal value) once per distinct value: the
    thresholds repeat per group."""
    x = np.asarray(x, dtype=np.float64)
    if x.size <= 4:
        return [None if v is None else round(v, 2) for v in finite(x)]
    uniq, inv = np.unique(x, return_inverse=True)  # nan sorts last, kept once per nan
    vals = np.array([None if v is None else round(v, 2) for v in finite(uniq)], dtype=object)
    return vals[inv.ravel()].tolist()


# ---- the answer ----------------------------------------------------------------------------------


def answer_columns(g: Grouping, names: Any, policy: Any = None, prep: Any = None,
                   rw: dict[str, Any] | None = None, pr: Priced | None = None,
                   yuan_per_point: float = NAN, dip: DipGrouping | None = None,
                   arrays: bool = False) -> dict[str, Any]:
    """Every answer field as one list per field, in input order (dotted below the top level:
    ``group.drg``, ``payment.points``, ``thresholds.high_cost``); the pricing keys only with
    ``pr``, the ``dip.*`` keys only with ``dip`` (whose status is then the answer's).
    Values are JSON-ready (``None`` for a missing or non-finite number); with ``arrays`` the
    plain float fields stay float64 arrays (for ``orjson.OPT_SERIALIZE_NUMPY``, which writes
    nan and inf as null: the same JSON, without a Python float per case)."""
    nm = names
    fin = finite_array if arrays else finite
    out: dict[str, list[Any]] = {
        "case_id": g.case_id, "status": g.status,
        "group.mdc": g.mdc, "group.mdc_name": [nm.mdc.get(x) for x in g.mdc],
        "group.adrg": g.adrg, "group.adrg_name": [nm.adrg.get(x) for x in g.adrg],
        "group.drg": g.drg, "group.drg_name": [nm.drg.get(x) for x in g.drg],
        "warnings": g.warnings,
    }
    if dip is not None:
        out["status"] = dip.status
        out.update({
            "dip.dip_group": dip.dip_group, "dip.dip_type": dip.dip_type,
            "dip.score": fin(dip.score), "dip.aux_level": dip.aux_level,
            "dip.aux_coefficient": fin(dip.aux_coefficient),
            "dip.final_score": fin(dip.final_score),
        })
    if pr is None:
        return out
    p = policy
    n = len(g.case_id)
    dip = p.kind == "dip"
    weight = {d: clean(rw.get(d)) for d in set(pr.group)}
    out.update({
        "payment.policy": [p.name] * n,
        "payment.case_class": pr.case_class,
        "payment.class_reason": pr.class_reason,
        "payment.r": fin(pr.r),
        "payment.weight": [weight[d] for d in pr.group],
        "payment.base_points": fin(pr.base_points),
        "payment.coefficient": fin(pr.coefficient),
        "payment.points": fin(pr.points, 0.0),
        "payment.point_value": [clean(yuan_per_point)] * n,
        "payment.point_value_source": [p.point_value.source] * n,
        "payment.payment": fin(pr.payment, 0.0),
        "payment.gain": fin(pr.gain, 0.0),
        "payment.small_group": pr.small_group,
    })
    # thresholds: null for a case whose group has no finite comparison mean
    cmp_mean, high, low = pr.cmp_mean, pr.high_multiple, prep.low_multiple()
    mean = finite(cmp_mean)
    cost = finite(pr.total_cost)
    high_cost = money(high * cmp_mean)
    low_cost = money(low * cmp_mean)
    has = [m is not None for m in mean]
    out.update({
        "thresholds.group_mean_cost": money(cmp_mean),
        "thresholds.high_multiple": [h if ok else None
                                     for h, ok in zip(finite(high), has, strict=True)],
        "thresholds.high_cost": [h if ok else None for h, ok in zip(high_cost, has, strict=True)],
        "thresholds.yuan_to_high": [
            None if not ok or h is None or c is None else round(h - c, 2)
            for h, c, ok in zip(high_cost, cost, has, strict=True)],
        "thresholds.low_multiple": [clean(low) if ok else None for ok in has],
        "thresholds.low_cost": [lc if ok else None for lc, ok in zip(low_cost, has, strict=True)],
        "thresholds.yuan_above_low": [
            None if not ok or lc is None or c is None else round(c - lc, 2)
            for lc, c, ok in zip(low_cost, cost, has, strict=True)],
        "thresholds.high_inclusive": [(not dip) if ok else None for ok in has],
    })
    out["special_review.eligible"] = [bool(r) for r in pr.sr_reasons]
    out["special_review.reasons"] = [r.split("|") if r else [] for r in pr.sr_reasons]
    return out


def rows(cols: dict[str, list[Any]], names: Any) -> list[dict[str, Any]]:
    """The per-case answers (the ``PreviewOut`` shape) from :func:`answer_columns`.

    Sub-objects that only depend on the group (``group``) are shared between the rows that
    have the same group: treat the answers as read-only.
    """
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    keys = list(zip(cols["group.mdc"], cols["group.adrg"], cols["group.drg"], strict=True))
    for key in keys:
        if key not in groups:
            mdc, adrg, drg = key
            groups[key] = {"mdc": mdc, "mdc_name": names.mdc.get(mdc), "adrg": adrg,
                           "adrg_name": names.adrg.get(adrg), "drg": drg,
                           "drg_name": names.drg.get(drg)}
    group = [groups[k] for k in keys]
    if "payment.policy" not in cols:
        out = [{"case_id": i, "status": s, "group": gr, "warnings": w, "payment": None,
                "thresholds": None, "special_review": None, "explanation": None}
               for i, s, gr, w in zip(cols["case_id"], cols["status"], group,
                                      cols["warnings"], strict=True)]
        return _with_dip(out, cols)
    pay = [{"policy": po, "case_class": cc, "class_reason": cr, "r": r, "weight": w,
            "base_points": bp, "coefficient": co, "points": pt, "point_value": pv,
            "point_value_source": src, "payment": pm, "gain": gn, "small_group": sg}
           for po, cc, cr, r, w, bp, co, pt, pv, src, pm, gn, sg in zip(
               *(cols["payment." + f] for f in (
                   "policy", "case_class", "class_reason", "r", "weight", "base_points",
                   "coefficient", "points", "point_value", "point_value_source", "payment",
                   "gain", "small_group")), strict=True)]
    thr = [None if gm is None else {
        "group_mean_cost": gm, "high_multiple": hm, "high_cost": hc, "yuan_to_high": th,
        "low_multiple": lm, "low_cost": lc, "yuan_above_low": al, "high_inclusive": hi}
        for gm, hm, hc, th, lm, lc, al, hi in zip(
            *(cols["thresholds." + f] for f in (
                "group_mean_cost", "high_multiple", "high_cost", "yuan_to_high",
                "low_multiple", "low_cost", "yuan_above_low", "high_inclusive")),
            strict=True)]
    out = [{"case_id": i, "status": s, "group": gr, "warnings": w, "payment": pm,
            "thresholds": th, "special_review": {"eligible": el, "reasons": rs},
            "explanation": None}
           for i, s, gr, w, pm, th, el, rs in zip(
               cols["case_id"], cols["status"], group, cols["warnings"], pay, thr,
               cols["special_review.eligible"], cols["special_review.reasons"], strict=True)]
    return _with_dip(out, cols)


DIP_FIELDS = ("dip_group", "dip_type", "score", "aux_level", "aux_coefficient", "final_score")


def _with_dip(answers: list[dict[str, Any]], cols: dict[str, list[Any]]
              ) -> list[dict[str, Any]]:
    """Add the ``dip`` sub-object to each answer when the columns have the DIP fields."""
    if "dip.dip_group" not in cols:
        return answers
    for a, *vals in zip(answers, *(cols["dip." + f] for f in DIP_FIELDS), strict=True):
        a["dip"] = dict(zip(DIP_FIELDS, vals, strict=True))
    return answers
