"""Plain-Python references for the §10 signals upcoding, low-standard admission, patient
selection and restricted codes; imports nothing from ``payment`` or ``drgsim``.

Rows are dicts with the canonical case columns plus ``status`` and ``drg``. Each function
returns ``hospital -> dict`` (value, peer_value, score, flagged, ...) and, where the signal lists
cases, a list of case ids (or (case_id, code) pairs). Missing text is ``""``.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict

MAD = 1.4826


def _s(v):
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in (
        "nan", "None", "<NA>") else str(v)


def _f(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def _codes(text):
    return [c.strip() for c in _s(text).split("|")] if _s(text) else []


def _n_sdx(text):
    t = _s(text)
    return t.count("|") if t else 0


def _ok(r):
    return _s(r["status"]) == "SUCCESS"


def _div(a, b):
    return a / b if b > 0 else math.nan


def robust_z(values, level, floor):
    """hospital -> robust z within its level over the hospitals with a finite value."""
    out = {}
    for h, x in values.items():
        if not math.isfinite(x):
            out[h] = math.nan
            continue
        same = [values[g] for g in values if level[g] == level[h] and math.isfinite(values[g])]
        med = statistics.median(same)
        mad = statistics.median([abs(v - med) for v in same])
        out[h] = (x - med) / max(MAD * mad, floor)
    return out


def _mean(xs):
    xs = [x for x in xs if math.isfinite(x)]
    return sum(xs) / len(xs) if xs else math.nan


def _peer(count, total, level, h):
    others = [g for g in total if level[g] == level[h] and g != h]
    t = sum(total[g] for g in others)
    return sum(count[g] for g in others) / t if t > 0 else math.nan


def _levels(rows):
    level = {}
    for r in rows:
        if _s(r["hospital_id"]):
            level[_s(r["hospital_id"])] = int(_f(r["hospital_level"])) if math.isfinite(
                _f(r["hospital_level"])) else 0
    return level


def _date(v):
    try:
        return dt.date.fromisoformat(_s(v)).toordinal()
    except ValueError:
        return None


def _up_counts(rows, digits):
    cnt, sev, sdx = defaultdict(int), defaultdict(int), defaultdict(float)
    for r in rows:
        h = _s(r["hospital_id"])
        if not h or not _ok(r):
            continue
        cnt[h] += 1
        d = _s(r["drg"])
        sev[h] += 1 if d and d[-1:] in digits else 0
        sdx[h] += _n_sdx(r["diagnoses"])
    return cnt, sev, sdx


def upcoding(rows, history=None, cc_codes=None, digits=("1", "3"), flag_score=3.0,
             min_cases=30, floor_share=0.02, floor_sdx=0.1, rare_share=0.005,
             list_cases="flagged"):
    """(hospital -> dict, listed case ids in row order)."""
    level = _levels(rows)
    cnt, sev, sdx = _up_counts(rows, digits)
    hs = list(level)
    share = {h: _div(sev[h], cnt[h]) for h in hs}
    mean_sdx = {h: _div(sdx[h], cnt[h]) for h in hs}
    parts = [robust_z(share, level, floor_share), robust_z(mean_sdx, level, floor_sdx)]
    if history:
        pc, ps, pdx = _up_counts(history, digits)
        d_share = {h: share[h] - _div(ps[h], pc[h]) for h in hs}
        d_sdx = {h: mean_sdx[h] - _div(pdx[h], pc[h]) for h in hs}
        parts += [robust_z(d_share, level, floor_share), robust_z(d_sdx, level, floor_sdx)]
    out = {}
    for h in hs:
        score = _mean([p[h] for p in parts])
        out[h] = {"value": share[h], "peer_value": _peer(sev, cnt, level, h), "score": score,
                  "flagged": math.isfinite(score) and score >= flag_score and cnt[h] >= min_cases,
                  "sdx_mean": mean_sdx[h]}
    # cases
    cc = None if cc_codes is None else set(cc_codes)
    earlier = defaultdict(list)  # patient -> [(admission ordinal or -inf, set of codes)]
    for r in rows:
        p = _s(r.get("patient_id"))
        if p:
            a = _date(r.get("admission_date"))
            earlier[p].append((math.nan if a is None else a, set(_codes(r["diagnoses"]))))
    for r in history or []:
        p = _s(r.get("patient_id"))
        if p:
            earlier[p].append((-math.inf, set(_codes(r["diagnoses"]))))
    hist_rows, hist_code = defaultdict(int), defaultdict(int)
    for r in history or []:
        h = _s(r["hospital_id"])
        hist_rows[h] += 1
        for c in set(_codes(r["diagnoses"])):
            hist_code[(h, c)] += 1
    listed = []
    for r in rows:
        h = _s(r["hospital_id"])
        d = _s(r["drg"])
        if not h or not _ok(r) or not (d and d[-1:] in digits):
            continue
        if list_cases == "flagged" and not out[h]["flagged"]:
            continue
        sec = [c for c in _codes(r["diagnoses"])[1:] if c and (cc is None or c in cc)]
        if not sec:
            continue
        a = _date(r.get("admission_date"))
        a = math.nan if a is None else a
        p = _s(r.get("patient_id"))

        def supported(c, a=a, p=p, h=h):
            if p and any((t == -math.inf or t < a) and c in codes for t, codes in earlier[p]):
                return True
            if history:
                freq = hist_code[(h, c)] / hist_rows[h] if hist_rows[h] else 0.0
                return freq >= rare_share
            return False

        if not any(supported(c) for c in sec):
            listed.append(_s(r["case_id"]))
    return out, listed


def low_standard(rows, max_los=2, cost_share=0.30, peer_short_share=0.5, min_peer_cases=5,
                 flag_score=3.0, min_stays=3, floor=0.005, exempt=()):
    """(hospital -> dict, listed case ids in row order)."""
    level = _levels(rows)
    ok = []
    for i, r in enumerate(rows):
        los, cost = _f(r["los"]), _f(r["total_cost"])
        if (_ok(r) and _s(r["drg"]) and _s(r["hospital_id"]) and math.isfinite(los)
                and math.isfinite(cost) and cost >= 0):
            ok.append(i)
    tot, n = defaultdict(float), defaultdict(int)
    n_hg, s_hg, n_lg, s_lg = (defaultdict(int) for _ in range(4))
    for i in ok:
        r = rows[i]
        g, h = _s(r["drg"]), _s(r["hospital_id"])
        tot[g] += _f(r["total_cost"])
        n[g] += 1
        short = _f(r["los"]) <= max_los
        n_hg[(h, g)] += 1
        s_hg[(h, g)] += short
        n_lg[(level[h], g)] += 1
        s_lg[(level[h], g)] += short
    hits = []
    for i in ok:
        r = rows[i]
        g, h = _s(r["drg"]), _s(r["hospital_id"])
        los, cost = _f(r["los"]), _f(r["total_cost"])
        pn = n_lg[(level[h], g)] - n_hg[(h, g)]
        ps = s_lg[(level[h], g)] - s_hg[(h, g)]
        if (los <= max_los and cost < cost_share * (tot[g] / n[g]) and pn >= max(min_peer_cases, 1)
                and ps < peer_short_share * pn and _s(r.get("adrg")) not in exempt):
            hits.append(i)
    dis, bad = defaultdict(int), defaultdict(int)
    for r in rows:
        if _s(r["hospital_id"]):
            dis[_s(r["hospital_id"])] += 1
    for i in hits:
        bad[_s(rows[i]["hospital_id"])] += 1
    value = {h: _div(bad[h], dis[h]) for h in level}
    z = robust_z(value, level, floor)
    out = {h: {"value": value[h], "peer_value": _peer(bad, dis, level, h), "score": z[h],
               "flagged": math.isfinite(z[h]) and z[h] >= flag_score and bad[h] >= min_stays}
           for h in level}
    return out, [_s(rows[i]["case_id"]) for i in hits]


def _sel_counts(rows, rw, high_rw, modes):
    has, high, dis, tr = (defaultdict(int) for _ in range(4))
    for r in rows:
        h = _s(r["hospital_id"])
        if not h:
            continue
        dis[h] += 1
        tr[h] += 1 if _f(r["discharge_mode"]) in modes else 0
        w = rw.get(_s(r["drg"]), math.nan) if _s(r["drg"]) else math.nan
        if _ok(r) and math.isfinite(w):
            has[h] += 1
            high[h] += 1 if w >= high_rw else 0
    return has, high, dis, tr


def patient_selection(rows, rw, history=None, high_rw=2.0, modes=(2,), flag_score=3.0,
                      min_cases=30, floor=0.01):
    """(hospital -> dict, listed case ids: transfers out of flagged hospitals)."""
    level = _levels(rows)
    has, high, dis, tr = _sel_counts(rows, rw, high_rw, modes)
    hs = {h: _div(high[h], has[h]) for h in level}
    ts = {h: _div(tr[h], dis[h]) for h in level}
    a = [{h: -v for h, v in robust_z(hs, level, floor).items()}]
    b = [robust_z(ts, level, floor)]
    if history:
        p_has, p_high, p_dis, p_tr = _sel_counts(history, rw, high_rw, modes)
        dh = {h: hs[h] - _div(p_high[h], p_has[h]) for h in level}
        dt_ = {h: ts[h] - _div(p_tr[h], p_dis[h]) for h in level}
        a.append({h: -v for h, v in robust_z(dh, level, floor).items()})
        b.append(robust_z(dt_, level, floor))
    out = {}
    for h in level:
        sa, sb = _mean([x[h] for x in a]), _mean([x[h] for x in b])
        score = max(sa, sb) if math.isfinite(sa) and math.isfinite(sb) else (
            sa if math.isfinite(sa) else sb)
        out[h] = {"value": hs[h], "peer_value": _peer(high, has, level, h), "score": score,
                  "transfer_share": ts[h],
                  "flagged": math.isfinite(score) and score >= flag_score and dis[h] >= min_cases}
    listed = [_s(r["case_id"]) for r in rows if _s(r["hospital_id"])
              and out[_s(r["hospital_id"])]["flagged"] and _f(r["discharge_mode"]) in modes]
    return out, listed


_OPS = {"==": lambda x, v: x == v, "!=": lambda x, v: x != v, "<": lambda x, v: x < v,
        "<=": lambda x, v: x <= v, ">": lambda x, v: x > v, ">=": lambda x, v: x >= v}


def restricted(rows, exact=(), female_prefixes=(), male_prefixes=(), flag_score=3.0,
               min_cases=2, floor=0.001):
    """``exact``: (code, kind, field, cmp, value) rules. Returns (hospital -> dict, sorted
    list of (case_id, code) contradictions)."""
    rules = [(c, k, f, op, float(v), False) for c, k, f, op, v in exact]
    rules += [(p, "dx", "sex", "==", 2.0, True) for p in female_prefixes]
    rules += [(p, "dx", "sex", "==", 1.0, True) for p in male_prefixes]
    hits = set()
    bad_rows = set()
    for i, r in enumerate(rows):
        for code, kind, fld, op, val, prefix in rules:
            x = _f(r.get(fld))
            known = x in (1.0, 2.0) if fld == "sex" else math.isfinite(x) and x >= 0
            if not known or _OPS[op](x, val):
                continue
            col = "diagnoses" if kind == "dx" else "procedures"
            for c in _codes(r.get(col)):
                if (c.startswith(code) if prefix else c == code):
                    hits.add((_s(r["case_id"]), c))
                    bad_rows.add(i)
    level = _levels(rows)
    dis, bad = defaultdict(int), defaultdict(int)
    for i, r in enumerate(rows):
        h = _s(r["hospital_id"])
        if h:
            dis[h] += 1
            bad[h] += 1 if i in bad_rows else 0
    value = {h: _div(bad[h], dis[h]) for h in level}
    z = robust_z(value, level, floor)
    out = {h: {"value": value[h], "peer_value": _peer(bad, dis, level, h), "score": z[h],
               "flagged": math.isfinite(z[h]) and z[h] >= flag_score and bad[h] >= min_cases,
               "flagged_cases": bad[h]} for h in level}
    return out, sorted(hits)
