"""Patient cost-sharing through the insurance layers (domain.md §9): one row per case.

Input columns (one row per admission):

- ``case_id`` (required; ties in discharge order are broken by it compared as text)
- ``patient_id`` (required), ``discharge_date`` (date; its calendar year is the person-year) or
  ``year`` (integer, then the order within a year is by case_id)
- ``hospital_level`` 1 | 2 | 3 (required), ``total_cost`` yuan ≥ 0 (required)
- ``insurance`` employee | resident (required)
- optional, blank or missing meaning the default: ``category`` general | retiree | minor |
  tekun | dibao | dibian | fanpin (general); ``referral`` none | up | down | irregular (none);
  ``out_of_area`` local | filed | unfiled (local); ``self_pay`` yuan (0);
  ``partial_self_pay`` yuan (0).

Money is rounded half-up to the cent on reading, self_pay then partial_self_pay clipped so their
sum never exceeds total_cost. An unknown code, a negative or missing required value raises
:class:`CostSharingInputError` naming the column, the first bad case and the allowed values.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from . import _benefit_kernels as BK
from .benefit_policy import (
    ASSISTANCE_CATEGORIES,
    CATEGORIES,
    INSURANCES,
    OUT_OF_AREA,
    REFERRALS,
    BenefitPolicy,
    CriticalScheme,
)
from .pricing import round_half_up_cents

#: the largest total_cost of one case, yuan (keeps the integer arithmetic exact)
MAX_CASE_COST = 100_000_000.0
_OPEN = np.int64(10**17)  # "no upper bound" in cents

OUTPUT_COLUMNS = ("case_id", "compliant", "deductible", "basic", "critical", "assistance",
                  "safety_net", "oop", "ratio", "reasons")

#: reason bit → label (joined with ";" in the ``reasons`` column)
REASONS = (
    (BK.R_RANK_FACTOR, "rank_factor"),
    (BK.R_UP, "referral_up"),
    (BK.R_UP_NO_PREVIOUS, "referral_up_no_previous"),
    (BK.R_DOWN, "referral_down"),
    (BK.R_IRREGULAR, "referral_irregular"),
    (BK.R_FILED, "out_of_area_filed"),
    (BK.R_UNFILED, "out_of_area_unfiled"),
    (BK.R_BASIC_CAP, "basic_cap_reached"),
    (BK.R_CRITICAL_BAND, "critical_band_crossed"),
    (BK.R_CRITICAL_CAP, "critical_cap_reached"),
    (BK.R_ASSISTANCE_CAP, "assistance_cap_reached"),
    (BK.R_SAFETY_NET, "safety_net_applied"),
)


class CostSharingInputError(ValueError):
    """Cases that cannot be cost-shared; the message names column, case and allowed values.

    For a bad value, ``column``, ``problem`` (the message after the column) and ``position``
    (0-based, of the first bad case in the table) let a caller that read the table from a file
    name the user's header and the spreadsheet row.
    """

    def __init__(self, message: str, column: str | None = None, problem: str | None = None,
                 position: int | None = None):
        super().__init__(message)
        self.column, self.problem, self.position = column, problem, position


def _frac(x: float) -> Fraction:
    return Fraction(repr(float(x)))


def _cents(x: float) -> np.int64:
    return np.int64(_frac(x) * 100)


def _e4(x: float) -> np.int64:
    return np.int64(_frac(x) * 10_000)


# --- policy → integer tables ----------------------------------------------------------------


def _basic_tables(policy: BenefitPolicy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """band uppers (cents), rows of band ratios (1e-8) per combo, and the combo strides.

    combo = (((ins × 3 + level) × 7 + category) × 3 + out_of_area) × 2 + irregular.
    """
    rp = policy.ratio
    bands = rp.bands
    if bands:
        uppers = np.array([_cents(b.upto) if b.upto is not None else _OPEN for b in bands])
    else:
        uppers = np.array([_OPEN])
    nb = uppers.shape[0]
    rows = np.zeros((2 * 3 * 7 * 3 * 2, nb), dtype=np.int64)
    ooa_points = (Fraction(0), _frac(rp.filed_points), _frac(rp.unfiled_points))
    idx = 0
    for k, insurance in enumerate(INSURANCES):
        table = getattr(rp, insurance)
        for lv in range(3):
            base = [_frac(b.ratio) for b in bands] if bands else [_frac(table[lv])]
            for category in CATEGORIES:
                for oo in range(3):
                    for irr in range(2):
                        for b, r in enumerate(base):
                            if category == "retiree":
                                r = 1 - (1 - r) * _frac(rp.retiree_share_factor)
                            if category == "minor":
                                r += _frac(rp.minor_points)
                            r += ooa_points[oo]
                            if irr:
                                r += _frac(rp.irregular_points)
                            r = min(Fraction(1), max(Fraction(0), r))
                            rows[idx, b] = int(r * BK.E8)
                        idx += 1
        del k
    return uppers, rows, np.array([3 * 7 * 3 * 2, 7 * 3 * 2, 3 * 2, 2, 1], dtype=np.int64)


def _critical_tables(policy: BenefitPolicy) -> dict[str, np.ndarray]:
    cp = policy.critical
    schemes: list[CriticalScheme] = [getattr(cp, ins) for ins in INSURANCES]
    nb = max(len(s.bands) for s in schemes)
    up = np.full((2, nb), _OPEN, dtype=np.int64)
    r = np.zeros((4, nb), dtype=np.int64)
    ded = np.zeros(4, dtype=np.int64)
    cap = np.zeros(4, dtype=np.int64)
    for k, s in enumerate(schemes):
        base_ded = _cents(s.deductible)
        if s.income is not None:
            base_ded = int((_frac(s.income_share) * _frac(s.income) * 100 + Fraction(1, 2)) // 1)
        for b, band in enumerate(s.bands):
            up[k, b] = _cents(band.upto) if band.upto is not None else _OPEN
        for t in range(2):
            ci = k * 2 + t
            d = base_ded
            if t:
                d = int((_frac(cp.tilt_deductible_factor) * d + Fraction(1, 2)) // 1)
            ded[ci] = d
            for b, band in enumerate(s.bands):
                ratio = _frac(band.ratio) + (_frac(cp.tilt_points) if t else 0)
                r[ci, b] = int(min(Fraction(1), max(Fraction(0), ratio)) * BK.E4)
            cap[ci] = -1 if (t and cp.tilt_no_cap) else _cents(s.cap)
    on = np.array([s.enabled for s in schemes], dtype=np.bool_)
    tilt = np.array([c in cp.tilt_categories for c in CATEGORIES], dtype=np.int64)
    return {"crit_on": on, "crit_ded": ded, "crit_up": up, "crit_r": r, "crit_cap": cap,
            "tilt": tilt, "base_partial": bool(cp.base_includes_partial_self_pay)}


def _assistance_tables(policy: BenefitPolicy) -> dict[str, np.ndarray]:
    n = len(CATEGORIES)
    on = np.zeros(n, dtype=np.bool_)
    r = np.zeros(n, dtype=np.int64)
    ded = np.zeros(n, dtype=np.int64)
    cap = np.zeros(n, dtype=np.int64)
    for j, c in enumerate(CATEGORIES):
        if c in ASSISTANCE_CATEGORIES:
            s = getattr(policy.assistance, c)
            on[j], r[j], ded[j], cap[j] = True, _e4(s.ratio), _cents(s.deductible), _cents(s.cap)
    sn = policy.safety_net
    sn_on = np.array([sn.enabled and c in sn.categories for c in CATEGORIES], dtype=np.bool_)
    sn_caps = np.array([_cents(sn.county), _cents(sn.city), _cents(sn.province)])
    return {"asst_on": on, "asst_r": r, "asst_ded": ded, "asst_cap": cap, "sn_on": sn_on,
            "sn_caps": sn_caps}


# --- input → arrays --------------------------------------------------------------------------


def _bad(col: str, cases: pd.DataFrame, mask: np.ndarray, message: str, allowed: str) -> None:
    i = np.flatnonzero(mask)[0]
    first = cases["case_id"].to_numpy()[i]
    value = cases[col].to_numpy()[i] if col in cases.columns else None
    shown = "" if value is None or (isinstance(value, float) and np.isnan(value)) else f" {value!r}"
    problem = (f"{message}{shown} ({int(mask.sum())} cases, first case_id {first!r}); "
               f"allowed: {allowed}")
    raise CostSharingInputError(f"column {col!r}: {problem}", col, problem, int(i))


def _codes(cases: pd.DataFrame, col: str, values: tuple[str, ...], default: str | None) -> np.ndarray:
    if col not in cases.columns:
        if default is None:
            raise CostSharingInputError(f"missing required column {col!r}; allowed values: "
                                        f"{', '.join(values)}")
        return np.full(len(cases), values.index(default), dtype=np.int8)
    # one hash pass over the column, then the text rules on its few distinct values
    raw, uniq = pd.factorize(cases[col])
    text = pd.Series(np.asarray(uniq, dtype=object)).astype(str).str.strip()
    u_blank = np.append((text == "").to_numpy(), True)  # the appended slot is NA (raw == -1)
    u_code = np.append(pd.Index(list(values)).get_indexer(text.str.lower()), -1)
    blank = u_blank[raw]
    if default is None and blank.any():
        _bad(col, cases, blank, "blank value in a required column", ", ".join(values))
    codes = u_code.astype(np.int8)[raw]
    unknown = (codes < 0) & ~blank
    if unknown.any():
        _bad(col, cases, unknown, "unknown code", ", ".join(values))
    if default is not None:
        codes[blank] = values.index(default)
    return codes


def _money(cases: pd.DataFrame, col: str, required: bool) -> np.ndarray:
    if col not in cases.columns:
        if required:
            raise CostSharingInputError(f"missing required column {col!r}; allowed: yuan >= 0")
        return np.zeros(len(cases), dtype=np.int64)
    x = pd.to_numeric(cases[col], errors="coerce").to_numpy(dtype=np.float64)
    raw_blank = cases[col].isna().to_numpy()
    bad = np.isnan(x) & ~raw_blank
    if bad.any():
        _bad(col, cases, bad, "not a number", "yuan >= 0")
    if required and raw_blank.any():
        _bad(col, cases, raw_blank, "blank value in a required column", "yuan >= 0")
    x = np.where(raw_blank, 0.0, x)
    out_of_range = (x < 0) | (x > MAX_CASE_COST) | ~np.isfinite(x)
    if out_of_range.any():
        _bad(col, cases, out_of_range, "out of range", f"yuan 0 … {MAX_CASE_COST:g}")
    return round_half_up_cents(x).astype(np.int64)


def _dense_rank(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense rank of a few distinct values (equal values share a rank) and the number of ranks."""
    u, inv = np.unique(values, return_inverse=True)
    return inv.reshape(-1).astype(np.int64), len(u)


def _order(cases: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(walk order by person-year then discharge order, person codes, years), §9.

    Keys are hashed once per column and parsed once per distinct value; rows are put in order by
    two counting passes (persons, discharge times), and only rows whose person and discharge
    time tie are ordered by case_id compared as text.
    """
    if "patient_id" not in cases.columns:
        raise CostSharingInputError("missing required column 'patient_id'")
    pid = cases["patient_id"]
    if pid.isna().any():
        _bad("patient_id", cases, pid.isna().to_numpy(), "blank value", "any identifier")
    raw, uniq = pd.factorize(pid)
    if pd.api.types.is_string_dtype(pid.dtype) and not pd.api.types.is_object_dtype(pid.dtype):
        # a text column: its distinct values are distinct texts already
        person, n_persons = raw.astype(np.int32), len(uniq)
    else:
        # ids compared as text (1 and "1" are one person)
        same_text, u_text = pd.factorize(pd.Index(np.asarray(uniq, dtype=object)).astype(str))
        person = same_text.astype(np.int32)[raw]
        n_persons = len(u_text)
    if "discharge_date" in cases.columns:
        raw, uniq = pd.factorize(cases["discharge_date"])
        # parsed once per distinct value; the first distinct value is the column's first
        # non-blank one, so the inferred format is the one the whole column would get
        ud = pd.to_datetime(pd.Index(np.asarray(uniq, dtype=object)), errors="coerce")
        u_ns = np.append(ud.to_numpy().astype("datetime64[ns]").astype(np.int64), 0)
        u_bad = np.append(ud.isna(), True)
        bad = u_bad[raw]
        if bad.any():
            _bad("discharge_date", cases, bad, "blank or not a date", "a date (YYYY-MM-DD)")
        year = np.append(ud.year.to_numpy(dtype=np.int32), 0)[raw]
        when_u, n_when = _dense_rank(u_ns[:-1])
        when = when_u[raw]
    elif "year" in cases.columns:
        y = pd.to_numeric(cases["year"], errors="coerce")
        bad = (y.isna() | (y != y.round())).to_numpy()
        if bad.any():
            _bad("year", cases, bad, "blank or not an integer year", "an integer year")
        year = y.to_numpy(dtype=np.int64)
        when, n_when = _dense_rank(year)
        year = year.astype(np.int32)
    else:
        raise CostSharingInputError("missing column: give 'discharge_date' or 'year'")
    order = BK.person_year_order(person, np.int64(n_persons), when, np.int64(n_when))
    sp, sw = person[order], when[order]
    same = (sp[1:] == sp[:-1]) & (sw[1:] == sw[:-1])
    if same.any():
        member = np.zeros(len(order), dtype=np.bool_)
        member[1:] |= same
        member[:-1] |= same
        pos = np.flatnonzero(member)
        run = np.concatenate(([0], np.cumsum(~same)))[pos]
        rows = order[pos]
        cid = cases["case_id"].iloc[rows].astype(str).to_numpy(dtype=str)
        order[pos] = rows[np.lexsort((cid, run))]
    return order, person, year


def _reason_text(bits: np.ndarray) -> pd.Series:
    """Reason labels per case: one label per distinct bit pattern (< 4096), then one take in
    the default text dtype (no per-case string object is built or re-inferred)."""
    present = np.flatnonzero(np.bincount(bits))
    labels = [""] * (int(present[-1]) + 1 if len(present) else 1)
    for u in present:
        labels[u] = ";".join(name for bit, name in REASONS if u & bit)
    return pd.Series(labels).take(bits).reset_index(drop=True)


def cost_sharing(cases: pd.DataFrame, policy: BenefitPolicy) -> pd.DataFrame:
    """Per-case layers (yuan, to the cent) in input order: compliant cost, deductible charged,
    basic fund, critical illness, medical assistance, safety net, out-of-pocket, the basic ratio
    applied (first band's when bands are on) and the reasons; total_cost = basic + critical +
    assistance + safety_net + oop exactly."""
    n = len(cases)
    if "case_id" not in cases.columns:
        raise CostSharingInputError("missing required column 'case_id'")
    if n == 0:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("case_id", "reasons")
                                          else np.float64) for c in OUTPUT_COLUMNS}
                            ).astype({"compliant": np.float64})
    order, person, year = _order(cases)
    lv = pd.to_numeric(cases.get("hospital_level"), errors="coerce") \
        if "hospital_level" in cases.columns else None
    if lv is None:
        raise CostSharingInputError("missing required column 'hospital_level'; allowed: 1, 2, 3")
    badlv = ~lv.isin([1, 2, 3]).to_numpy()
    if badlv.any():
        _bad("hospital_level", cases, badlv, "unknown or blank level", "1, 2, 3")
    # small integer codes: the kernel's inputs stay a few bytes per case (issue 14's memory)
    level = (lv.to_numpy(dtype=np.int64) - 1).astype(np.int8)
    ins = _codes(cases, "insurance", INSURANCES, None)
    cat = _codes(cases, "category", CATEGORIES, "general")
    ref = _codes(cases, "referral", REFERRALS, "none")
    ooa = _codes(cases, "out_of_area", OUT_OF_AREA, "local")
    total = _money(cases, "total_cost", True)
    self_pay = np.minimum(_money(cases, "self_pay", False), total)
    partial = np.minimum(_money(cases, "partial_self_pay", False), total - self_pay)

    band_up, band_r, strides = _basic_tables(policy)
    combo = (ins * strides[0] + level * strides[1] + cat * strides[2] + ooa * strides[3]
             + (ref == 3) * strides[4]).astype(np.int16)  # < 2·3·7·3·2 = 252
    ded_table = np.array([[_cents(v) for v in getattr(policy.deductible, k)] for k in INSURANCES])
    rank_f = np.array([_e4(f) for f in policy.deductible.rank_factors], dtype=np.int64)
    basic_cap = np.array([_cents(policy.basic.employee_cap), _cents(policy.basic.resident_cap)])
    crit = _critical_tables(policy)
    asst = _assistance_tables(policy)

    # the eight money/ratio columns in one block the result frame wraps without a copy
    vals = np.empty((8, n), dtype=np.float64)
    outs = list(vals)
    reason = np.empty(n, dtype=np.int16)
    BK.cost_sharing_kernel(
        order, person, year, level, ins, cat, ref, ooa, total, self_pay, partial,
        ded_table, rank_f, combo, band_up, band_r, basic_cap,
        crit["crit_on"], crit["crit_ded"], crit["crit_up"], crit["crit_r"], crit["crit_cap"],
        crit["tilt"], crit["base_partial"],
        asst["asst_on"], asst["asst_r"], asst["asst_ded"], asst["asst_cap"], asst["sn_on"],
        asst["sn_caps"], *outs, reason,
    )
    out = pd.DataFrame(vals.T, columns=list(OUTPUT_COLUMNS[1:-1]), copy=False)
    # the input's own column (no per-row conversion), in input order
    out.insert(0, "case_id", cases["case_id"].array)
    out["reasons"] = _reason_text(reason)
    return out
