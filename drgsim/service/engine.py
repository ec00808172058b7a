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
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import answer as A
from .answer import clean as _clean
from .models import CaseIn
from .settings import ServiceSettings

TEXT_FIELDS = ("hospital_id", "patient_id", "dept", "alliance_id")
NUM_FIELDS = ("hospital_level", "sex", "age", "age_days", "birth_weight", "los", "icu_hours",
              "discharge_mode", "total_cost", "month", "year", "patient_paid", "new_tech_cost")
BOOL_FIELDS = ("new_tech", "icu")


class StartupError(Exception):
    """The service cannot start; the message is one line naming what is wrong."""


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
    for f in BOOL_FIELDS:
        cols[f] = [getattr(c, f) for c in cases]
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
    #: the DIP catalogue (:class:`grouper.dip.Catalogue`) a DIP policy groups into
    catalogue: Any = None
    #: the benefit policy (§9, :func:`payment.load_benefit_policy`) for the patient's share
    benefits: Any = None

    def __post_init__(self) -> None:
        from payment.prepared import PreparedPrices
        from payment.pricing import resolve_yuan_per_point

        self.names = Names(self.scheme)
        self.dip = None
        if self.catalogue is not None:
            from grouper.dip import compile_catalogue

            self.dip = compile_catalogue(self.catalogue, self.scheme)
        self.prepared = PreparedPrices(self.weights, self.policy) if self.pricing else None
        #: the point value is not a budget over the population here (see :meth:`load`)
        self.yuan_per_point = (resolve_yuan_per_point(self.policy, self.weights, math.nan)
                               if self.pricing else math.nan)
        self.rw = (dict(zip(self.weights.groups["group"].astype(str).tolist(),
                            self.weights.groups["rw"].to_numpy(np.float64, na_value=np.nan).tolist(),
                            strict=True)) if self.pricing else {})
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
            if policy.point_value.source == "budget":
                # a budget point value is budget ÷ the population's points: one case is no
                # population, so the preview prices at the history point value of the weights
                policy = policy.with_overrides({"point_value": {"source": "history"}},
                                               f"{policy.source} (preview: history point value)")
                note = "budget point value replaced by the weights' history point value"
        if settings.weights is None and (settings.coefficient is not None
                                         or settings.point_value is not None):
            raise StartupError("--coefficient / --point-value go with a published table as "
                               "--weights")
        if settings.weights is not None:
            if policy is None:
                raise StartupError("--weights needs --policy (weights are priced under a policy)")
            try:
                weights = load_service_weights(settings, policy)
            except Exception as exc:
                raise StartupError(f"cannot load weights {settings.weights}: {_one_line(exc)}"
                                   ) from None
            if weights.kind != policy.kind:
                raise StartupError(f"weights {settings.weights} are {weights.kind} weights, "
                                   f"policy {policy.name} is {policy.kind}")
        catalogue = None
        if policy is not None and policy.kind == "dip":
            if settings.catalogue is None:
                raise StartupError(f"policy {policy.name} is a DIP policy: give the DIP catalogue "
                                   "folder to group into (--catalogue, drgsim dip build)")
            from grouper.dip import load_catalogue

            try:
                catalogue = load_catalogue(settings.catalogue)
            except Exception as exc:
                raise StartupError(f"cannot load DIP catalogue {settings.catalogue}: "
                                   f"{_one_line(exc)}") from None
        elif settings.catalogue is not None:
            raise StartupError("--catalogue needs a DIP policy (--policy national_dip or a DIP "
                               "policy file)")
        benefits = None
        if settings.benefits is not None:
            try:
                benefits = payment.load_benefit_policy(settings.benefits)
            except Exception as exc:
                raise StartupError(f"invalid benefit policy {settings.benefits}: "
                                   f"{_one_line(exc)}") from None
        return cls(scheme, policy, weights, settings.weights, note, settings.kernel_threads,
                   catalogue, benefits)

    def identity(self) -> dict[str, Any]:
        """Scheme, policy and weights identities for ``/v1/version``."""
        from drgsim import __version__

        s = self.scheme
        out: dict[str, Any] = {
            "drgsim": __version__,
            "scheme": {"id": s.id, "name": s.name, "version": str(s.meta["scheme"].get(
                "version", "")), "content_hash": s.content_hash},
            "policy": None, "weights": None,
        }
        if self.policy is not None:
            p = self.policy
            out["policy"] = {
                "name": p.name, "region": p.region, "kind": p.kind, "method": p.method,
                "source": _no_path(p.source), "content_hash": hashlib.sha256(
                    p.model_dump_json().encode()).hexdigest(),
                "point_value_source": p.point_value.source, "note": self.policy_note or None,
            }
        if self.weights is not None:
            w = self.weights
            out["weights"] = {
                "file": self.weights_path.name if self.weights_path else None,
                "content_hash": self.weights_hash, "kind": w.kind, "years": w.years,
                "groups": len(w.groups), "region_mean_cost": _clean(w.region_mean_cost),
                "point_value": _clean(self.yuan_per_point) if self.prepared
                else None,
                "policy": w.meta.get("policy"),
            }
        return out

    # ---- previews ------------------------------------------------------------------------------

    def preview_one(self, case: CaseIn, case_id: str, explain: bool = False) -> dict[str, Any]:
        """The preview of one case: the batch's answer builder on one-element columns.

        Under a DIP policy the case is also grouped into the DIP catalogue (on a one-row
        table) and priced in its DIP group; ``status`` is then the DIP grouper's.
        """
        _threads(1)  # one case: a parallel launch would cost more than the whole case
        g = A.group_one(self.scheme, case, case_id)
        d = A.dip_group(self.dip, cases_frame([case])) if self.dip is not None else None
        st, grp = (d.status[0], d.dip_group[0]) if d is not None else (g.status[0], g.drg[0])
        aux = d.aux_coefficient[0:1] if d is not None else None
        pr = (A.price_one(self.prepared, self.yuan_per_point, case, st, grp, aux)
              if self.pricing else None)
        out = self.rows(A.answer_columns(g, self.names, self.policy, self.prepared, self.rw,
                                         pr, self.yuan_per_point, d))[0]
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

    def preview_columns(self, frame: pd.DataFrame, arrays: bool = False) -> dict[str, Any]:
        """Every answer field of a case table as one list per field, in input order.

        ``frame`` is the canonical case table (:func:`cases_frame`, or
        :func:`drgsim.service.columnar.parse_batch`). Keys are the answer's fields, dotted
        below the top level (``group.drg``, ``payment.points``, ``thresholds.high_cost``); the
        pricing keys are absent when the service has no weights. Values are JSON-ready
        (``None`` for a missing or non-finite number), exactly as in :meth:`preview_one`;
        ``arrays``: the plain float fields as float64 arrays, to be written by
        ``orjson.dumps(..., option=orjson.OPT_SERIALIZE_NUMPY)`` (nan / inf -> null).
        """
        _threads(self.kernel_threads)
        g = A.group_frame(self.scheme, frame, self.kernel_threads)
        d = A.dip_group(self.dip, frame) if self.dip is not None else None
        st, grp = (d.status, d.dip_group) if d is not None else (g.status, g.drg)
        aux = d.aux_coefficient if d is not None else None
        pr = A.price_frame(self.prepared, frame, st, grp, aux) if self.pricing else None
        return A.answer_columns(g, self.names, self.policy, self.prepared, self.rw, pr,
                                self.yuan_per_point, d, arrays)

    def rows(self, cols: dict[str, list[Any]]) -> list[dict[str, Any]]:
        """The per-case answers (the shape of :meth:`preview_one`) from :meth:`preview_columns`.

        Sub-objects that only depend on the group (``group``) are shared between the rows
        that have the same group: treat the answers as read-only.
        """
        return A.rows(cols, self.names)

    def explain(self, case: CaseIn) -> dict[str, Any] | None:
        """The grouper's trace of one case (``grouper.explain``), JSON-able."""
        import grouper

        fn = getattr(grouper, "explain", None)
        if fn is None:
            return None
        row = cases_frame([case]).iloc[0].to_dict()
        return _jsonable(fn(row, self.scheme).to_dict())


PUBLISHED_SUFFIXES = (".csv", ".xlsx", ".xls", ".parquet")


def load_service_weights(settings: ServiceSettings, policy: Any) -> Any:
    """A weights folder (``Weights.save``), or a bureau's published table (.csv / .xlsx /
    .parquet: group code, RW or base points, average cost and LOS) made into weights with the
    hospital's ``coefficient`` (default 1) for ``hospitals`` and the published ``point_value``
    (yuan per point), as ``drgsim price -w`` does."""
    import payment
    from grouper.cases import read_raw
    from payment.published import published_weights

    path = settings.weights
    if path.is_dir():
        if settings.coefficient is not None or settings.point_value is not None:
            raise ValueError("--coefficient / --point-value go with a published table, not a "
                             "weights folder")
        return payment.load_weights(path)
    if path.suffix.lower() not in PUBLISHED_SUFFIXES:
        raise ValueError(f"neither a weights folder nor a published table "
                         f"({', '.join(PUBLISHED_SUFFIXES)})")
    if settings.point_value is None:
        raise ValueError("a published table needs the published point value (--point-value)")
    if settings.coefficient is not None and not settings.hospitals:
        raise ValueError("--coefficient needs the hospital(s) it is for (--hospital ID)")
    return published_weights(
        read_raw(path), coefficients=1.0 if settings.coefficient is None
        else settings.coefficient, hospitals=settings.hospitals,
        point_value=settings.point_value, kind=policy.kind,
        points_scale=policy.weights.points_scale, source=path.name)


def _no_path(text: str) -> str:
    """``text`` with every filesystem path cut to its last part (``/srv/x/policy.toml`` ->
    ``policy.toml``): ``/v1/version`` tells what was loaded, not where the server keeps it."""
    return re.sub(r"(?:[A-Za-z]:)?(?:[^\s/\\()]*[/\\])+([^\s/\\()]*)", r"\1", text)


_THREAD_SETTING = threading.local()


def _threads(n: int) -> None:
    """Numba threads for kernels called from this thread (numba keeps the setting per thread;
    so do we, since asking numba costs tens of microseconds, a tenth of a one-case preview)."""
    if getattr(_THREAD_SETTING, "n", None) == n:
        return
    import numba

    m = min(n, numba.config.NUMBA_NUM_THREADS)
    if numba.get_num_threads() != m:
        numba.set_num_threads(m)
    _THREAD_SETTING.n = n


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
