"""The drill-down's supervision signals (issue 16 item 5), computed once per loaded region.

:class:`SupervisionView` calls :func:`drgsim.supervision_run.run_supervision` — the function
``drgsim supervise`` calls — the first time a drill-down asks for them, keeps the result and
answers every hospital from it. The signals read the cases, never the payment levers, so
moving a lever recomputes nothing.

Inputs (:meth:`Dashboard.supervision <drgsim.dashboard.state.Dashboard.supervision>` gives
them): the settlement year's grouped cases, the year before as the history (§10 RW, "own
previous year", the stays a readmission pairs with), the scheme and the ``[supervision]`` table
of the scenario's policy file (defaults otherwise): the drill-down shows what ``drgsim supervise
CASES --history PREVIOUS -s SCHEME`` writes for that hospital. A signal the loaded data cannot
compute (a ``--priced`` file has no diagnoses, dates or grouper status) is listed as
unavailable with the reason instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from grouper import DrgsimError
from payment.signals_codes import SignalsUnavailable
from payment.supervision import SIGNALS

from ..supervision_run import SupervisionResult
from .jsonable import json_value

__all__ = ["SupervisionView"]

#: per signal, at most this many of the hospital's flagged cases are listed (query ``cases``)
MAX_CASES = 10
CASE_LIMIT = 500


@dataclass
class _Held:
    """The region's signals as the drill-down reads them (made once)."""

    signals: dict[str, pd.DataFrame]  # hospital id -> its rows of hospital_signals
    flags: pd.DataFrame  # case flags of the period (history stays left out)
    rows: dict[str, np.ndarray]  # hospital id -> positions in ``flags``
    counts: dict[tuple[str, str], int]  # (hospital, signal or "") -> distinct flagged cases
    unavailable: dict[str, str]  # signal -> why it could not run
    notes: list[str] = field(default_factory=list)
    computed_ms: float = 0.0


def _hold(res: SupervisionResult) -> _Held:
    hs = res.hospital_signals.copy()
    hs["hospital_id"] = hs["hospital_id"].astype(str)
    cf = res.case_flags
    if "period" in cf.columns:
        cf = cf[cf["period"].astype(str) != "history"]
    keep = [c for c in ("case_id", "signal", "detail", "detail_zh", "hospital_id")
            if c in cf.columns]
    cf = cf[keep].astype({"case_id": str, "hospital_id": str}).reset_index(drop=True)
    distinct = cf.drop_duplicates(["hospital_id", "signal", "case_id"])
    counts = {(str(h), str(s)): int(n) for (h, s), n in
              distinct.groupby(["hospital_id", "signal"], sort=False).size().items()}
    # key (hospital, ""): the hospital's distinct flagged cases over all signals
    counts.update({(str(h), ""): int(n) for h, n in distinct.drop_duplicates(
        ["hospital_id", "case_id"]).groupby("hospital_id", sort=False).size().items()})
    return _Held(
        signals={str(h): g for h, g in hs.groupby("hospital_id", sort=False)},
        flags=cf, rows={str(h): np.asarray(ix) for h, ix in
                        cf.groupby("hospital_id", sort=False).indices.items()},
        counts=counts, unavailable=dict(hs.attrs.get("skipped", {})),
        notes=[n for n in res.notes if " skipped: " not in n])


class SupervisionView:
    """One region's supervision signals, computed by ``compute`` on first use (thread-safe)."""

    def __init__(self, compute: Callable[[], SupervisionResult]) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        self._held: _Held | None = None

    def held(self) -> _Held:
        """The region's signals (computed on the first call, then kept)."""
        with self._lock:
            if self._held is None:
                t0 = time.perf_counter()
                try:
                    held = _hold(self._compute())
                except SignalsUnavailable as exc:
                    held = _Held({}, pd.DataFrame(), {}, {}, dict(exc.skipped))
                except (KeyError, ValueError, DrgsimError) as exc:
                    why = str(exc).strip("'\"")
                    held = _Held({}, pd.DataFrame(), {}, {}, {s: why for s in SIGNALS})
                held.computed_ms = round((time.perf_counter() - t0) * 1000.0, 1)
                self._held = held
            return self._held

    def hospital(self, hospital_id: str, max_cases: int = MAX_CASES) -> dict[str, Any]:
        """The hospital's signals and flagged cases as the drill-down shows them.

        ``signals``: one row per signal that ran (``payment.supervision.SIGNALS`` order):
        ``signal, value, peer_value, score, flagged, flagged_cases`` (the distinct cases of this
        hospital ``drgsim supervise`` lists in ``case_flags.csv`` for the signal);
        ``cases``: up to ``max_cases`` of them per signal (``case_id, signal, detail,
        detail_zh``), flagged signals first, then by score; ``unavailable``: the signals that
        could not run and why; ``flagged_cases``: the distinct cases over all signals.
        """
        if not 0 <= max_cases <= CASE_LIMIT:
            raise ValueError(f"cases = {max_cases}: give 0 to {CASE_LIMIT}")
        t0 = time.perf_counter()
        h = self.held()
        mine = h.signals.get(hospital_id)
        signals = []
        if mine is not None:
            by_sig = mine.set_index("signal")
            for sig in SIGNALS:
                if sig not in by_sig.index:
                    continue
                r = by_sig.loc[sig]
                signals.append({
                    "signal": sig, "value": json_value(r["value"]),
                    "peer_value": json_value(r["peer_value"]), "score": json_value(r["score"]),
                    "flagged": bool(r["flagged"]),
                    "flagged_cases": h.counts.get((hospital_id, sig), 0)})
        order = sorted(signals, key=lambda s: (not s["flagged"], -(s["score"] if s["score"]
                                                                    is not None else -np.inf)))
        cases: list[dict[str, Any]] = []
        pos = h.rows.get(hospital_id)
        if pos is not None and max_cases:
            mine_flags = h.flags.iloc[pos]
            for s in order:
                top = mine_flags[mine_flags["signal"] == s["signal"]].head(max_cases)
                cases += [{k: json_value(v) for k, v in rec.items() if k != "hospital_id"}
                          for rec in top.to_dict(orient="records")]
        return {
            "hospital_id": hospital_id, "signals": signals, "cases": cases,
            "flagged_cases": h.counts.get((hospital_id, ""), 0),
            "unavailable": [{"signal": s, "reason": h.unavailable[s]} for s in SIGNALS
                            if s in h.unavailable],
            "notes": h.notes, "computed_ms": h.computed_ms,
            "elapsed_ms": round((time.perf_counter() - t0) * 1000.0, 2)}
