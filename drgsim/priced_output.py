"""What ``drgsim price`` adds to :func:`payment.price`'s table, in one place for its in-memory
and streaming paths: the final amount per case, the output headers, the hospitals of the cases
and the warning about those the weights hold no coefficient for.

The streaming path (:func:`drgsim.stream.group_price_file`, its ``finish`` hook) applies
:func:`finish_priced` to every chunk it writes and feeds :class:`HospitalIds` from them, so a file priced in chunks gives
the same columns, values and warning as the same file priced whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

__all__ = ["HospitalIds", "finish_priced", "hospital_ids", "missing_hospitals",
           "missing_hospitals_warning"]


def finish_priced(priced: pd.DataFrame) -> pd.DataFrame:
    """``priced`` with ``final_amount`` after its columns (yuan: the approved special-review
    amount, else ``payment``; :func:`payment.hospital_analysis.final_amounts`)."""
    from payment.hospital_analysis import final_amounts

    out = priced.copy(deep=False)
    out["final_amount"] = final_amounts(priced)
    return out


class HospitalIds:
    """The distinct non-blank hospital ids of tables seen one after another (chunks)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def add(self, df: pd.DataFrame) -> None:
        """Take the ``hospital_id`` values of ``df`` (nothing when it has no such column)."""
        if "hospital_id" in df.columns:
            s = df["hospital_id"].astype("string").dropna()
            self.ids.update(s[s != ""].unique().tolist())

    def sorted(self) -> list[str]:
        return sorted(self.ids)


def hospital_ids(cases: str | Path | pd.DataFrame) -> list[str]:
    """Distinct hospital ids of a case table, or of a case file read one column at a time in
    chunks (memory: the ids only), as :func:`grouper.read_table` types them."""
    seen = HospitalIds()
    if isinstance(cases, pd.DataFrame):
        seen.add(cases)
        return seen.sorted()
    from grouper.cases import canonicalise

    from .sources import CaseSource

    src = CaseSource(cases, columns=["hospital_id"])
    for t in src.tables():
        seen.add(canonicalise(t.to_pandas(), str(cases), required=()))
    return seen.sorted()


def missing_hospitals(ids: Iterable[str] | pd.DataFrame, w, pol) -> list[str]:
    """Hospital ids (of a case table, or given) that the weights hold no coefficient for,
    under a policy with hospital coefficients (they are priced with the policy's
    ``new_group`` coefficient); sorted."""
    if pol.coefficients.mode != "hospital":
        return []
    if isinstance(ids, pd.DataFrame):
        ids = hospital_ids(ids)
    known = set(w.hospital_groups["hospital_id"].astype(str)) | set(w.hospitals["hospital_id"].astype(str))
    return sorted({str(h) for h in ids if str(h) != ""} - known)


def missing_hospitals_warning(missing: list[str], cases, weights, pol) -> str | None:
    """The one-line warning about ``missing`` hospitals (rich markup), None when there are none."""
    if not missing:
        return None
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5:,} more" if len(missing) > 5 else "")
    return (f"[yellow]warning:[/yellow] {len(missing):,} hospital(s) of {cases} have no "
            f"coefficient in the weights {weights} ({shown}); their cases are priced "
            f"with the new-group coefficient {pol.coefficients.new_group:g}")
