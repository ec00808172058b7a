"""Plain-Python reference for the §10 split-admission signal; imports nothing from ``payment``.

One loop per patient over stays sorted by admission date; the robust z-score by ``statistics``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

EXEMPT = ("RB1", "RB2", "RE1", "RC1", "LL1")


def _date(text):
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        return None


def split_pairs(rows, window=14, match="adrg", exempt=EXEMPT):
    """List of (first case_id, second case_id, gap days)."""
    by_patient = defaultdict(list)
    for pos, r in enumerate(rows):
        a, d = _date(r["admission_date"]), _date(r["discharge_date"])
        pid = str(r["patient_id"])
        if pid in ("", "nan", "None") or a is None or d is None:
            continue
        by_patient[pid].append((a, d, pos, r))
    pairs = []
    for stays in by_patient.values():
        stays.sort(key=lambda s: (s[0], s[1], s[2]))
        for (_, d1, _, r1), (a2, _, _, r2) in zip(stays, stays[1:]):
            gap = (a2 - d1).days
            if not 0 <= gap <= window:
                continue
            if str(r1["status"]) != "SUCCESS" or str(r2["status"]) != "SUCCESS":
                continue
            k1, k2 = str(r1[match]), str(r2[match])
            if k1 in ("", "nan", "None") or k1 != k2:
                continue
            if str(r1["adrg"]) in exempt or str(r2["adrg"]) in exempt:
                continue
            pairs.append((str(r1["case_id"]), str(r2["case_id"]), gap))
    return pairs


def hospital_signal(rows, pairs, flag_score=3.0, min_stays=2, min_scale=0.005):
    """hospital -> dict(value, peer_value, score, flagged, flagged_stays, discharges)."""
    in_pair = {c for p in pairs for c in p[:2]}
    discharges, stays, level = defaultdict(int), defaultdict(int), {}
    for r in rows:
        h = str(r["hospital_id"])
        discharges[h] += 1
        stays[h] += 1 if str(r["case_id"]) in in_pair else 0
        level[h] = int(r["hospital_level"])
    rate = {h: stays[h] / discharges[h] for h in discharges}
    out = {}
    for h in discharges:
        same = [g for g in discharges if level[g] == level[h]]
        rates = [rate[g] for g in same]
        med = statistics.median(rates)
        mad = statistics.median([abs(x - med) for x in rates])
        scale = max(1.4826 * mad, min_scale)
        others = [g for g in same if g != h]
        other_d = sum(discharges[g] for g in others)
        score = (rate[h] - med) / scale
        out[h] = {
            "value": rate[h],
            "peer_value": sum(stays[g] for g in others) / other_d if other_d else None,
            "score": score,
            "flagged": score >= flag_score and stays[h] >= min_stays,
            "flagged_stays": stays[h],
            "discharges": discharges[h],
        }
    return out
