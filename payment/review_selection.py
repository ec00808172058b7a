"""特例单议 quota and selection (§6, §13) over a whole table or over its parts.

The quota is per hospital × year × period (floor(``quota_rate`` × cases not excluded)), and the
applied cases are the positive-gain candidates with the largest gain, ties by case id; the first
floor(``approval_rate`` × applied) are approved. Both look across cases, so the rule runs as:

1. **collect** per chunk the positive candidates and the quota bases (:func:`review_facts`,
   a few per cent of the cases; :meth:`ReviewLedger.add_facts`);
2. **decide** once (:func:`select`, the one implementation of the ordering; per hospital
   bucket in :meth:`ReviewLedger.select`);
3. **apply** per chunk (:func:`apply_selection`).

:func:`payment.special_review.review_columns` (inside :func:`payment.price`) calls :func:`select`
on the whole table's cells; ``drgsim.stream`` and ``drgsim.dask_engine`` run the three steps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import _kernels as K
from .outliers import CLASSES
from .policy import exact_fraction
from .pricing import round_half_up_cents
from .spill import Spill

#: ``sr_status`` values: not a candidate, approved, applied but not approved, a candidate
#: without a positive gain, a positive candidate over its hospital's quota.
STATUSES = ("", "approved", "not_approved", "no_gain", "over_quota")
_STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))


def quota(base: int | np.ndarray, rate: float, rounding: str = "floor") -> int | np.ndarray:
    """rate × base rounded by ``rounding`` (§13: ``"floor"``; ``"half_up"``, ``"ceiling"``) in
    exact decimal arithmetic (5‰ of 1,400 = 7, not 6.999…).

    ``rate`` is read as the decimal it prints as (0.005 = 1/200); integer division.
    """
    frac = exact_fraction(rate)
    num, den = frac.numerator, frac.denominator
    if rounding not in ("floor", "half_up", "ceiling"):
        raise ValueError(f"quota rounding {rounding!r}; allowed: 'floor', 'half_up', 'ceiling'")
    b = base.astype(np.int64) * num if isinstance(base, np.ndarray) else int(base) * num
    if rounding == "half_up":  # bases are never negative: half-up = floor(x + 1/2)
        return (2 * b + den) // (2 * den)
    if rounding == "ceiling":
        return -((-b) // den)
    return b // den


# ---- decide ----------------------------------------------------------------------------------


def _rank_in_runs(keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, … within each run of equal adjacent ``keys``."""
    m = len(keys)
    pos = np.arange(m)
    new = np.ones(m, dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    return pos - np.maximum.accumulate(np.where(new, pos, 0))


def _selection_order(
    cell: np.ndarray, gain_c: np.ndarray, case_id: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Positions sorted by cell, gain descending, case id, then position (stable): one lexsort
    on numbers; case ids are compared only inside runs of equal (cell, gain)."""
    n_cells = int(cell.max()) + 1 if len(cell) else 0
    if n_cells <= 4 * len(cell) + 1_000_000:
        order = K.sr_order(cell, gain_c, n_cells)
    else:
        order = np.lexsort((-gain_c, cell))
    c, gn = cell[order], gain_c[order]
    tie = np.zeros(len(order), dtype=bool)
    same = (c[1:] == c[:-1]) & (gn[1:] == gn[:-1])
    tie[1:] |= same
    tie[:-1] |= same
    if tie.any():
        at = np.flatnonzero(tie)
        run = np.cumsum(np.concatenate(([True], ~same))[at])  # a run id per tied position
        members = order[at]
        ids = case_id(members)
        # rank of each id among the tied ones (missing ids last), as sort_values orders them
        cat = pd.Categorical(ids, ordered=True)
        codes = cat.codes.astype(np.int64)
        codes = np.where(codes < 0, len(cat.categories), codes)
        order[at] = members[np.lexsort((members, codes, run))]
    return order


def select(cell: np.ndarray, gain_c: np.ndarray, case_id: Callable[[np.ndarray], np.ndarray],
           quotas: np.ndarray, approval_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Applied and approved (bool per position) among positive-gain candidates.

    ``cell``: int64 quota cell per candidate (0 … len(quotas) − 1); ``gain_c``: gain in cents
    (> 0); ``case_id(positions)``: their case ids (text, for ties); ``quotas``: cases that may
    apply per cell. Per cell, largest gain first, ties by case id then position; the first
    ``quotas[cell]`` apply and the first floor(``approval_rate`` × applied) are approved.
    """
    cell = np.ascontiguousarray(cell, dtype=np.int64)
    gain_c = np.ascontiguousarray(gain_c, dtype=np.float64)
    order = _selection_order(cell, gain_c, case_id)
    sc = cell[order]
    rank = _rank_in_runs(sc)
    is_applied = rank < quotas[sc]
    n_applied = np.bincount(sc[is_applied], minlength=len(quotas))
    is_ok = is_applied & (rank < quota(n_applied, approval_rate)[sc])
    applied = np.zeros(len(cell), dtype=bool)
    approved = np.zeros(len(cell), dtype=bool)
    applied[order[is_applied]] = True
    approved[order[is_ok]] = True
    return applied, approved


# ---- collect ---------------------------------------------------------------------------------


def _years(cases: pd.DataFrame) -> np.ndarray:
    if "year" not in cases.columns:
        return np.zeros(len(cases), np.int64)
    return pd.to_numeric(cases["year"], errors="coerce").fillna(0).to_numpy(np.int64)


def _positive(priced: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Gain in cents and the positive candidates (the cases the quota chooses among)."""
    gain_c = np.round(priced["sr_gain"].to_numpy(np.float64) * 100.0)
    return gain_c, priced["sr_candidate"].to_numpy(bool) & (gain_c > 0)


def review_facts(priced: pd.DataFrame, cases: pd.DataFrame, offset: int = 0
                 ) -> tuple[pa.Table, pd.DataFrame]:
    """What the special-review quota needs from one chunk of priced cases (row-wise part).

    Returns (positive candidates: row (``offset`` + position), hospital_id, year, period,
    gain_c and amount_c in cents, case_id; quota bases: hospital_id, year, period, n = cases
    not excluded). Both are small: candidates are a few per cent of cases.
    """
    codes, uniq = pd.factorize(priced["hospital_id"].astype("str").fillna(""))
    uniq = np.asarray(uniq, dtype=object)
    year = _years(cases)
    if len(year) and (year.min() < 0 or year.max() >= 1 << 20):
        raise ValueError("special review: a year outside 0..1048575")
    period = priced["sr_quarter"].to_numpy(np.int64)
    key = (codes.astype(np.int64) << 25) | (year << 4) | period  # hospital × year × period
    in_scheme = priced["case_class"].cat.codes.to_numpy() != CLASSES.index("excluded")
    ks, counts = np.unique(key[in_scheme], return_counts=True)
    bases = pd.DataFrame({"hospital_id": uniq[ks >> 25] if len(uniq) else np.zeros(0, object),
                          "year": (ks >> 4) & ((1 << 21) - 1), "period": ks & 15, "n": counts})
    gain_c, positive = _positive(priced)
    idx = np.flatnonzero(positive)
    pay_c = round_half_up_cents(priced["payment"].to_numpy(np.float64)[idx])
    cands = pa.table({
        "row": pa.array(idx.astype(np.int64) + offset),
        "hospital_id": pa.array(uniq[codes[idx]] if len(idx) else np.zeros(0, object), pa.string()),
        "year": pa.array(year[idx]), "period": pa.array(period[idx]),
        "gain_c": pa.array(gain_c[idx]), "amount_c": pa.array(gain_c[idx] + pay_c),
        "case_id": pa.array(priced["case_id"].iloc[idx].astype("str").to_numpy(object),
                            pa.large_string()),
    })
    return cands, bases


class ReviewLedger:
    """The special-review facts of every chunk, kept compactly until the quota is decided.

    Per positive candidate about 50 bytes (row, one int64 hospital × year × period key, gain and
    amount in cents, case id for ties); per hospital × year × period one count. Hospitals are
    numbered in order of appearance: the numbering only groups rows.
    """

    def __init__(self, spill_dir: str | Path | None = None, buckets: int = 16) -> None:
        self.hosp: dict[str, int] = {}
        self.base: dict[int, int] = {}
        # with a spill folder, candidates go to ``buckets`` files by hospital, and the quota is
        # decided one bucket at a time: memory stays flat however many cases there are
        self._spill = Spill(spill_dir, "review", buckets)

    def _key(self, hospital: np.ndarray, year: np.ndarray, period: np.ndarray) -> np.ndarray:
        codes, uniq = pd.factorize(np.asarray(hospital, dtype=object))
        glob = np.array([self.hosp.setdefault(u, len(self.hosp)) for u in uniq], dtype=np.int64)
        h = glob[codes] if len(codes) else np.zeros(0, np.int64)
        return (h << 25) | (np.asarray(year, np.int64) << 4) | np.asarray(period, np.int64)

    def add_facts(self, cands: pa.Table, bases: pd.DataFrame) -> None:
        """Add one chunk's :func:`review_facts` (chunks may come in any order)."""
        bk = self._key(bases["hospital_id"].to_numpy(object), bases["year"].to_numpy(),
                       bases["period"].to_numpy())
        for k, c in zip(bk.tolist(), bases["n"].tolist()):
            self.base[k] = self.base.get(k, 0) + int(c)
        key = self._key(cands.column("hospital_id").to_numpy(zero_copy_only=False),
                        cands.column("year").to_numpy(), cands.column("period").to_numpy())
        t = pa.table({
            "row": cands.column("row"), "key": pa.array(key, pa.int64()),
            "gain_c": cands.column("gain_c"), "amount_c": cands.column("amount_c"),
            "case_id": cands.column("case_id"),
        })
        self._spill.add(t, lambda: (key >> 25) % self._spill.buckets)  # by hospital

    def add(self, priced: pd.DataFrame, cases: pd.DataFrame, offset: int) -> None:
        """Add the facts of one chunk of priced cases starting at row ``offset``."""
        self.add_facts(*review_facts(priced, cases, offset))

    def select(self, policy) -> pd.DataFrame:
        """The choice of :func:`select` over all chunks, per hospital × year × period (one
        bucket of hospitals at a time). Returns the applied rows only (row, approved, amount in
        yuan), sorted by row; other positive candidates are over quota."""
        sp = policy.special_review
        found = []
        for t in self._spill.tables():
            if t.num_rows == 0:
                continue
            keys, cell = np.unique(t.column("key").to_numpy(), return_inverse=True)
            base = np.array([self.base.get(k, 0) for k in keys.tolist()], dtype=np.int64)
            case_id = t.column("case_id")

            def ids(pos: np.ndarray, case_id=case_id) -> np.ndarray:
                return np.asarray(case_id.take(pa.array(pos)).to_pylist(), dtype=object)

            applied, approved = select(cell.reshape(-1), t.column("gain_c").to_numpy(), ids,
                                       quota(base, sp.quota_rate, sp.quota_rounding), sp.approval_rate)
            amount = np.where(approved, t.column("amount_c").to_numpy() / 100.0, 0.0)
            found.append(pd.DataFrame({"row": t.column("row").to_numpy()[applied],
                                       "approved": approved[applied], "amount": amount[applied]}))
        if not found:
            return pd.DataFrame({"row": np.zeros(0, np.int64), "approved": np.zeros(0, bool),
                                 "amount": np.zeros(0)})
        out = pd.concat(found, ignore_index=True)
        return out.sort_values("row", kind="stable").reset_index(drop=True)


# ---- apply -----------------------------------------------------------------------------------


def apply_selection(priced: pd.DataFrame, sel: pd.DataFrame, offset: int) -> pd.DataFrame:
    """Set ``sr_applied, sr_approved, sr_status, sr_amount`` of rows ``offset``.. from the
    quota decision ``sel`` (:meth:`ReviewLedger.select`: the applied rows, sorted by row).

    Positive candidates not in ``sel`` are over quota; other rows keep their row-wise values.
    """
    _, pos = _positive(priced)
    if not pos.any():
        return priced
    lo, hi = np.searchsorted(sel["row"].to_numpy(), [offset, offset + len(priced)])
    part = sel.iloc[lo:hi]
    rows = part["row"].to_numpy() - offset
    ok = part["approved"].to_numpy(bool)
    # a shallow copy: the four replaced columns are new arrays, the others are shared
    out = priced.copy(deep=False)
    applied = np.zeros(len(out), bool)
    applied[rows] = True
    approved = np.zeros(len(out), bool)
    approved[rows] = ok
    amount = np.where(pos, 0.0, out["sr_amount"].to_numpy(np.float64))
    amount[rows] = part["amount"].to_numpy()
    # statuses as category codes: no per-row strings
    codes = out["sr_status"].astype(_STATUS_DTYPE).cat.codes.to_numpy(np.int8).copy()
    codes[pos] = STATUSES.index("over_quota")
    codes[rows] = np.where(ok, STATUSES.index("approved"), STATUSES.index("not_approved"))
    out["sr_applied"] = applied
    out["sr_approved"] = approved
    out["sr_status"] = pd.Categorical.from_codes(codes, dtype=_STATUS_DTYPE)
    out["sr_amount"] = amount
    return out


__all__ = ["STATUSES", "ReviewLedger", "apply_selection", "quota", "review_facts", "select"]
