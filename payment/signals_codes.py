"""Sex- or age-restricted codes (性别/年龄限定编码), domain.md §10, and all signals at once.

``restricted_codes(grouped, restrictions, policy)`` lists every case with a diagnosis (or
procedure) that contradicts its recorded sex or age. The facts come in as data:

- ``restrictions``: a table ``code, kind, field, cmp, value`` (kind ``dx``/``pr``; field ``sex``
  or ``age``; cmp one of ``== != < <= > >=``; the case must satisfy ``field cmp value`` to carry
  the code), e.g. built by the application layer from the scheme's MDC entry rules (payment
  never reads a scheme); an optional ``source`` column is quoted in the detail;
- the policy's ``female_prefixes`` / ``male_prefixes`` (code prefixes only one sex can carry).

A case contradicts a rule when its field is known (sex 1 or 2; age finite ≥ 0) and the
condition fails; a case with
several contradictions is listed once per code. value = contradicting cases ÷ discharges;
score = robust z of the value within the level; flagged = score ≥ ``flag_score`` and at least
``min_cases`` such cases.

A table without the columns any rule reads (no ``diagnoses``/``procedures`` column for the
rules' codes, or neither ``sex`` nor ``age``) raises ``KeyError`` naming them: "no contradiction"
would otherwise be reported for cases that could not be judged.

``all_signals(...)`` runs the five signals and concatenates their outputs (signal order of
:data:`payment.supervision.SIGNALS`); when none can run it raises :class:`SignalsUnavailable`,
whose ``skipped`` maps each signal to the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _signals_kernels as K
from .labels import DETAIL_WORDS
from .signals import (
    _count,
    _flags,
    _frame,
    _ratio,
    _text,
    _z,
    low_standard_admissions,
    patient_selection,
    upcoding,
)
from .signals_facts import CaseFacts, arrow_text, facts_of, text_buffers
from .signals_text import detail_columns
from .supervision import (
    CASE_FLAG_COLUMNS,
    HOSPITAL_SIGNAL_COLUMNS,
    SupervisionPolicy,
    peer_values,
    split_admissions,
)

__all__ = ["RESTRICTION_COLUMNS", "SignalsUnavailable", "all_signals", "restricted_codes"]

RESTRICTION_COLUMNS = ("code", "kind", "field", "cmp", "value")
_CMP = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
        ">": np.greater, ">=": np.greater_equal}
_COLUMN = {"dx": "diagnoses", "pr": "procedures"}


class SignalsUnavailable(KeyError):
    """No supervision signal could run: ``skipped`` maps each signal to what its cases lack."""

    def __init__(self, skipped: dict[str, str]) -> None:
        super().__init__("no supervision signal could run: " + "; ".join(skipped.values()))
        self.skipped = dict(skipped)


def _rules(restrictions: pd.DataFrame | None, policy) -> pd.DataFrame:
    """Exact-code rules from the table and prefix rules from the policy, one frame."""
    parts = []
    if restrictions is not None and len(restrictions):
        missing = [c for c in RESTRICTION_COLUMNS if c not in restrictions.columns]
        if missing:
            raise KeyError(f"restrictions table lacks column(s) {missing}; "
                           f"needs {list(RESTRICTION_COLUMNS)}")
        r = restrictions.copy()
        bad = sorted(set(r["cmp"].astype(str)) - set(_CMP))
        if bad:
            raise ValueError(f"restrictions: unknown cmp {bad}; allowed {sorted(_CMP)}")
        badf = sorted(set(r["field"].astype(str)) - {"sex", "age"})
        if badf:
            raise ValueError(f"restrictions: unknown field {badf}; allowed ['age', 'sex']")
        badk = sorted(set(r["kind"].astype(str)) - set(_COLUMN))
        if badk:
            raise ValueError(f"restrictions: unknown kind {badk}; allowed ['dx', 'pr']")
        r["match"] = "exact"
        if "source" not in r.columns:
            r["source"] = "scheme"
        parts.append(r[[*RESTRICTION_COLUMNS, "match", "source"]])
    for prefixes, sex in ((policy.female_prefixes, 2), (policy.male_prefixes, 1)):
        if prefixes:
            parts.append(pd.DataFrame({"code": list(prefixes), "kind": "dx", "field": "sex",
                                       "cmp": "==", "value": sex, "match": "prefix",
                                       "source": "policy"}))
    if not parts:
        return pd.DataFrame(columns=[*RESTRICTION_COLUMNS, "match", "source"])
    out = pd.concat(parts, ignore_index=True)
    out["code"] = out["code"].astype(str).str.strip()
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(np.float64)
    return out[out["code"] != ""]


def _stem_table(stems: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stems as UTF-8 bytes sorted by first byte: (ptr by first byte, offsets, bytes)."""
    enc = sorted(s.encode("utf-8") for s in stems if s)
    first = np.array([b[0] for b in enc], dtype=np.int64)
    ptr = np.searchsorted(first, np.arange(257), side="left").astype(np.int64)
    off = np.concatenate([[0], np.cumsum([len(b) for b in enc])]).astype(np.int64)
    data = np.frombuffer(b"".join(enc), dtype=np.uint8) if enc else np.zeros(0, np.uint8)
    return ptr, off, data


def _hits(df: pd.DataFrame, rules: pd.DataFrame, num) -> pd.DataFrame:
    """(row, code, rule index) for each contradicting code; rows pre-filtered by condition.
    ``num(col)``: the column as float64 (:meth:`CaseFacts.num`, read once per column)."""
    out = []
    arrow: dict[str, tuple[np.ndarray, ...]] = {}
    for (kind, field, cmp, value), rs in rules.groupby(["kind", "field", "cmp", "value"],
                                                        sort=True):
        col = _COLUMN[kind]
        if col not in df.columns or field not in df.columns:
            continue
        x = num(field)
        known = np.isin(x, (1.0, 2.0)) if field == "sex" else np.isfinite(x) & (x >= 0)
        fails = known & ~_CMP[cmp](x, value)
        rows = np.flatnonzero(fails)
        if len(rows) == 0:
            continue
        # cheap text pre-filter on the 1-3 character stems (a code of a failing row starts with
        # one, at the text's start or after a '|'), then an exact look at the few left
        stems = sorted({c[:3] for c in rs["code"]} | {c for c in rs["code"] if len(c) < 3})
        if col not in arrow:
            arrow[col] = text_buffers(arrow_text(df[col]))
        rows = rows[K.stem_rows(*arrow[col], rows, *_stem_table(stems))]
        if len(rows) == 0:
            continue
        text = _text(df[col].iloc[rows])
        codes = text.str.split("|")
        long = pd.DataFrame({
            "row": np.repeat(rows, codes.str.len().to_numpy()),
            "code": np.concatenate(codes.to_list())})
        long["code"] = long["code"].str.strip()
        exact = rs[rs["match"] == "exact"]
        if len(exact):
            m = long.merge(exact[["code", "source"]].drop_duplicates("code"), on="code")
            out.append(m.assign(kind=kind, field=field, cmp=cmp, value=value))
        for _, r in rs[rs["match"] == "prefix"].iterrows():
            m = long[long["code"].str.startswith(r["code"])]
            if len(m):
                out.append(m.assign(source=f"{r['source']} prefix {r['code']}", kind=kind,
                                    field=field, cmp=cmp, value=value))
    if not out:
        return pd.DataFrame(columns=["row", "code", "source", "kind", "field", "cmp", "value"])
    hits = pd.concat(out, ignore_index=True)
    return hits.drop_duplicates(["row", "code"]).sort_values(["row", "code"], kind="stable")


def restricted_codes(
    grouped: pd.DataFrame, restrictions: pd.DataFrame | None = None,
    policy: SupervisionPolicy | None = None, facts: CaseFacts | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cases whose codes contradict their sex or age, and the per-hospital rate (docstring)."""
    rp = (policy or SupervisionPolicy()).restricted_code
    for c in ("case_id", "hospital_id", "hospital_level"):
        if c not in grouped.columns:
            raise KeyError(f"restricted codes: cases lack column {c!r}")
    rules = _rules(restrictions if rp.use_scheme else None, rp)
    usable = [(_COLUMN[k], c) for k, c in zip(rules["kind"], rules["field"])
              if _COLUMN[k] in grouped.columns and c in grouped.columns]
    if len(rules) and not usable:
        need = sorted({_COLUMN[k] for k in rules["kind"]}) + sorted(set(rules["field"]))
        missing = [c for c in need if c not in grouped.columns]
        raise KeyError(f"restricted codes: cases lack column(s) {missing}; need the code "
                       f"column(s) and sex or age: {need}")
    f = facts_of(grouped, facts)
    hits = _hits(grouped, rules if len(rules) else rules.iloc[:0], f.num)
    h, names, level = f.hospitals
    n = len(names)
    case_hit = np.zeros(len(grouped), dtype=bool)
    rows = hits["row"].to_numpy(np.int64)
    case_hit[rows] = True
    dis = _count(h, np.ones(len(grouped), dtype=bool), n)
    bad = _count(h, case_hit, n)
    value = _ratio(bad, dis)
    score = _z(value, level, rp.min_scale)
    flagged = (score >= rp.flag_score) & (bad >= rp.min_cases)
    hospitals = _frame("restricted_code", names, value, peer_values(bad, dis, level), score,
                       flagged, level, flagged_cases=bad, discharges=dis)
    recorded = {c: f.num(c) if c in grouped.columns else np.full(len(grouped), np.nan)
                for c in ("sex", "age")}
    kind = hits["kind"].to_numpy(object)
    fld = hits["field"].to_numpy(object)
    rec = np.where(fld == "sex", recorded["sex"][rows], recorded["age"][rows])

    def word(col: np.ndarray) -> dict[str, np.ndarray]:
        zh = {k: v[0] for k, v in DETAIL_WORDS.items()}
        en = {k: v[1] for k, v in DETAIL_WORDS.items()}
        return {"zh": pd.Series(col).map(zh).fillna(pd.Series(col)).to_numpy(object),
                "en": pd.Series(col).map(en).fillna(pd.Series(col)).to_numpy(object)}

    details = detail_columns(
        "restricted", len(rows), what=word(kind), code=hits["code"].to_numpy(object),
        field=word(fld), cmp=hits["cmp"].to_numpy(object),
        value=hits["value"].to_numpy(np.float64), source=hits["source"].to_numpy(object),
        recorded=rec)
    flags = _flags(grouped, rows, "restricted_code", details)
    flags["code"] = hits["code"].to_numpy(object)
    return flags, hospitals


def all_signals(
    grouped: pd.DataFrame, history: pd.DataFrame | None = None, *, weights: Any = None,
    cc_codes: Any = None, restrictions: pd.DataFrame | None = None,
    policy: SupervisionPolicy | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The five signals: ``(case_flags, hospital_signals)``, stable columns first.

    Split admissions pair stays of ``grouped`` with each other and with the ``history`` stays
    just before them (a stay late in the history year and a readmission early in the period);
    the history stay is listed with ``period = "history"``. A signal
    whose columns are missing (e.g. no ``patient_id`` or dates) is skipped; the reason is in
    ``hospital_signals.attrs["skipped"]`` (signal -> message); when every signal is skipped,
    :class:`SignalsUnavailable` (a ``KeyError``) carries them all.
    """
    policy = policy or SupervisionPolicy()
    flags, hosp, skipped = [], [], {}
    f, hf = CaseFacts(grouped), facts_of(history)  # per-row facts computed once for all five
    runs = (
        ("split_admission", lambda: split_admissions(grouped, policy, history=history,
                                                     facts=f, history_facts=hf)),
        ("upcoding", lambda: upcoding(grouped, history, cc_codes=cc_codes, policy=policy,
                                      facts=f, history_facts=hf)),
        ("low_standard_admission", lambda: low_standard_admissions(grouped, policy, facts=f)),
        ("patient_selection", lambda: patient_selection(grouped, history, weights=weights,
                                                        policy=policy, facts=f,
                                                        history_facts=hf)),
        ("restricted_code", lambda: restricted_codes(grouped, restrictions, policy, facts=f)),
    )
    for name, run in runs:
        try:
            fl, hs = run()
        except KeyError as exc:  # a column the signal needs is absent: skip it, say why
            skipped[name] = str(exc).strip("'\"")
            continue
        flags.append(fl)
        hosp.append(hs)
    if not hosp:
        raise SignalsUnavailable(skipped)
    case_flags = pd.concat(flags, ignore_index=True)
    cols = list(CASE_FLAG_COLUMNS) + [c for c in case_flags.columns if c not in CASE_FLAG_COLUMNS]
    hospital = pd.concat(hosp, ignore_index=True)
    hcols = list(HOSPITAL_SIGNAL_COLUMNS) + [c for c in hospital.columns
                                              if c not in HOSPITAL_SIGNAL_COLUMNS]
    hospital = hospital[hcols]
    hospital.attrs["skipped"] = skipped
    return case_flags[cols], hospital
