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
import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import _signals_kernels as K
from .policy import PolicyError
from .signals_facts import CaseFacts, facts_of, iso_days, labels
from .signals_text import detail_columns

_days = iso_days

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


def _sort_stays(pat: np.ndarray, adm: np.ndarray, dis: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``idx`` ordered by patient, admission, discharge, position (integer keys, stable sort)."""
    p, a, d = pat[idx], adm[idx].astype(np.int64), dis[idx].astype(np.int64)
    if len(idx) == 0:
        return idx
    a = a - a.min()
    d = d - d.min()
    span_a, span_d = int(a.max()) + 1, int(d.max()) + 1
    if (int(p.max()) + 1) * span_a * span_d < 2**62:  # one int64 key, one stable radix sort
        return idx[K.radix_argsort((p * span_a + a) * span_d + d)]
    o = np.argsort(d, kind="stable")
    return idx[o[np.argsort((p * span_a + a)[o], kind="stable")]]


def _pairs(parts: list[tuple[np.ndarray, ...]], nh: int, window: int) -> tuple[np.ndarray, ...]:
    """Split-admission pairs ``(a, b, gap)`` over the history's and the period's stays.

    ``parts``: ``(patient, admission day, discharge day, pair class)`` of the history, then of
    the period (combined positions: history rows first, ``nh`` of them); the pair class is the
    match key of a grouped, not exempt stay, −1 otherwise. The dated stays are ordered by
    patient, admission, discharge, position; a pair is two consecutive stays of one patient,
    gap = admission − previous discharge in [0, window], the same class, at least one stay of
    the period. Whole-day dates (always, from ISO text): one int64 key per stay (bit fields), one
    radix sort carrying the positions, and the test reads patient and days back from the sorted
    keys. Otherwise the arrays are joined, :func:`_sort_stays` and the same test on them."""
    bounds = [b for b in (K.stay_bounds(p, a, d) for p, a, d, _ in parts) if b[0]]
    cnt = sum(b[0] for b in bounds)
    if cnt and all(b[6] for b in bounds):
        amin, dmin = int(min(b[2] for b in bounds)), int(min(b[4] for b in bounds))
        a_bits = int(max(b[3] for b in bounds) - amin).bit_length()
        d_bits = int(max(b[5] for b in bounds) - dmin).bit_length()
        if int(max(b[1] for b in bounds)).bit_length() + a_bits + d_bits <= 62:
            idx, keys = np.empty(cnt, np.int64), np.empty(cnt, np.int64)
            k = off = 0
            for p, a, d, _ in parts:
                k = K.stay_keys(p, a, d, amin, a_bits, dmin, d_bits, idx, keys, k, off)
                off += len(p)
            skeys, order = K.radix_sort(keys, idx)
            return K.split_pairs_keyed(order, skeys, a_bits, d_bits, amin, dmin, parts[0][3],
                                       parts[1][3], nh, window)
    pat, adm, dis, cls = (np.concatenate(c) for c in zip(*parts))
    dated = (pat >= 0) & np.isfinite(adm) & np.isfinite(dis)
    order = _sort_stays(pat, adm, dis, np.flatnonzero(dated))
    return K.split_pairs(order, pat, adm, dis, cls, nh, window)


def _pair_class(ok: np.ndarray, exempt: np.ndarray, key: np.ndarray) -> np.ndarray:
    """The match key of a grouped stay whose ADRG is not exempt, −1 for every other stay."""
    return np.where(ok & ~exempt, key, -1).astype(np.int64, copy=False)


def _text_at(pos: np.ndarray, nh: int, col: str, hist: pd.DataFrame | None,
             cur: pd.DataFrame) -> np.ndarray:
    """Column ``col`` as text at combined positions (history rows first, then current)."""
    out = np.empty(len(pos), dtype=object)
    m = pos < nh
    if m.any():
        out[m] = hist[col].iloc[pos[m]].astype(str).to_numpy(object)
    out[~m] = cur[col].iloc[pos[~m] - nh].astype(str).to_numpy(object)
    return out


def split_admissions(
    grouped: pd.DataFrame, policy: SupervisionPolicy | None = None, *,
    history: pd.DataFrame | None = None, facts: CaseFacts | None = None,
    history_facts: CaseFacts | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split-admission pairs and the per-hospital signal (§10); see the module docstring.

    ``grouped`` needs ``case_id, hospital_id, hospital_level, patient_id, admission_date,
    discharge_date, status, adrg`` (and ``mdc`` when ``match = "mdc"``). Dates are ISO text.
    ``history`` (the previous period, same columns): its stays pair with the period's, so a stay
    late in the history year and a readmission early in the period are found; such a history
    stay is listed with ``period = "history"`` and counts for no hospital's rate (pairs within
    the history alone are not listed). ``facts``: :class:`CaseFacts` already built.
    """
    sp = (policy or SupervisionPolicy()).split_admission
    key_col = sp.match
    need = ("case_id", "hospital_id", "hospital_level", "patient_id", "admission_date",
            "discharge_date", "status", "adrg", key_col)
    _need(grouped, need, "split admissions")
    f = facts_of(grouped, facts)
    n = len(grouped)
    exempt_set = set(sp.exempt_adrgs)
    exempt = grouped["adrg"].astype(str).isin(exempt_set).to_numpy(bool)
    nh = 0
    hist = history if history is not None and len(history) and all(
        c in history.columns for c in need) else None
    none_i, none_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
    before = (none_i, none_f, none_f, none_i)
    if hist is None:
        pat, key = f.patients[0], labels(grouped[key_col])[0]
    else:  # history rows first, codes mapped onto the period's dictionaries
        hf = facts_of(hist, history_facts)
        pat, hp = f.codes_with("patient_id", hf)
        key, hk = f.codes_with(key_col, hf)
        nh = len(hist)
        h_exempt = hist["adrg"].astype(str).isin(exempt_set).to_numpy(bool)
        before = (hp.astype(np.int64, copy=False), hf.admission, hf.discharge,
                  _pair_class(hf.ok, h_exempt, hk))
    current = (pat.astype(np.int64, copy=False), f.admission, f.discharge,
               _pair_class(f.ok, exempt, key))
    a, b, gap = _pairs([before, current], nh, sp.window_days)
    # text only for the stays in a pair (object arrays of every row cost ~1 s per million)
    both = np.concatenate([a, b])
    cid = _text_at(both, nh, "case_id", hist, grouped)
    hid = _text_at(both, nh, "hospital_id", hist, grouped)
    ca, cb, ha, hb = cid[:len(a)], cid[len(a):], hid[:len(a)], hid[len(a):]
    period = np.where(both >= nh, "current", "history").astype(object)

    pair_id = np.arange(len(a), dtype=np.int64)
    nxt = detail_columns("split_next", len(a), other=cb, hospital=hb, gap=gap)
    prv = detail_columns("split_previous", len(a), other=ca, hospital=ha, gap=gap)
    flags = pd.DataFrame({
        "case_id": cid, "signal": "split_admission",
        "detail": np.concatenate([nxt["detail"].to_numpy(object),
                                  prv["detail"].to_numpy(object)]),
        "other_case_id": np.concatenate([cb, ca]), "gap_days": np.concatenate([gap, gap]),
        "pair_id": np.concatenate([pair_id, pair_id]), "hospital_id": hid,
        "detail_zh": np.concatenate([nxt["detail_zh"].to_numpy(object),
                                     prv["detail_zh"].to_numpy(object)]),
        "period": period, "_pos": both,
    })
    flags = flags.sort_values(["_pos", "pair_id"], kind="stable").drop(columns="_pos")
    flags = flags.reset_index(drop=True)

    in_pair = np.zeros(n, dtype=bool)
    in_pair[a[a >= nh] - nh] = True
    in_pair[b[b >= nh] - nh] = True
    h_code, h_names, level = f.hospitals
    n_h = len(h_names)
    valid_h = h_code >= 0
    discharges = np.bincount(h_code[valid_h], minlength=n_h)
    stays = np.bincount(h_code[valid_h & in_pair], minlength=n_h)
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
