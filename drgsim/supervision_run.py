"""Supervision run (drgsim supervise): group cases (and history), take the code-restriction and
CC/MCC facts from the scheme, and call :mod:`payment`'s indices and signals.

This is the application layer: payment never reads a scheme, so the scheme's facts reach it as
plain tables here (:func:`restrictions_from_scheme`, :func:`cc_codes_from_scheme`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import grouper
from grouper.explain import explain_all
from payment.indices import INDEX_COLUMNS, indices
from payment.signals_codes import all_signals
from payment.supervision import SupervisionPolicy

__all__ = ["SupervisionResult", "cc_codes_from_scheme", "explanations",
           "restrictions_from_scheme", "run_supervision"]


@dataclass
class SupervisionResult:
    """The tables ``drgsim supervise`` writes (stable columns first) and the grouped cases."""

    indices: pd.DataFrame
    hospital_signals: pd.DataFrame
    case_flags: pd.DataFrame
    grouped: pd.DataFrame
    history: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    by_dept: pd.DataFrame | None = None
    by_doctor: pd.DataFrame | None = None


def _walk_entry(node: Any, out: list[tuple[str, str, str, float]]) -> None:
    """Collect (list, field, cmp, value) from ``and`` nodes pairing pdx_in with a sex/age cmp."""
    if not isinstance(node, dict):
        return
    args = node.get("args", [])
    if node.get("op") == "and":
        lists = [a["list"] for a in args if isinstance(a, dict) and a.get("op") == "pdx_in"]
        cmps = [a for a in args if isinstance(a, dict) and a.get("op") == "cmp"
                and a.get("field") in ("sex", "age") and isinstance(a.get("value"), int | float)]
        for lst in lists:
            for c in cmps:
                out.append((lst, c["field"], c["cmp"], float(c["value"])))
    for a in args:
        _walk_entry(a, out)


def restrictions_from_scheme(scheme: grouper.Scheme) -> pd.DataFrame:
    """``code, kind, field, cmp, value, source``: principal-diagnosis lists whose MDC entry rule
    requires a sex or an age (e.g. MDC M: sex == 1; MDC P: age == 0), expanded to their codes."""
    rows: list[tuple] = []
    lists = scheme.tables.get("code_lists")
    for mdc, spec in (scheme.meta.get("mdcs") or {}).items():
        found: list[tuple[str, str, str, float]] = []
        _walk_entry(spec.get("entry"), found)
        for lst, fld, cmp, val in found:
            if lists is None:
                continue
            codes = lists.loc[lists["list"] == lst, "code"]
            rows += [(c, "dx", fld, cmp, val, f"scheme {scheme.id} MDC {mdc} entry") for c in codes]
    out = pd.DataFrame(rows, columns=["code", "kind", "field", "cmp", "value", "source"])
    return out.drop_duplicates(["code", "field", "cmp", "value"]).reset_index(drop=True)


def cc_codes_from_scheme(scheme: grouper.Scheme) -> list[str]:
    """The scheme's CC / MCC diagnosis codes (its ``cc_mcc`` table)."""
    t = scheme.tables.get("cc_mcc")
    return [] if t is None else sorted(set(t["code"].astype(str)))


def _group(cases: pd.DataFrame, scheme: grouper.Scheme | None) -> pd.DataFrame:
    if {"status", "drg", "adrg"} <= set(cases.columns) or scheme is None:
        return cases
    return grouper.group(cases, scheme, keep_columns=True)


def run_supervision(
    cases: pd.DataFrame, scheme: grouper.Scheme | None, *,
    history: pd.DataFrame | None = None,
    weights: Any = None, policy: SupervisionPolicy | None = None,
    progress: Callable[[str], None] | None = None, with_indices: bool = True,
) -> SupervisionResult:
    """Group (unless already grouped) and compute indices (per hospital; per department and
    doctor when the cases have ``dept`` / ``doctor``) and all five signals.

    RW: ``weights`` (a :class:`payment.Weights` or ``group, rw`` table) when given, else §10 RW
    from the history, else from the cases themselves. ``progress(step)`` is told each step.

    ``scheme=None`` (cases known only as priced or grouped rows, e.g. the dashboard's
    ``--priced`` file): nothing is grouped, the restricted codes are the policy's prefixes only
    and upcoding judges every secondary diagnosis (no CC/MCC table); both are in ``notes``. A
    signal whose columns the cases lack is skipped with the reason in ``notes``;
    :class:`payment.signals_codes.SignalsUnavailable` when none can run. ``with_indices=False``
    (signals only, as the dashboard's drill-down shows): ``indices`` is an empty table and the
    per department / doctor tables are not made.
    """
    step = progress or (lambda _label: None)
    policy = policy or SupervisionPolicy()
    step("grouping")
    grouped = _group(cases, scheme)
    hist = _group(history, scheme) if history is not None else None
    notes = []
    if weights is None and hist is not None and len(hist):
        from payment.indices import history_rw
        weights = history_rw(hist, "drg")[["group", "rw"]]
        notes.append("RW from the history (§10 convention)")
    elif weights is None:
        notes.append("RW from the cases themselves (no history or weights given)")
    step("indices")
    idx = (indices(grouped, weights, by=("hospital_id",)) if with_indices
           else pd.DataFrame(columns=list(INDEX_COLUMNS)))
    step("signals")
    if scheme is None:
        notes.append("no scheme: restricted codes from the policy's prefixes only; upcoding "
                     "judges every secondary diagnosis (no CC/MCC table)")
    flags, hosp = all_signals(
        grouped, hist, weights=weights, policy=policy,
        cc_codes=None if scheme is None else cc_codes_from_scheme(scheme),
        restrictions=None if scheme is None else restrictions_from_scheme(scheme))
    notes += [f"{k} skipped: {v}" for k, v in hosp.attrs.get("skipped", {}).items()]
    res = SupervisionResult(idx, hosp, flags, grouped, hist, notes)
    step("indices by dept")
    if not with_indices:
        return res
    if "dept" in grouped.columns:
        res.by_dept = indices(grouped, weights, by=("hospital_id", "dept"))
    if "doctor" in grouped.columns:
        res.by_doctor = indices(grouped, weights, by=("hospital_id", "doctor"))
    return res


def explanations(grouped: pd.DataFrame, scheme: grouper.Scheme, case_ids: list[str],
                 limit: int = 500) -> dict[str, str]:
    """Grouper's explanation text of why each listed case landed in its group (first ``limit``)."""
    ids = list(dict.fromkeys(str(c) for c in case_ids))[:limit]
    if not ids:
        return {}
    sub = grouped[grouped["case_id"].astype(str).isin(set(ids))]
    sub = sub.drop(columns=[c for c in ("status", "mdc", "adrg", "drg", "warnings")
                            if c in sub.columns])
    return {e.case_id: e.to_text() for e in explain_all(sub, scheme)}
