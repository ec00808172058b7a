"""The readmission rule (§5, semantics §13) over a whole table or over its parts.

A stay is penalised when the same patient's next stay is in the same group within
``readmission.window_days`` (:func:`payment.outliers.readmission_flags`). The rule looks across
cases, so it runs in three steps that work on a whole table and on partial data alike:

1. **collect** per table or chunk the compact facts of the stays the rule can order
   (:func:`case_stays`; :meth:`CrossCaseLedger.collect` for chunks, priced without penalties);
2. **decide** once over all facts (:func:`penalised`; :meth:`CrossCaseLedger.decide`, one
   patient bucket at a time);
3. **apply** per chunk: :func:`payment.price` with ``readmit_flags`` (:meth:`CrossCaseLedger.flags`).

:func:`payment.price` on a whole table runs the three steps in memory; ``drgsim.stream`` and
``drgsim.dask_engine`` run them over chunks and partitions. A budget point value waits on the
same decision (penalised points count × factor), so the ledger also keeps the exact Σ points.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .budget import PointsSum
from .outliers import CLASSES, prefix_match, readmission_flags
from .spill import Spill
from .tables import DAY_UNKNOWN, day_numbers, group_names, text_column
from .weights import factorize

#: Case columns the rule reads (besides hospital and group).
COLUMNS = ("patient_id", "admission_date", "discharge_date")

_EXCLUDED = CLASSES.index("excluded")
_UNGROUPABLE = CLASSES.index("ungroupable")


def needs_first_pass(policy) -> bool:
    """Whether pricing under ``policy`` looks across cases before yuan can be computed: the
    readmission rule (a patient's other stays) or a budget point value (Σ points of all)."""
    return bool(policy.readmission.enabled or policy.point_value.source == "budget")


def check_row_wise(policy, *, special_review: bool = True) -> None:
    """Raise when pricing under ``policy`` needs a step that looks across cases but the caller
    prices chunks independently (``drgsim.dask_engine.price_rows``).

    ``drgsim.stream.group_price_file`` and ``drgsim.dask_engine.price`` do those steps exactly
    in extra passes (:class:`CrossCaseLedger`, :class:`payment.review_selection.ReviewLedger`).
    """
    problems = []
    if policy.readmission.enabled:
        problems.append("readmission.enabled = true (the rule looks at a patient's other stays)")
    if policy.point_value.source == "budget":
        problems.append('point_value.source = "budget" (yuan per point depends on all cases)')
    if problems:
        raise ValueError("cannot price chunk by chunk exactly: " + "; ".join(problems)
                         + ". Use stream.group_price_file / dask_engine.price, or payment.price.")


# ---- collect ---------------------------------------------------------------------------------


def patient_codes(values: pd.Series) -> tuple[np.ndarray, pa.Array | np.ndarray]:
    """Int64 codes of patient ids (-1 for missing or empty text) and their dictionary (the id of
    code k is ``dictionary[k]``). Any numbering gives the same readmission flags, so Arrow text
    is dictionary-encoded and the (large) dictionary is neither sorted nor made Python objects."""
    from . import _kernels as K

    arr = values.array
    pa_arr = getattr(arr, "_pa_array", None)
    if pa_arr is None or not (pa.types.is_string(pa_arr.type)
                              or pa.types.is_large_string(pa_arr.type)):
        return factorize(values)
    enc = pa_arr.combine_chunks().dictionary_encode()
    idx = enc.indices
    if idx.null_count:
        idx = pc.fill_null(idx, -1)
    empty = pc.equal(enc.dictionary, "").to_numpy(zero_copy_only=False)
    rank = np.where(empty, -1, np.arange(len(empty))).astype(np.int64)
    return K.remap_codes(idx.to_numpy(zero_copy_only=False).astype(np.int64), rank), enc.dictionary


class Stays(NamedTuple):
    """What the rule reads of each case (one entry per row, row order)."""

    patient: np.ndarray       #: int64 patient code, -1 unknown
    patients: pa.Array | np.ndarray  #: the patient ids of the codes
    hospital: np.ndarray      #: int64 hospital code, -1 unknown
    admit: np.ndarray         #: int64 admission day, DAY_UNKNOWN unknown
    discharge: np.ndarray     #: int64 discharge day, DAY_UNKNOWN unknown
    group: np.ndarray         #: int64 group index, -1 none or unknown
    eligible: np.ndarray      #: bool: may be penalised (not excluded, not ungroupable)

    @property
    def known(self) -> np.ndarray:
        """Stays the rule can order: patient and both dates known."""
        return (self.patient >= 0) & (self.admit != DAY_UNKNOWN) & (self.discharge != DAY_UNKNOWN)


def case_stays(cases: pd.DataFrame, cls: np.ndarray, group: np.ndarray,
               hospital: np.ndarray) -> Stays:
    """The rule's facts of priced cases: ``cls`` class codes before readmission
    (:data:`payment.outliers.CLASSES`), ``group`` index per case (< 0 none), ``hospital`` codes."""
    p, ids = patient_codes(text_column(cases, "patient_id"))
    cls = np.asarray(cls)
    return Stays(p, ids, np.asarray(hospital, np.int64),
                 day_numbers(cases, "admission_date"), day_numbers(cases, "discharge_date"),
                 np.where(group >= 0, group, -1).astype(np.int64),
                 (cls != _EXCLUDED) & (cls != _UNGROUPABLE))


def exempt_groups(names: np.ndarray, rule) -> np.ndarray:
    """Bool per group index: exempt from the rule (``exempt_groups`` / ``exempt_prefixes``)."""
    return prefix_match(names, rule.exempt_groups, rule.exempt_prefixes)


# ---- decide ----------------------------------------------------------------------------------


def penalised(stays: Stays, exempt: np.ndarray, rule) -> np.ndarray:
    """Bool per stay: penalised for a readmission. ``stays`` must hold every stay of their
    patients, in input order (the rule's last tie-break)."""
    return readmission_flags(stays.patient, stays.hospital, stays.admit, stays.discharge,
                             stays.group, stays.eligible, exempt, rule)


def flags_of(rows: np.ndarray, offset: int, n: int) -> np.ndarray:
    """Bool flags of rows ``offset`` … ``offset + n - 1`` from the sorted penalised ``rows``."""
    lo, hi = np.searchsorted(rows, [offset, offset + n])
    out = np.zeros(n, bool)
    out[rows[lo:hi] - offset] = True
    return out


class CrossFacts(NamedTuple):
    """One chunk's compact facts (picklable: Dask workers return them to the client).

    ``stays`` numbers hospitals 0, 1, … within the chunk; ``hospitals`` holds their ids."""

    stays: pa.Table | None
    hospitals: list[str]
    partials: list[float]
    nonfinite: list[float]


class CrossCaseLedger:
    """Collect / decide / apply of the readmission rule and a budget Σ points over chunks.

    Each chunk is priced with no readmission penalty (``payment.price(...,
    readmit_flags=zeros)``), and :meth:`collect` keeps, per stay the rule can order (patient id
    and both dates known), a compact fact: row, patient id, hospital, admission and discharge
    day, group index, whether it may be penalised, and its points. With a spill folder the facts
    go to ``buckets`` Arrow files by a hash of the patient id, so every bucket holds all stays
    of its patients; :meth:`decide` then runs :func:`penalised` on one bucket at a time, so the
    flags are exactly the whole-table ones and memory stays flat (the result kept is the
    penalised rows, 8 bytes each).

    For ``point_value.source = "budget"`` the points of every stay are summed exactly
    (:class:`payment.budget.PointsSum`); the points of stays that may still be penalised are
    added by :meth:`decide` once their flag is known, so ``points_total`` is the
    :func:`payment.budget.total_points` of the whole table.
    """

    def __init__(self, weights, policy, spill_dir: str | Path | None = None,
                 buckets: int = 64) -> None:
        self.rule = policy.readmission
        self.readmit = bool(self.rule.enabled)
        self.budget = policy.point_value.source == "budget"
        names = group_names(weights, policy)
        self.index = pd.Index(names)
        self.exempt = exempt_groups(names, self.rule)
        self.points = PointsSum()
        self.hosp: dict[str, int] = {}
        self._spill = Spill(spill_dir, "readmit", buckets)
        self.flag_rows: np.ndarray | None = None
        self.points_total: float | None = None

    def collect(self, priced: pd.DataFrame, cases: pd.DataFrame, offset: int) -> CrossFacts:
        """Facts of one chunk priced with ``readmit_flags`` all False, rows from ``offset``
        (reads the ledger's tables only: may run on a worker with a fresh ledger)."""
        n = len(priced)
        pts = priced["points"].to_numpy(np.float64)
        later = np.zeros(n, bool)  # stays whose points wait for their flag
        stays = None
        if self.readmit and all(c in cases.columns for c in COLUMNS):
            gtext = text_column(priced, "group")
            codes, uniq = pd.factorize(gtext, use_na_sentinel=False)
            gmap = (self.index.get_indexer(pd.Index(uniq)) if len(uniq)
                    else np.zeros(0, np.int64)).astype(np.int64)
            gmap = np.where(np.asarray(uniq, object) == "", -1, gmap)
            hcodes, huniq = pd.factorize(text_column(cases, "hospital_id"))
            s = case_stays(cases, priced["case_class"].cat.codes.to_numpy(), gmap[codes], hcodes)
            ok = s.known
            idx = np.flatnonzero(ok)
            later = ok & s.eligible
            ids = np.asarray(s.patients, dtype=object) if not isinstance(s.patients, pa.Array) \
                else s.patients.to_numpy(zero_copy_only=False)
            stays = pa.table({
                "row": pa.array(idx.astype(np.int64) + offset),
                "patient": pa.array(ids[s.patient[idx]] if len(idx) else np.zeros(0, object),
                                    pa.large_string()),
                "hospital": pa.array(s.hospital[idx]),
                "admit": pa.array(s.admit[idx]), "discharge": pa.array(s.discharge[idx]),
                "group": pa.array(s.group[idx]),
                "eligible": pa.array(s.eligible[idx]), "points": pa.array(pts[idx]),
            })
        part = PointsSum()
        if self.budget:
            part.add(pts[~later])
        hospitals = [] if stays is None else [str(u) for u in huniq]
        return CrossFacts(stays, hospitals, part.partials, part.nonfinite)

    def add(self, priced: pd.DataFrame, cases: pd.DataFrame, offset: int) -> None:
        """:meth:`collect` one chunk and :meth:`merge` its facts."""
        self.merge(self.collect(priced, cases, offset))

    def merge(self, facts: CrossFacts) -> None:
        """Add one chunk's facts; chunks must come in input order."""
        if facts.stays is not None:
            # chunk hospital numbers → ledger numbers (order of appearance; "" is -1)
            glob = np.array([-1 if u == "" else self.hosp.setdefault(u, len(self.hosp))
                             for u in facts.hospitals] or [-1], dtype=np.int64)
            t = facts.stays
            t = t.set_column(t.schema.get_field_index("hospital"), "hospital",
                             pa.array(glob[t.column("hospital").to_numpy()]))

            def bucket() -> np.ndarray:  # by patient: a bucket holds all stays of its patients
                patients = t.column("patient").to_numpy(zero_copy_only=False)
                return (pd.util.hash_array(patients, categorize=True)
                        % np.uint64(self._spill.buckets)).astype(np.int64)

            self._spill.add(t, bucket)
        self.points.merge(facts.partials, facts.nonfinite)

    def decide(self) -> None:
        """Penalised rows (``flag_rows``, sorted) and, for a budget, ``points_total``."""
        found = [np.zeros(0, np.int64)]
        for t in self._spill.tables():
            if t.num_rows == 0:
                continue
            # rows of a bucket are in input order (chunks arrive in order), as the rule needs
            # for its last tie-break
            eligible = t.column("eligible").to_numpy(zero_copy_only=False)
            stays = Stays(
                pd.factorize(t.column("patient").to_numpy(zero_copy_only=False))[0].astype(np.int64),
                np.zeros(0, object),
                t.column("hospital").to_numpy(),
                t.column("admit").to_numpy(), t.column("discharge").to_numpy(),
                t.column("group").to_numpy(), eligible)
            pen = penalised(stays, self.exempt, self.rule)
            found.append(t.column("row").to_numpy()[pen])
            if self.budget:
                pts = t.column("points").to_numpy()[eligible]
                self.points.add(np.where(pen[eligible], pts * self.rule.factor, pts))
        self.flag_rows = np.sort(np.concatenate(found))
        if self.budget:
            self.points_total = self.points.total()

    def flags(self, offset: int, n: int) -> np.ndarray | None:
        """Readmission flags of rows ``offset`` … ``offset + n - 1`` (None: rule off)."""
        if not self.readmit:
            return None
        return flags_of(self.flag_rows, offset, n)


__all__ = [
    "COLUMNS", "CrossCaseLedger", "CrossFacts", "Stays", "case_stays", "check_row_wise",
    "exempt_groups", "flags_of", "needs_first_pass", "patient_codes", "penalised",
]
