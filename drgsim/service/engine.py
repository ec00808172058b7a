"""The loaded engine behind the service: scheme, policy and weights, loaded once, shared.

``PreviewEngine.load(settings)`` does all the work that must not happen per request (loading,
validating and compiling the scheme, reading the weights, building lookups); the routers only
call :meth:`PreviewEngine.preview_one` and :meth:`PreviewEngine.preview_batch`.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .models import CaseIn
from .settings import ServiceSettings

TEXT_FIELDS = ("hospital_id", "patient_id", "dept", "alliance_id")
NUM_FIELDS = ("hospital_level", "sex", "age", "age_days", "birth_weight", "los", "icu_hours",
              "discharge_mode", "total_cost", "year", "patient_paid", "new_tech_cost")


class StartupError(Exception):
    """The service cannot start; the message is one line naming what is wrong."""


def _clean(x: Any) -> Any:
    """JSON-safe number: nan / inf -> None, numpy scalars -> Python."""
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _finite(a: Any, missing: float | None = None) -> list[Any]:
    """A float column as a list: non-finite values (nan, inf) -> ``missing``.

    ``_finite(a)[k] == _clean(a[k])`` and ``_finite(a, 0.0)[k] == (_clean(a[k]) or 0.0)``.
    """
    a = np.asarray(a, dtype=np.float64)
    ok = np.isfinite(a)
    if missing == 0.0:
        ok &= a != 0.0  # `x or 0.0` turns -0.0 into 0.0 too
    if ok.all():
        return a.tolist()
    obj = a.astype(object)
    obj[~ok] = missing
    return obj.tolist()


def _money(x: Any) -> Any:
    """``_money`` of each element of a float array, as a list."""
    if isinstance(x, np.ndarray):
        return [None if v is None else round(v, 2) for v in _finite(x)]
    return _money_one(x)


def _money_one(x: float) -> float | None:
    """Yuan rounded to the cent for display (thresholds are estimates, not payments)."""
    x = _clean(x)
    return None if x is None else round(x, 2)


class Names:
    """MDC / ADRG / DRG names from the scheme.

    DRG names come from the scheme's ``drgs`` table. The format has no ADRG names: an ADRG is
    named by what its DRG names share (CHS-DRG names are "<ADRG name>，伴…" / "，不伴…"), cut at
    the last comma. MDC names are used when ``scheme.json`` gives one (``mdcs.<X>.name``).
    """

    def __init__(self, scheme: Any) -> None:
        t = scheme.tables["drgs"]
        self.drg = {str(d): str(n) for d, n in zip(t["drg"], t["name"], strict=True) if str(n)}
        by_adrg: dict[str, list[str]] = {}
        for a, n in zip(t["adrg"], t["name"], strict=True):
            if str(n):
                by_adrg.setdefault(str(a), []).append(str(n))
        self.adrg = {a: self._common(ns) for a, ns in by_adrg.items()}
        self.mdc: dict[str, str] = {}
        for letter, m in (scheme.meta.get("mdcs") or {}).items():
            if isinstance(m, dict) and m.get("name"):
                self.mdc["MDC" + letter] = str(m["name"])

    @staticmethod
    def _common(names: list[str]) -> str | None:
        if len(names) == 1:
            return names[0]
        prefix = os.path.commonprefix(names)
        for sep in ("，", ","):
            if sep in prefix:
                prefix = prefix[: prefix.rindex(sep)]
                break
        # names without the comma ("…疾病伴严重…" / "…疾病伴一般…") share a dangling 伴 / 不伴
        prefix = re.sub(r"(不伴|伴|不)$", "", prefix.strip())
        return prefix.strip() or None


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.iterdir()) if path.is_dir() else [path]:
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def cases_frame(cases: Sequence[CaseIn]) -> pd.DataFrame:
    """Canonical case table of validated cases (codes joined with '|', absent = missing)."""
    n = len(cases)
    cols: dict[str, Any] = {
        "case_id": [c.case_id if c.case_id is not None else str(k) for k, c in enumerate(cases)],
    }
    for f in TEXT_FIELDS:
        cols[f] = pd.array([getattr(c, f) for c in cases], dtype="str")
    for f in NUM_FIELDS:
        cols[f] = np.fromiter((math.nan if (v := getattr(c, f)) is None else v for c in cases),
                              dtype=np.float64, count=n)
    cols["diagnoses"] = ["|".join(c.diagnoses) for c in cases]
    cols["procedures"] = ["|".join(c.procedures) for c in cases]
    for f in ("admission_date", "discharge_date"):
        cols[f] = pd.array([None if (d := getattr(c, f)) is None else d.isoformat()
                            for c in cases], dtype="str")
    cols["new_tech"] = [c.new_tech for c in cases]
    return pd.DataFrame(cols)


@dataclass
class PreviewEngine:
    """A loaded scheme (and optionally policy + weights) with per-case and batch previews."""

    scheme: Any
    policy: Any = None
    weights: Any = None
    weights_path: Path | None = None
    policy_note: str = ""
    kernel_threads: int = 1

    def __post_init__(self) -> None:
        from .fastpath import FastGrouper, FastPricer

        self.names = Names(self.scheme)
        self.fast_grouper = FastGrouper(self.scheme)
        self.fast_pricer = FastPricer(self.weights, self.policy) if self.pricing else None
        self.rw = self.fast_pricer.rw if self.fast_pricer else {}
        self.weights_hash = _file_hash(self.weights_path) if self.weights_path else (
            hashlib.sha256(pd.util.hash_pandas_object(self.weights.groups).values.tobytes())
            .hexdigest() if self.weights is not None else None)

    @property
    def pricing(self) -> bool:
        return self.policy is not None and self.weights is not None

    # ---- loading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, settings: ServiceSettings) -> PreviewEngine:
        """Load everything named by ``settings``; :class:`StartupError` with one line if not."""
        import grouper
        import payment

        try:
            scheme = grouper.load_scheme(grouper.resolve_scheme(settings.scheme))
            _ = scheme.compiled  # compile (or load the cache) now, not on the first request
        except Exception as exc:  # any failure to load is a start-up failure, said in one line
            raise StartupError(f"cannot load scheme {settings.scheme}: {_one_line(exc)}") from None
        policy = weights = None
        note = ""
        if settings.policy is not None:
            try:
                policy = payment.load_policy(settings.policy)
            except Exception as exc:
                raise StartupError(f"invalid policy {settings.policy}: {_one_line(exc)}") from None
            if policy.kind != "drg":
                raise StartupError(f"policy {settings.policy} is a {policy.kind.upper()} policy; "
                                   "the preview service prices DRG policies only")
            if policy.point_value.source == "budget":
                # a budget point value is budget ÷ the population's points: one case is no
                # population, so the preview prices at the history point value of the weights
                policy = policy.with_overrides({"point_value": {"source": "history"}},
                                               f"{policy.source} (preview: history point value)")
                note = "budget point value replaced by the weights' history point value"
        if settings.weights is not None:
            if policy is None:
                raise StartupError("--weights needs --policy (weights are priced under a policy)")
            try:
                weights = payment.load_weights(settings.weights)
            except Exception as exc:
                raise StartupError(f"cannot load weights {settings.weights}: {_one_line(exc)}"
                                   ) from None
            if weights.kind != policy.kind:
                raise StartupError(f"weights {settings.weights} are {weights.kind} weights, "
                                   f"policy {policy.name} is {policy.kind}")
        return cls(scheme, policy, weights, settings.weights, note, settings.kernel_threads)

    def identity(self) -> dict[str, Any]:
        """Scheme, policy and weights identities for ``/v1/version``."""
        from drgsim import __version__

        s = self.scheme
        out: dict[str, Any] = {
            "drgsim": __version__,
            "scheme": {"id": s.id, "name": s.name, "version": str(s.meta["scheme"].get(
                "version", "")), "content_hash": s.content_hash, "path": str(s.path)},
            "policy": None, "weights": None,
        }
        if self.policy is not None:
            p = self.policy
            out["policy"] = {
                "name": p.name, "region": p.region, "kind": p.kind, "method": p.method,
                "source": p.source, "content_hash": hashlib.sha256(
                    p.model_dump_json().encode()).hexdigest(),
                "point_value_source": p.point_value.source, "note": self.policy_note or None,
            }
        if self.weights is not None:
            w = self.weights
            out["weights"] = {
                "path": str(self.weights_path) if self.weights_path else None,
                "content_hash": self.weights_hash, "kind": w.kind, "years": w.years,
                "groups": len(w.groups), "region_mean_cost": _clean(w.region_mean_cost),
                "point_value": _clean(self.fast_pricer.yuan_per_point) if self.fast_pricer
                else None,
                "policy": w.meta.get("policy"),
            }
        return out

    # ---- previews ------------------------------------------------------------------------------

    def preview_one(self, case: CaseIn, case_id: str, explain: bool = False) -> dict[str, Any]:
        """The preview of one case (fast path: no DataFrame)."""
        _threads(1)  # one case: a parallel launch would cost more than the whole case
        status, mdc, adrg, drg, warnings = self.fast_grouper.group_one(case)
        out = self._grouping(case_id, status, mdc, adrg, drg, warnings)
        if self.fast_pricer is not None:
            row = self.fast_pricer.price_one(case, status, drg)
            out.update(self._pricing(
                drg, case.total_cost, row.case_class, row.class_reason, row.r, row.base_points,
                row.coefficient, row.points, row.payment, row.gain, row.small_group,
                row.sr_candidate, row.sr_reasons, row.cmp_mean, row.high_multiple))
        else:
            out.update(payment=None, thresholds=None, special_review=None)
        out["explanation"] = self.explain(case) if explain else None
        return out

    def preview_batch(self, cases: Sequence[CaseIn], explain: bool = False
                      ) -> list[dict[str, Any]]:
        """Previews of many cases: ``grouper.group`` + ``payment.price`` on one table."""
        results = self.rows(self.preview_columns(cases_frame(cases)))
        if explain:
            for k, res in enumerate(results):
                res["explanation"] = self.explain(cases[k])
        return results

    def preview_columns(self, frame: pd.DataFrame) -> dict[str, list[Any]]:
        """Every answer field of a case table as one list per field, in input order.

        ``frame`` is the canonical case table (:func:`cases_frame`, or
        :func:`drgsim.service.columnar.parse_batch`). Keys are the answer's fields, dotted
        below the top level (``group.drg``, ``payment.points``, ``thresholds.high_cost``); the
        pricing keys are absent when the service has no weights. Values are JSON-ready
        (``None`` for a missing or non-finite number), exactly as in :meth:`preview_one`.
        """
        import grouper
        import payment

        _threads(self.kernel_threads)
        g = grouper.group(frame, self.scheme)
        ids = frame["case_id"].tolist()
        st, mdc, adrg, drg = (g[c].astype(str).tolist() for c in ("status", "mdc", "adrg", "drg"))
        nm = self.names
        out: dict[str, list[Any]] = {
            "case_id": ids, "status": st,
            "group.mdc": mdc, "group.mdc_name": [nm.mdc.get(x) for x in mdc],
            "group.adrg": adrg, "group.adrg_name": [nm.adrg.get(x) for x in adrg],
            "group.drg": drg, "group.drg_name": [nm.drg.get(x) for x in drg],
            "warnings": [w.split("; ") if w else [] for w in g["warnings"].tolist()],
        }
        if not self.pricing:
            return out
        p, fp = self.policy, self.fast_pricer
        n = len(ids)
        priced = payment.price(frame.assign(status=st, drg=drg), self.weights, p)
        dip = p.kind == "dip"
        # the comparison mean and high multiple of each case, as fast_pricer.group_params has them
        gi = np.fromiter((fp.gindex.get(d, -1) for d in drg), dtype=np.int64, count=n)
        known = gi >= 0
        at = np.where(known, gi, 0)
        cmp_mean = np.where(known, fp.table.mean[at], np.nan).astype(np.float64)
        if dip and p.deviation.comparison_base == "same_level":
            hosp = frame["hospital_id"].tolist()
            level = frame["hospital_level"].tolist()
            cmp_mean = np.array([fp.group_params(
                drg[k], hosp[k] if isinstance(hosp[k], str) else "",
                int(level[k] or 0) if level[k] == level[k] else 0)[2] for k in range(n)],
                dtype=np.float64)
        if dip:
            high = np.where(known, p.deviation.high, np.nan)
        elif p.outliers.enabled:
            high = np.where(known, fp.table.thr[at], np.nan).astype(np.float64)
        else:
            high = np.full(n, np.nan)
        low = p.deviation.low if dip else (p.outliers.low_multiple if p.outliers.enabled
                                           else math.nan)
        weight = {d: _clean(self.rw.get(d)) for d in set(drg)}
        out.update({
            "payment.policy": [p.name] * n,
            "payment.case_class": priced["case_class"].astype(str).tolist(),
            "payment.class_reason": priced["class_reason"].astype(str).tolist(),
            "payment.r": _finite(priced["r"]),
            "payment.weight": [weight[d] for d in drg],
            "payment.base_points": _finite(priced["base_points"]),
            "payment.coefficient": _finite(priced["coefficient"]),
            "payment.points": _finite(priced["points"], 0.0),
            "payment.point_value": [_clean(fp.yuan_per_point)] * n,
            "payment.point_value_source": [p.point_value.source] * n,
            "payment.payment": _finite(priced["payment"], 0.0),
            "payment.gain": _finite(priced["gain"], 0.0),
            "payment.small_group": priced["small_group"].astype(bool).tolist(),
        })
        # thresholds: null for a case whose group has no finite comparison mean
        mean = _finite(cmp_mean)
        cost = _finite(frame["total_cost"])
        high_cost = _money(high * cmp_mean)
        low_cost = _money(low * cmp_mean)
        has = [m is not None for m in mean]
        out.update({
            "thresholds.group_mean_cost": _money(cmp_mean),
            "thresholds.high_multiple": [h if ok else None
                                         for h, ok in zip(_finite(high), has, strict=True)],
            "thresholds.high_cost": [h if ok else None
                                     for h, ok in zip(high_cost, has, strict=True)],
            "thresholds.yuan_to_high": [
                None if not ok or h is None or c is None else round(h - c, 2)
                for h, c, ok in zip(high_cost, cost, has, strict=True)],
            "thresholds.low_multiple": [_clean(low) if ok else None for ok in has],
            "thresholds.low_cost": [lc if ok else None
                                    for lc, ok in zip(low_cost, has, strict=True)],
            "thresholds.yuan_above_low": [
                None if not ok or lc is None or c is None else round(c - lc, 2)
                for lc, c, ok in zip(low_cost, cost, has, strict=True)],
            "thresholds.high_inclusive": [(not dip) if ok else None for ok in has],
        })
        reasons = priced["sr_reasons"].tolist()
        out["special_review.eligible"] = priced["sr_candidate"].astype(bool).tolist()
        out["special_review.reasons"] = [r.split("|") if r else [] for r in reasons]
        return out

    def rows(self, cols: dict[str, list[Any]]) -> list[dict[str, Any]]:
        """The per-case answers (the shape of :meth:`preview_one`) from :meth:`preview_columns`.

        Sub-objects that only depend on the group (``group``) are shared between the rows
        that have the same group: treat the answers as read-only.
        """
        groups: dict[tuple[str, str, str], dict[str, Any]] = {}
        for key in zip(cols["group.mdc"], cols["group.adrg"], cols["group.drg"], strict=True):
            if key not in groups:
                mdc, adrg, drg = key
                nm = self.names
                groups[key] = {"mdc": mdc, "mdc_name": nm.mdc.get(mdc), "adrg": adrg,
                               "adrg_name": nm.adrg.get(adrg), "drg": drg,
                               "drg_name": nm.drg.get(drg)}
        group = [groups[k] for k in zip(cols["group.mdc"], cols["group.adrg"], cols["group.drg"],
                                        strict=True)]
        if "payment.policy" not in cols:
            return [{"case_id": i, "status": s, "group": gr, "warnings": w, "payment": None,
                     "thresholds": None, "special_review": None, "explanation": None}
                    for i, s, gr, w in zip(cols["case_id"], cols["status"], group,
                                           cols["warnings"], strict=True)]
        p = self.policy
        policy, source = p.name, p.point_value.source
        pv = _clean(self.fast_pricer.yuan_per_point)
        pay = [{"policy": policy, "case_class": cc, "class_reason": cr, "r": r, "weight": w,
                "base_points": bp, "coefficient": co, "points": pt, "point_value": pv,
                "point_value_source": source, "payment": pm, "gain": gn, "small_group": sg}
               for cc, cr, r, w, bp, co, pt, pm, gn, sg in zip(
                   *(cols["payment." + f] for f in (
                       "case_class", "class_reason", "r", "weight", "base_points",
                       "coefficient", "points", "payment", "gain", "small_group")), strict=True)]
        thr = [None if gm is None else {
            "group_mean_cost": gm, "high_multiple": hm, "high_cost": hc, "yuan_to_high": th,
            "low_multiple": lm, "low_cost": lc, "yuan_above_low": al, "high_inclusive": hi}
            for gm, hm, hc, th, lm, lc, al, hi in zip(
                *(cols["thresholds." + f] for f in (
                    "group_mean_cost", "high_multiple", "high_cost", "yuan_to_high",
                    "low_multiple", "low_cost", "yuan_above_low", "high_inclusive")),
                strict=True)]
        return [{"case_id": i, "status": s, "group": gr, "warnings": w, "payment": pm,
                 "thresholds": th, "special_review": {"eligible": el, "reasons": rs},
                 "explanation": None}
                for i, s, gr, w, pm, th, el, rs in zip(
                    cols["case_id"], cols["status"], group, cols["warnings"], pay, thr,
                    cols["special_review.eligible"], cols["special_review.reasons"],
                    strict=True)]

    def explain(self, case: CaseIn) -> dict[str, Any] | None:
        """The grouper's trace of one case (``grouper.explain``), JSON-able."""
        import grouper

        fn = getattr(grouper, "explain", None)
        if fn is None:
            return None
        row = cases_frame([case]).iloc[0].to_dict()
        return _jsonable(fn(row, self.scheme).to_dict())

    # ---- answer assembly -----------------------------------------------------------------------

    def _grouping(self, case_id: str, status: str, mdc: str, adrg: str, drg: str,
                  warnings: str) -> dict[str, Any]:
        n = self.names
        return {
            "case_id": case_id, "status": status,
            "group": {"mdc": mdc, "mdc_name": n.mdc.get(mdc), "adrg": adrg,
                      "adrg_name": n.adrg.get(adrg), "drg": drg, "drg_name": n.drg.get(drg)},
            "warnings": warnings.split("; ") if warnings else [],
        }

    def _pricing(self, drg: str, total_cost: float | None, case_class: str, class_reason: str,
                 r: float, base_points: float, coefficient: float, points: float,
                 pay: float, gain: float, small_group: bool, sr_candidate: bool,
                 sr_reasons: str, cmp_mean: float, high: float) -> dict[str, Any]:
        p = self.policy
        fp = self.fast_pricer
        dip = p.kind == "dip"
        low = p.deviation.low if dip else (p.outliers.low_multiple if p.outliers.enabled
                                           else math.nan)
        mean = _clean(cmp_mean)
        thresholds = None
        if mean is not None:
            cost = _clean(total_cost)
            high_cost = _money(high * mean)
            low_cost = _money(low * mean)
            thresholds = {
                "group_mean_cost": _money(mean),
                "high_multiple": _clean(high), "high_cost": high_cost,
                "yuan_to_high": None if high_cost is None or cost is None
                else round(high_cost - cost, 2),
                "low_multiple": _clean(low), "low_cost": low_cost,
                "yuan_above_low": None if low_cost is None or cost is None
                else round(cost - low_cost, 2),
                "high_inclusive": not dip,
            }
        return {
            "payment": {
                "policy": p.name, "case_class": case_class, "class_reason": class_reason,
                "r": _clean(r), "weight": _clean(self.rw.get(drg)),
                "base_points": _clean(base_points), "coefficient": _clean(coefficient),
                "points": _clean(points) or 0.0, "point_value": _clean(fp.yuan_per_point),
                "point_value_source": p.point_value.source, "payment": _clean(pay) or 0.0,
                "gain": _clean(gain) or 0.0, "small_group": bool(small_group),
            },
            "thresholds": thresholds,
            "special_review": {"eligible": bool(sr_candidate),
                               "reasons": sr_reasons.split("|") if sr_reasons else []},
        }


def _threads(n: int) -> None:
    """Numba threads for kernels called from this thread (numba keeps the setting per thread)."""
    import numba

    n = min(n, numba.config.NUMBA_NUM_THREADS)
    if numba.get_num_threads() != n:
        numba.set_num_threads(n)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.generic, float)):
        return _clean(x)
    return x
