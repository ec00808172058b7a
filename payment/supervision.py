"""Supervision signals (智能监管), domain.md §10: the [supervision] policy and split admissions.

The other signals (upcoding, low-standard admissions, patient selection, restricted codes) are
in :mod:`payment.signals`; all use :func:`robust_scores` and :func:`peer_values` below.

``split_admissions(grouped, policy)`` returns ``(case_flags, hospital_signals)``:

- ``case_flags``: ``case_id, signal, detail`` then ``other_case_id, gap_days, pair_id, hospital_id`` — one
  row per stay per pair (both stays of a pair are listed; the detail names the other stay);
- ``hospital_signals``: ``hospital_id, signal, value, peer_value, score, flagged`` then
  ``hospital_level, flagged_stays, discharges``.

A pair is a stay and the same patient's next stay by admission date (any hospital) with
gap = next admission − previous discharge in days, ``0 ≤ gap ≤ window_days``, both stays
grouped (status SUCCESS), the same ADRG (``match = "adrg"``, default) or MDC (``"mdc"``), and
neither stay's ADRG exempt (chemotherapy RB1/RB2/RE1, radiotherapy RC1, dialysis LL1 by default).
Stays without a patient id or a readable date take part in no pair.

The hospital's value = its stays in a pair ÷ its discharges (all its rows). The peer value is the
pooled rate of the other hospitals of its level. The score is a robust z-score within the level:
(value − median) ÷ max(1.4826 × MAD, ``min_scale``), comparable across levels, higher for more
suspicious; ``flagged`` = score ≥ ``flag_score`` and at least ``min_stays`` stays in pairs.
Thresholds are policy data (:class:`SupervisionPolicy`, TOML table ``[supervision]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .policy import PolicyError
from .weights import factorize

SIGNALS = ("split_admission", "upcoding", "low_standard_admission", "patient_selection",
           "restricted_code")
CASE_FLAG_COLUMNS = ("case_id", "signal", "detail")
HOSPITAL_SIGNAL_COLUMNS = ("hospital_id", "signal", "value", "peer_value", "score", "flagged")
LABELS_ZH = {
    "split_admission": "分解住院", "upcoding": "高套", "low_standard_admission": "低标入院",
    "patient_selection": "推诿", "restricted_code": "性别/年龄限定编码",
    "value": "本院值", "peer_value": "同级值", "score": "得分", "flagged": "疑点",
    "case_id": "病例号", "signal": "疑点类型", "detail": "说明",
}
MAD_SCALE = 1.4826  # MAD × 1.4826 estimates the SD of a normal sample


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class SplitAdmissionPolicy(_Strict):
    """[supervision.split_admission]: window in days, match level, exempt ADRGs, flag rule."""

    window_days: Annotated[int, Field(ge=0, le=366)] = 14
    match: Literal["adrg", "mdc"] = "adrg"
    exempt_adrgs: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default_factory=lambda: ["RB1", "RB2", "RE1", "RC1", "LL1"], max_length=10_000)
    flag_score: Annotated[float, Field(gt=0.0, le=100.0)] = 3.0
    min_stays: Annotated[int, Field(ge=0, le=1_000_000)] = 2
    min_scale: Annotated[float, Field(gt=0.0, le=1.0)] = 0.005


_Score = Annotated[float, Field(gt=0.0, le=100.0)]
_Count = Annotated[int, Field(ge=0, le=1_000_000)]
_Frac = Annotated[float, Field(ge=0.0, le=1.0)]
_Prefix = Annotated[str, Field(min_length=1, max_length=16)]


class UpcodingPolicy(_Strict):
    """[supervision.upcoding]: severity digits, score floors, rarity of a secondary diagnosis."""

    severity_digits: list[Annotated[str, Field(min_length=1, max_length=1)]] = Field(
        default_factory=lambda: ["1", "3"], min_length=1, max_length=10)
    flag_score: _Score = 3.0
    min_cases: _Count = 30
    min_scale_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.02
    min_scale_sdx: Annotated[float, Field(gt=0.0, le=100.0)] = 0.1
    rare_share: _Frac = 0.005
    list_cases: Literal["flagged", "all"] = "flagged"


class LowStandardPolicy(_Strict):
    """[supervision.low_standard_admission]: short cheap stays in groups peers treat longer."""

    max_los: Annotated[int, Field(ge=0, le=366)] = 2
    cost_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.30
    peer_short_share: _Frac = 0.5
    min_peer_cases: _Count = 5
    flag_score: _Score = 3.0
    min_stays: _Count = 3
    min_scale: Annotated[float, Field(gt=0.0, le=1.0)] = 0.005
    exempt_adrgs: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default_factory=list, max_length=10_000)


class PatientSelectionPolicy(_Strict):
    """[supervision.patient_selection]: high-weight threshold, transfer mode, score floors."""

    high_rw: Annotated[float, Field(gt=0.0, le=1000.0)] = 2.0
    transfer_modes: list[Annotated[int, Field(ge=1, le=9)]] = Field(
        default_factory=lambda: [2], min_length=1, max_length=9)
    flag_score: _Score = 3.0
    min_cases: _Count = 30
    min_scale: Annotated[float, Field(gt=0.0, le=1.0)] = 0.01


class RestrictedCodePolicy(_Strict):
    """[supervision.restricted_code]: code prefixes restricted to one sex, on top of the scheme's."""

    female_prefixes: list[_Prefix] = Field(
        default_factory=lambda: ["O", "N70", "N71", "N72", "N73", "N74", "N75", "N76", "N77",
                                 "N80", "N81", "N82", "N83", "N84", "N85", "N86", "N87",
                                 "N88", "N89", "N90", "N91", "N92", "N93", "N94", "N95",
                                 "N96", "N97", "N98", "C51", "C52", "C53", "C54", "C55",
                                 "C56", "C57", "C58"], max_length=10_000)
    male_prefixes: list[_Prefix] = Field(
        default_factory=lambda: ["N40", "N41", "N42", "N43", "N44", "N45", "N46", "N47", "N48",
                                 "N49", "N50", "N51", "C60", "C61", "C62", "C63"],
        max_length=10_000)
    use_scheme: bool = True
    flag_score: _Score = 3.0
    min_cases: _Count = 2
    min_scale: Annotated[float, Field(gt=0.0, le=1.0)] = 0.001


class SupervisionPolicy(_Strict):
    """The [supervision] table; one sub-table per signal."""

    split_admission: SplitAdmissionPolicy = SplitAdmissionPolicy()
    upcoding: UpcodingPolicy = UpcodingPolicy()
    low_standard_admission: LowStandardPolicy = LowStandardPolicy()
    patient_selection: PatientSelectionPolicy = PatientSelectionPolicy()
    restricted_code: RestrictedCodePolicy = RestrictedCodePolicy()


def load_supervision_policy(source: str | Path | None = None) -> SupervisionPolicy:
    """Read the ``[supervision]`` table of a TOML file (defaults when absent or ``None``).

    Raises :class:`PolicyError` naming the file and the dotted key.
    """
    if source is None:
        return SupervisionPolicy()
    path = Path(source)
    if not path.exists():
        raise PolicyError(str(path), "", "no such policy file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(str(path), "", f"invalid TOML: {exc}") from None
    try:
        return SupervisionPolicy.model_validate(data.get("supervision", {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = "supervision." + ".".join(str(p) for p in err["loc"])
        allowed = None
        if err["type"] == "literal_error":
            allowed = str(err.get("ctx", {}).get("expected", ""))
        raise PolicyError(str(path), key, err["msg"], allowed) from None


def _need(df: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{what}: grouped cases lack column(s) {missing}; need {list(cols)}")


def _days(s: pd.Series) -> np.ndarray:
    """ISO dates -> days since epoch as float (NaN when unreadable)."""
    s = s.reset_index(drop=True)
    try:  # fast path: plain YYYY-MM-DD text, parsed by Arrow
        arr = pa.array(s.astype("str").to_numpy(object) if s.dtype == object else s,
                       type=pa.string(), from_pandas=True)
        ts = pc.strptime(arr, format="%Y-%m-%d", unit="s", error_is_null=True)
        out = pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64)
        out = np.where(pc.is_null(ts).to_numpy(zero_copy_only=False), np.nan, out / 86400.0)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        out = np.full(len(s), np.nan)
    retry = np.isnan(out) & s.notna().to_numpy(bool)
    if retry.any():  # anything else (times, other separators) element by element
        d = pd.to_datetime(s[retry], errors="coerce", format="mixed")
        d = d.dt.tz_localize(None) if getattr(d.dt, "tz", None) is not None else d
        out[retry] = (d - pd.Timestamp("1970-01-01")).dt.days.to_numpy(np.float64,
                                                                        na_value=np.nan)
    return out


_MISSING = ("nan", "None", "<NA>")


def labels(s: pd.Series, sort: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Factorised text: codes (-1 for missing, empty, 'nan', 'None') and the names.

    ``sort=False`` (ids such as patients, where only equality matters) skips sorting the
    dictionary: several times faster for hundreds of thousands of distinct values.
    """
    if sort:
        codes, names = factorize(s)
        names = np.asarray(names, dtype=object).astype(str)
    else:
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        codes = codes.astype(np.int64)
        names = np.asarray(uniq, dtype=object)
        if not pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            names = names.astype(str).astype(object)
    keep = ~pd.Index(names).isin([*_MISSING, ""])
    if keep.all():
        return codes, names
    rank = np.where(keep, np.cumsum(keep) - 1, -1)
    return np.where(codes >= 0, rank[np.maximum(codes, 0)], -1), names[keep]



def robust_scores(
    value: np.ndarray, level: np.ndarray, min_scale: float
) -> np.ndarray:
    """(value − level median) ÷ max(1.4826 × level MAD, min_scale), per row (NaN value -> NaN)."""
    s = pd.Series(value)
    grp = s.groupby(level)
    med = grp.transform("median").to_numpy(np.float64)
    mad = (s - med).abs().groupby(level).transform("median").to_numpy(np.float64)
    scale = np.maximum(MAD_SCALE * np.nan_to_num(mad, nan=0.0), min_scale)
    return (value - med) / scale


def peer_values(count: np.ndarray, total: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Pooled rate of the other hospitals of the same level (NaN when there are none)."""
    lv = pd.Series(level)
    c_lvl = pd.Series(count).groupby(lv).transform("sum").to_numpy(np.float64)
    t_lvl = pd.Series(total).groupby(lv).transform("sum").to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        other_t = t_lvl - total
        return np.where(other_t > 0, (c_lvl - count) / np.where(other_t > 0, other_t, 1), np.nan)


def split_admissions(
    grouped: pd.DataFrame, policy: SupervisionPolicy | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split-admission pairs and the per-hospital signal (§10); see the module docstring.

    ``grouped`` needs ``case_id, hospital_id, hospital_level, patient_id, admission_date,
    discharge_date, status, adrg`` (and ``mdc`` when ``match = "mdc"``). Dates are ISO text.
    """
    sp = (policy or SupervisionPolicy()).split_admission
    key_col = sp.match
    _need(grouped, ("case_id", "hospital_id", "hospital_level", "patient_id", "admission_date",
                    "discharge_date", "status", "adrg", key_col), "split admissions")
    n = len(grouped)
    pat, _ = labels(grouped["patient_id"], sort=False)
    adm, dis = _days(grouped["admission_date"]), _days(grouped["discharge_date"])
    key, _ = labels(grouped[key_col])
    ok = (grouped["status"].astype(str) == "SUCCESS").to_numpy(bool)
    exempt = grouped["adrg"].astype(str).isin(set(sp.exempt_adrgs)).to_numpy(bool)
    dated = (pat >= 0) & np.isfinite(adm) & np.isfinite(dis)

    # order the dated stays by patient, admission, discharge, input position
    idx = np.flatnonzero(dated)
    order = idx[np.lexsort((idx, dis[idx], adm[idx], pat[idx]))]
    a, b = order[:-1], order[1:]
    gap = adm[b] - dis[a]
    pair = (pat[a] == pat[b]) & (gap >= 0) & (gap <= sp.window_days)
    pair &= ok[a] & ok[b] & (key[a] >= 0) & (key[a] == key[b]) & ~exempt[a] & ~exempt[b]
    a, b, gap = a[pair], b[pair], gap[pair].astype(np.int64)
    # text only for the stays in a pair (object arrays of every row cost ~1 s per million)
    both = np.concatenate([a, b])
    cid = grouped["case_id"].iloc[both].astype(str).to_numpy(object)
    hid = grouped["hospital_id"].iloc[both].astype(str).to_numpy(object)
    ca, cb, ha, hb = cid[:len(a)], cid[len(a):], hid[:len(a)], hid[len(a):]

    pair_id = np.arange(len(a), dtype=np.int64)
    first = pd.DataFrame({
        "case_id": ca, "signal": "split_admission",
        "detail": [f"next stay {c} at {h} admitted {g} days after this discharge"
                   for c, h, g in zip(cb, hb, gap)],
        "other_case_id": cb, "gap_days": gap, "pair_id": pair_id, "hospital_id": ha, "_pos": a,
    })
    second = pd.DataFrame({
        "case_id": cb, "signal": "split_admission",
        "detail": [f"previous stay {c} at {h} discharged {g} days before this admission"
                   for c, h, g in zip(ca, ha, gap)],
        "other_case_id": ca, "gap_days": gap, "pair_id": pair_id, "hospital_id": hb, "_pos": b,
    })
    flags = pd.concat([first, second], ignore_index=True)
    flags = flags.sort_values(["_pos", "pair_id"], kind="stable").drop(columns="_pos")
    flags = flags.reset_index(drop=True)

    in_pair = np.zeros(n, dtype=bool)
    in_pair[a] = True
    in_pair[b] = True
    h_code, h_names = factorize(grouped["hospital_id"].astype("str"))
    n_h = len(h_names)
    valid_h = h_code >= 0
    discharges = np.bincount(h_code[valid_h], minlength=n_h)
    stays = np.bincount(h_code[valid_h & in_pair], minlength=n_h)
    level = np.zeros(n_h, dtype=np.int64)
    lv = pd.to_numeric(grouped["hospital_level"], errors="coerce").fillna(0).to_numpy(np.int64)
    level[h_code[valid_h]] = lv[valid_h]
    value = stays / np.maximum(discharges, 1)
    score = robust_scores(value, level, sp.min_scale)
    hospitals = pd.DataFrame({
        "hospital_id": pd.Series(h_names, dtype=object).astype(str),
        "signal": "split_admission",
        "value": value,
        "peer_value": peer_values(stays, discharges, level),
        "score": score,
        "flagged": (score >= sp.flag_score) & (stays >= sp.min_stays),
        "hospital_level": level,
        "flagged_stays": stays.astype(np.int64),
        "discharges": discharges.astype(np.int64),
    })
    return flags, hospitals
