"""What a re-price leaves alone: the case-constant columns settlement and the what-if basis read,
converted once per row set and reused (the dashboard's re-pricing path).

Re-pricing the same cases under another pricing policy changes their classes, points, payments
and special-review columns, never their hospital, level, total cost, month, patient payment,
alliance or group. :func:`text_codes` converts those once (hospital text → sorted codes as
:func:`payment.settlement.prepare` makes them, the group and alliance text factorized, the
numbers read as settlement reads them); :func:`payment.settlement.prepare` and
:func:`payment.whatif.build_cells` take the result as ``codes=`` and then read only the
columns pricing wrote. The aggregates are the same as without it, to the bit (tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._settle_prepare import _column, _hospital_codes

__all__ = ["TextCodes", "check_codes", "text_codes"]


@dataclass(frozen=True)
class TextCodes:
    """Case-constant columns of one row set (``n`` rows, that order), converted once.

    ``hospital``, ``group``, ``alliance``: (codes int64, uniques object) of the text (missing
    = ""); ``hospital_ids`` / ``hospital_rank``: the sorted hospital ids and each row's index in
    them (settlement's coding); ``level`` (int64), ``total_cost``, ``patient_paid``, ``month``
    (float64, missing → 0) as settlement reads them; ``patient_paid_known``: the column is
    there, ``patient_paid_missing``: which rows lack it. Valid for any priced table of the
    same rows in the same order.
    """

    n: int
    hospital: tuple[np.ndarray, np.ndarray]
    group: tuple[np.ndarray, np.ndarray]
    alliance: tuple[np.ndarray, np.ndarray] | None
    hospital_ids: np.ndarray
    hospital_rank: np.ndarray
    level: np.ndarray
    total_cost: np.ndarray
    patient_paid: np.ndarray
    patient_paid_known: bool
    patient_paid_missing: np.ndarray
    month: np.ndarray


def _factorize_text(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniq = pd.factorize(s.astype("string").fillna("").to_numpy(dtype=object))
    return np.asarray(codes, dtype=np.int64), np.asarray(uniq, dtype=object)


def text_codes(priced: pd.DataFrame, group_column: str = "group") -> TextCodes:
    """Convert the case-constant columns of ``priced`` once (see :class:`TextCodes`)."""
    n = len(priced)
    grp = (_factorize_text(priced[group_column]) if group_column in priced.columns
           else (np.zeros(n, dtype=np.int64), np.array([""], dtype=object)))
    al = _factorize_text(priced["alliance_id"]) if "alliance_id" in priced.columns else None
    ids, rank = _hospital_codes(priced["hospital_id"])
    known = "patient_paid" in priced.columns
    missing = (priced["patient_paid"].isna().to_numpy(dtype=bool) if known
               else np.ones(n, dtype=bool))
    return TextCodes(
        n=n, hospital=_factorize_text(priced["hospital_id"]), group=grp, alliance=al,
        hospital_ids=ids, hospital_rank=np.asarray(rank, dtype=np.int64),
        level=_column(priced, "hospital_level", 0.0).astype(np.int64),
        total_cost=_column(priced, "total_cost"),
        patient_paid=_column(priced, "patient_paid"), patient_paid_known=known,
        patient_paid_missing=missing, month=_column(priced, "month", 0.0))


def check_codes(codes: TextCodes, priced: pd.DataFrame, where: str) -> None:
    """``ValueError`` naming ``where`` when ``codes`` were made for another number of rows."""
    if codes.n != len(priced):
        raise ValueError(f"{where}: codes are for {codes.n} rows, the table has {len(priced)}")
