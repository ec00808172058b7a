"""Supervision signals besides split admissions (domain.md §10): upcoding (高套), low-standard
admissions (低标入院) and patient selection (推诿); restricted codes are in
:mod:`payment.signals_codes`, split admissions in :mod:`payment.supervision`.

Each ``signal(grouped, ...)`` returns ``(case_flags, hospital_signals)`` with the columns of
:data:`payment.supervision.CASE_FLAG_COLUMNS` / ``HOSPITAL_SIGNAL_COLUMNS`` first (then helper
columns). ``grouped`` = canonical cases with the grouper's ``status, adrg, drg`` columns; the
optional ``history`` (the previous period, same columns) gives the "own previous year" terms.

Scores: every component is a robust z-score within the hospital's level
(:func:`payment.supervision.robust_scores`: (x − level median) ÷ max(1.4826 × MAD, floor)),
signed so that higher is more suspicious; hence comparable across levels.

- upcoding: value = share of grouped cases in a severity subgroup (DRG code's last character in
  ``severity_digits``, default 1 = MCC, 3 = CC); components z(share), z(mean secondary-diagnosis
  count) and, with history, z(share − previous share), z(count − previous count); score = their
  mean (the components present). Cases: grouped severity-subgroup cases (at flagged hospitals, or
  all with ``list_cases = "all"``) whose CC/MCC secondary diagnoses (``cc_codes``; every secondary
  diagnosis when ``None``) are all unsupported — absent from the same patient's earlier stays
  (history rows, and current rows admitted earlier) and, when history is given, found on fewer
  than ``rare_share`` of the hospital's history cases.
- low-standard admission: a grouped stay with LOS ≤ ``max_los`` and cost < ``cost_share`` × its
  DRG's region mean cost, in a DRG whose stays at the other hospitals of the level are mostly
  longer (short-stay share < ``peer_short_share`` over ≥ ``min_peer_cases`` stays), its ADRG
  not in ``exempt_adrgs`` (e.g. day-surgery groups); value =
  such stays ÷ discharges; score z(value).
- patient selection: value = share of high-weight cases (RW ≥ ``high_rw``) among grouped cases
  with a weight; transfer share = discharge mode in ``transfer_modes`` ÷ discharges; score =
  max(mean(−z(high share), −z(high share − previous)), mean(z(transfer share), z(transfer share
  − previous))) — "a falling share of high-weight cases or a rising share of transfers out".
  Cases: the transfers out of flagged hospitals.

Peer value = pooled figure of the other hospitals of the level. ``flagged`` = score ≥
``flag_score`` and the hospital has at least the policy's minimum count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .indices import _rw_lookup, history_rw
from .signals_facts import CaseFacts, facts_of
from .signals_text import detail_columns
from .supervision import SupervisionPolicy, labels, peer_values, robust_scores

__all__ = ["low_standard_admissions", "patient_selection", "upcoding"]


def _need(df: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{what}: cases lack column(s) {missing}; need {list(cols)}")


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _text(s: pd.Series) -> pd.Series:
    return s.astype("str").replace({"nan": "", "None": "", "<NA>": ""})


def hospital_codes(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hospital code per row (-1 when missing), hospital ids, level per hospital (0 unknown)."""
    h, names = labels(df["hospital_id"])
    lv = pd.to_numeric(df["hospital_level"], errors="coerce").fillna(0).to_numpy(np.int64)
    level = np.zeros(len(names), dtype=np.int64)
    ok = h >= 0
    level[h[ok]] = lv[ok]
    return h, np.asarray(names, dtype=object).astype(str), level


def _ok(df: pd.DataFrame) -> np.ndarray:
    return (df["status"].astype("str") == "SUCCESS").to_numpy(bool)


def _count(h: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    sel = (h >= 0) & mask
    return np.bincount(h[sel], minlength=n).astype(np.int64)


def _sum(h: np.ndarray, w: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    sel = (h >= 0) & mask
    return np.bincount(h[sel], weights=w[sel], minlength=n)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _prev_map(names: np.ndarray, hist: pd.DataFrame | None,
              hfacts: CaseFacts | None = None) -> tuple[np.ndarray, int] | None:
    """History rows -> current hospital codes (-1 for hospitals absent now)."""
    if hist is None or len(hist) == 0:
        return None
    hc, hn = facts_of(hist, hfacts).hospitals[:2]
    to_cur = pd.Index(names).get_indexer(hn).astype(np.int64)
    return np.where(hc >= 0, to_cur[np.maximum(hc, 0)] if len(hn) else -1, -1), len(names)


def _z(x: np.ndarray, level: np.ndarray, floor: float) -> np.ndarray:
    """Robust z over the hospitals where x is finite (NaN elsewhere)."""
    out = np.full(len(x), np.nan)
    fin = np.isfinite(x)
    if fin.any():
        out[fin] = robust_scores(x[fin], level[fin], floor)
    return out


def _mean_of(*parts: np.ndarray) -> np.ndarray:
    stack = np.vstack(parts)
    cnt = np.isfinite(stack).sum(axis=0)
    tot = np.nansum(stack, axis=0)
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def _frame(signal: str, names, value, peer, score, flagged, level, **extra) -> pd.DataFrame:
    return pd.DataFrame({"hospital_id": pd.Series(names, dtype=object), "signal": signal,
                         "value": value, "peer_value": peer, "score": score,
                         "flagged": np.asarray(flagged, dtype=bool), "hospital_level": level,
                         **extra})


def _flags(df: pd.DataFrame, rows: np.ndarray, signal: str,
           details: dict[str, pd.Series]) -> pd.DataFrame:
    """``case_id, signal, detail, hospital_id, detail_zh`` of the flagged ``rows``."""
    n = len(rows)
    empty = pd.Series([], dtype=object)
    return pd.DataFrame({"case_id": df["case_id"].iloc[rows].astype(str).to_numpy(object),
                         "signal": signal,
                         "detail": details.get("detail", empty).to_numpy(object)[:n],
                         "hospital_id": df["hospital_id"].iloc[rows].astype(str).to_numpy(object),
                         "detail_zh": details.get("detail_zh", empty).to_numpy(object)[:n]})


def _share_and_sdx(f: CaseFacts, h: np.ndarray, n: int, digits: list[str]):
    grouped = _count(h, f.ok, n)
    sev = _count(h, f.severe(digits), n)
    sdx = _sum(h, f.n_sdx, f.ok, n)
    return grouped, sev, sdx


def upcoding(
    grouped: pd.DataFrame, history: pd.DataFrame | None = None, *,
    cc_codes: Any = None, policy: SupervisionPolicy | None = None,
    facts: CaseFacts | None = None, history_facts: CaseFacts | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Upcoding 高套 per hospital and its cases (module docstring). ``cc_codes``: CC/MCC codes;
    ``facts`` / ``history_facts``: :class:`CaseFacts` of the two tables, when already built."""
    up = (policy or SupervisionPolicy()).upcoding
    cols = ("case_id", "hospital_id", "hospital_level", "status", "drg", "diagnoses")
    _need(grouped, cols, "upcoding")
    f = facts_of(grouped, facts)
    h, names, level = f.hospitals
    n = len(names)
    cnt, sev, sdx = _share_and_sdx(f, h, n, up.severity_digits)
    share, sdx_mean = _ratio(sev, cnt), _ratio(sdx, cnt)
    parts = [_z(share, level, up.min_scale_share), _z(sdx_mean, level, up.min_scale_sdx)]
    prev_share = prev_sdx = np.full(n, np.nan)
    hf = facts_of(history, history_facts)
    pm = _prev_map(names, history, hf)
    if pm is not None:
        _need(history, cols, "upcoding history")
        hh, _ = pm
        pc, ps, pd_ = _share_and_sdx(hf, hh, n, up.severity_digits)
        prev_share, prev_sdx = _ratio(ps, pc), _ratio(pd_, pc)
        parts += [_z(share - prev_share, level, up.min_scale_share),
                  _z(sdx_mean - prev_sdx, level, up.min_scale_sdx)]
    score = _mean_of(*parts)
    flagged = (score >= up.flag_score) & (cnt >= up.min_cases)
    hospitals = _frame("upcoding", names, share, peer_values(sev, cnt, level), score, flagged,
                       level, sdx_mean=sdx_mean, peer_sdx_mean=peer_values(sdx, cnt, level),
                       prev_value=prev_share, prev_sdx_mean=prev_sdx, grouped=cnt,
                       severity_cases=sev)
    listed = flagged if up.list_cases == "flagged" else np.ones(n, dtype=bool)
    cand = np.flatnonzero(f.severe(up.severity_digits) & (h >= 0) & listed[np.maximum(h, 0)])
    flags = _unsupported(grouped, history, cand, cc_codes, up.rare_share, f, hf)
    return flags, hospitals


def _long_codes(df: pd.DataFrame, rows: np.ndarray, secondary: bool) -> pd.DataFrame:
    """(row, code) for the diagnoses of ``rows`` (secondary ones only when asked)."""
    dx = _text(df["diagnoses"].iloc[rows]).str.split("|")
    long = pd.DataFrame({"row": np.repeat(rows, dx.str.len().fillna(0).astype(int).to_numpy()),
                         "code": np.concatenate(dx.to_list()) if len(dx) else np.array([])})
    long["pos"] = long.groupby("row").cumcount()
    long["code"] = long["code"].astype(str).str.strip()
    long = long[long["code"] != ""]
    return long[long["pos"] > 0] if secondary else long


def _unsupported(grouped, history, cand, cc_codes, rare_share, f: CaseFacts,
                 hf: CaseFacts | None) -> pd.DataFrame:
    empty = _flags(grouped, np.array([], dtype=np.int64), "upcoding", {})
    if len(cand) == 0:
        return empty
    sec = _long_codes(grouped, cand, secondary=True)
    if cc_codes is not None:
        sec = sec[sec["code"].isin(set(map(str, cc_codes)))]
    if sec.empty:
        return empty
    has_pat = "patient_id" in grouped.columns
    joint = has_pat and history is not None and "patient_id" in history.columns
    hpat = None
    if joint:  # patients of both tables in one dictionary
        pcode, hpat = f.codes_with("patient_id", hf)
    else:
        pcode = f.patients[0] if has_pat else None

    def adm_of(rows: np.ndarray) -> np.ndarray:
        if "admission_date" not in grouped.columns:
            return np.full(len(rows), np.nan)
        return f.admission[rows]

    srow = sec["row"].to_numpy(np.int64)
    sec = sec.assign(patient=pcode[srow] if has_pat else -1, adm=adm_of(srow))
    supported = np.zeros(len(sec), dtype=bool)
    # earlier stays of the same patient: current rows admitted earlier, every history row
    if has_pat:
        pats = np.unique(sec["patient"].to_numpy(np.int64))
        pats = pats[pats >= 0]
        pools = []
        cur = np.flatnonzero(np.isin(pcode, pats))
        if len(cur):
            lc = _long_codes(grouped, cur, secondary=False)
            cr = lc["row"].to_numpy(np.int64)
            u, inv = np.unique(cr, return_inverse=True)
            pools.append(lc.assign(patient=pcode[cr], adm=adm_of(u)[inv]))
        if hpat is not None and len(pats):
            hr = np.flatnonzero(np.isin(hpat, pats))
            if len(hr):
                lh = _long_codes(history, hr, secondary=False)
                pools.append(lh.assign(patient=hpat[lh["row"].to_numpy(np.int64)], adm=-np.inf))
        if pools:
            pool = pd.concat(pools, ignore_index=True)[["patient", "code", "adm"]]
            pool = pool.groupby(["patient", "code"], sort=False)["adm"].min().rename("first")
            m = sec.join(pool, on=["patient", "code"])
            first = m["first"].to_numpy(np.float64)
            supported |= (first < m["adm"].to_numpy(np.float64)) | (first == -np.inf)
    # common in the hospital's history
    h, names, _ = f.hospitals
    sec = sec.assign(hospital=h[srow])
    pm = _prev_map(names, history, hf)
    if pm is not None:
        hh = pm[0]
        rows = np.flatnonzero(np.isin(hh, np.unique(sec["hospital"].to_numpy(np.int64))))
        lh = _long_codes(history, rows, secondary=False).drop_duplicates(["row", "code"])
        lh["hospital"] = hh[lh["row"].to_numpy(np.int64)]
        per = lh.groupby(["hospital", "code"]).size().rename("n_code")
        tot = pd.Series(np.bincount(hh[rows], minlength=len(names)), name="n_hosp")
        m = sec.join(per, on=["hospital", "code"]).join(tot, on="hospital")
        freq = (m["n_code"].fillna(0) / m["n_hosp"]).to_numpy(np.float64)
        supported |= np.nan_to_num(freq, nan=0.0, posinf=0.0) >= rare_share
    sec = sec.assign(supported=supported)
    by_row = sec.groupby("row", sort=True).agg(
        any_supported=("supported", "any"), codes=("code", lambda c: " ".join(c)))
    bad = by_row[~by_row["any_supported"]]
    rows = bad.index.to_numpy(np.int64)
    drg = _text(grouped["drg"].iloc[rows]).to_numpy(object)
    key = "upcoding_history" if history is not None else "upcoding"
    return _flags(grouped, rows, "upcoding", detail_columns(
        key, len(rows), drg=drg, codes=bad["codes"].to_numpy(object)))


def _pair_counts(a: np.ndarray, b: np.ndarray, n_b: int, w: np.ndarray):
    """Rows' (a, b) cell: row count and Σ w of its cell, per row (dense when small)."""
    key = a.astype(np.int64) * n_b + b
    n_cells = (int(a.max()) + 1) * n_b if len(a) else 0
    if n_cells <= 20_000_000:
        return np.bincount(key, minlength=n_cells)[key], \
            np.bincount(key, weights=w, minlength=n_cells)[key]
    _, inv = np.unique(key, return_inverse=True)
    return np.bincount(inv)[inv], np.bincount(inv, weights=w)[inv]


def low_standard_admissions(
    grouped: pd.DataFrame, policy: SupervisionPolicy | None = None,
    facts: CaseFacts | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Low-standard admissions 低标入院: short cheap stays in DRGs peers treat as longer."""
    lp = (policy or SupervisionPolicy()).low_standard_admission
    _need(grouped, ("case_id", "hospital_id", "hospital_level", "status", "drg", "los",
                    "total_cost"), "low-standard admissions")
    f = facts_of(grouped, facts)
    h, names, level = f.hospitals
    n = len(names)
    g, g_names = f.drg
    los, cost = f.num("los"), f.num("total_cost")
    ok = f.ok & (g >= 0) & (h >= 0) & np.isfinite(los) & np.isfinite(cost) & (cost >= 0)
    n_g = len(g_names)
    gg = np.where(ok, g, 0)
    cnt_g = np.bincount(g[ok], minlength=n_g)
    mean_g = _ratio(np.bincount(g[ok], weights=cost[ok], minlength=n_g), cnt_g)
    short = ok & (los <= lp.max_los)
    mean_row = mean_g[gg] if n_g else np.full(len(gg), np.nan)  # no DRG at all: nothing cheap
    cheap = short & (cost < lp.cost_share * np.nan_to_num(mean_row, nan=-np.inf))
    # counts per (hospital, DRG) and per (level, DRG): peers = level minus the hospital itself
    _, lv_of_h = np.unique(level, return_inverse=True)
    sw = short[ok].astype(np.float64)
    n_hg, s_hg = _pair_counts(h[ok], gg[ok], n_g, sw)
    n_lg, s_lg = _pair_counts(lv_of_h[h[ok]], gg[ok], n_g, sw)
    peer_n = n_lg - n_hg
    peer_s = s_lg - s_hg
    longer = (peer_n >= max(lp.min_peer_cases, 1)) & (
        peer_s < lp.peer_short_share * np.maximum(peer_n, 1))
    hit = np.zeros(len(grouped), dtype=bool)
    hit[np.flatnonzero(ok)] = cheap[ok] & longer
    if lp.exempt_adrgs and "adrg" in grouped.columns:
        hit &= ~grouped["adrg"].isin(set(lp.exempt_adrgs)).to_numpy(bool)
    discharges = _count(h, np.ones(len(grouped), dtype=bool), n)
    stays = _count(h, hit, n)
    value = _ratio(stays, discharges)
    score = _z(value, level, lp.min_scale)
    flagged = (score >= lp.flag_score) & (stays >= lp.min_stays)
    hospitals = _frame("low_standard_admission", names, value,
                       peer_values(stays, discharges, level), score, flagged, level,
                       flagged_stays=stays, discharges=discharges)
    rows = np.flatnonzero(hit)
    details = detail_columns("low_standard", len(rows), los=los[rows].astype(np.int64),
                             cost=cost[rows], share=f"{lp.cost_share:.0%}",
                             group=g_names[g[rows]], mean=mean_g[g[rows]])
    return _flags(grouped, rows, "low_standard_admission", details), hospitals


def _selection_counts(f: CaseFacts, h, n, rw_g_lookup, high_rw, modes):
    g, g_names = f.drg
    rw = rw_g_lookup(g_names)
    rw_case = np.where(g >= 0, rw[np.maximum(g, 0)] if len(rw) else np.nan, np.nan)
    has = f.ok & np.isfinite(rw_case)
    high = has & (rw_case >= high_rw)
    mode = f.num("discharge_mode")
    tr = np.isin(mode, np.asarray(modes, dtype=np.float64))
    allrows = np.ones(len(f), dtype=bool)
    return _count(h, has, n), _count(h, high, n), _count(h, allrows, n), _count(h, tr, n), tr


def patient_selection(
    grouped: pd.DataFrame, history: pd.DataFrame | None = None, *,
    weights: Any = None, policy: SupervisionPolicy | None = None,
    facts: CaseFacts | None = None, history_facts: CaseFacts | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patient selection 推诿: falling high-weight share or rising transfers out (docstring).

    ``weights``: a ``group, rw`` table or :class:`payment.Weights`; ``None`` = §10 RW from the
    history (or from ``grouped`` itself when there is no history).
    """
    ps = (policy or SupervisionPolicy()).patient_selection
    cols = ("case_id", "hospital_id", "hospital_level", "status", "drg", "discharge_mode")
    _need(grouped, cols, "patient selection")
    if weights is None:
        base = history if history is not None and len(history) else grouped
        weights = history_rw(base, "drg")[["group", "rw"]]

    def lookup(g_names: np.ndarray) -> np.ndarray:
        return _rw_lookup(weights, np.asarray(g_names, dtype=object))

    f = facts_of(grouped, facts)
    h, names, level = f.hospitals
    n = len(names)
    has, high, dis, tr, tr_rows = _selection_counts(f, h, n, lookup, ps.high_rw,
                                                     ps.transfer_modes)
    hs, ts = _ratio(high, has), _ratio(tr, dis)
    a = [-_z(hs, level, ps.min_scale)]
    b = [_z(ts, level, ps.min_scale)]
    prev_hs = prev_ts = np.full(n, np.nan)
    hf = facts_of(history, history_facts)
    pm = _prev_map(names, history, hf)
    if pm is not None:
        _need(history, cols, "patient selection history")
        p_has, p_high, p_dis, p_tr, _ = _selection_counts(hf, pm[0], n, lookup, ps.high_rw,
                                                          ps.transfer_modes)
        prev_hs, prev_ts = _ratio(p_high, p_has), _ratio(p_tr, p_dis)
        a.append(-_z(hs - prev_hs, level, ps.min_scale))
        b.append(_z(ts - prev_ts, level, ps.min_scale))
    score = np.fmax(_mean_of(*a), _mean_of(*b))
    flagged = (score >= ps.flag_score) & (dis >= ps.min_cases)
    hospitals = _frame("patient_selection", names, hs, peer_values(high, has, level), score,
                       flagged, level, transfer_share=ts,
                       peer_transfer_share=peer_values(tr, dis, level), prev_value=prev_hs,
                       prev_transfer_share=prev_ts, high_weight_cases=high, discharges=dis)
    rows = np.flatnonzero(tr_rows & (h >= 0) & flagged[np.maximum(h, 0)])
    drg = _text(grouped["drg"].iloc[rows]).to_numpy(object)
    mode = f.num("discharge_mode")[rows]
    drg = np.where(drg == "", "-", drg).astype(object)
    details = detail_columns("selection", len(rows), mode=mode.astype(np.int64), drg=drg)
    return _flags(grouped, rows, "patient_selection", details), hospitals
