"""Grouping cases into a catalogue: validate, encode, hash-join on combinations, score.

Output (ARCHITECTURE.md "DIP grouped cases"): ``case_id, status, dip_group, dip_type, score,
aux_level, aux_coefficient, final_score``, one row per input row, input order.

* ``status``: SUCCESS, CHECK_FAILED, ZD_NOT_MAPPING, SS_NOT_MAPPING (DRG grouper vocabulary).
* ``dip_type``: ``core`` (the case's combination is a core group), ``comprehensive`` (its
  category × treatment group), ``unmatched`` (valid case, but neither exists in the catalogue:
  status stays SUCCESS because validation passed; score and final_score are NaN). Rows that
  fail validation have ``dip_type`` and ``dip_group`` empty and NaN numbers.
* ``aux_level``: ``S<severity>-<age band>`` (e.g. ``S2-elderly``) for every valid case.
* ``final_score = score × aux_coefficient`` (severity coefficient × age coefficient).
* ``warnings``: why a row has its status, as the DRG grouper's column: the reader's notes on
  unreadable cells first, then code repairs and codes the scheme rejects, then (when nothing
  else explains it) the failed input check or why a valid case is ``unmatched``.
* ``read_status`` (after ``status``) when the cases were read from a file (they carry it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._kernels import match, set_keys
from .catalogue import Catalogue, as_frame
from .config import AGE_BANDS, TREATMENTS, DipConfig
from .encode import (
    CHECK_FAILED,
    SS_NOT_MAPPING,
    STATUS_NAMES,
    SUCCESS,
    ZD_NOT_MAPPING,
    Vocab,
    build_vocab,
    encode_cases,
)

OUTPUT_COLUMNS = ("case_id", "status", "dip_group", "dip_type", "score", "aux_level", "aux_coefficient", "final_score",
                  "warnings")
DIP_TYPES = ("", "core", "comprehensive", "unmatched")


@dataclass(frozen=True)
class CompiledCatalogue:
    """A catalogue compiled against one scheme's vocabulary: per-code key ids and the sorted
    combination hashes of the core groups (built once, reused for every chunk)."""

    config: DipConfig
    vocab: Vocab
    dx_key: np.ndarray      # per dx token: catalogue diagnosis-key id or −1
    dx_cat: np.ndarray      # per dx token: catalogue category id or −1
    pr_key: np.ndarray      # per procedure token: catalogue procedure-key id or −1
    keys: np.ndarray        # sorted core combination hashes
    keys2: np.ndarray
    rows: np.ndarray        # group row of each sorted hash
    comp_table: np.ndarray  # category id * 4 + treatment → group row or −1
    codes: pa.Array
    score: np.ndarray
    sev_coef: np.ndarray    # (groups, severity levels)
    age_coef: np.ndarray    # (groups, age bands)


def _resolve_group_scheme(catalogue: Catalogue, scheme: Any) -> Any:
    if scheme is not None:
        return scheme
    path = (catalogue.manifest.get("scheme") or {}).get("path")
    if path:
        return path
    from .catalogue import resolve_scheme

    return resolve_scheme(None)


def compile_catalogue(catalogue: Catalogue, scheme: Any = None) -> CompiledCatalogue:
    """Compile ``catalogue`` against ``scheme`` (default: the scheme recorded in the
    manifest, else the bundled demo scheme)."""
    scheme = _resolve_group_scheme(catalogue, scheme)
    cfg = catalogue.config
    vocab = build_vocab(scheme, cfg)
    g = catalogue.groups
    core = (g["type"] == "core").to_numpy()
    core_rows = np.flatnonzero(core)
    # Catalogue-local id spaces for diagnosis keys, categories and procedure keys.
    core_dx = pd.Index(g["diagnosis"].to_numpy(dtype=object)[core_rows]).unique()
    lists = pc.split_pattern(pa.array(g["procedures"].to_numpy(dtype=object)[core_rows], pa.large_string()), "+")
    off = lists.offsets.to_numpy().astype(np.int64)
    vals = lists.values.to_numpy(zero_copy_only=False)
    # '' (no procedure) splits into one empty token: drop it from the set.
    nonempty = vals != ""
    kept_before = np.concatenate(([0], np.cumsum(nonempty)))
    off = kept_before[off]
    vals = vals[nonempty]
    pr_index = pd.Index(vals).unique()
    ids = pr_index.get_indexer(vals).astype(np.int64)
    dxi = core_dx.get_indexer(g["diagnosis"].to_numpy(dtype=object)[core_rows]).astype(np.int64)
    k1, k2 = set_keys(dxi, off, ids)
    order = np.argsort(k1, kind="stable")
    comp = ~core
    cats = pd.Index(g["diagnosis"].to_numpy(dtype=object)[comp]).unique()
    comp_table = np.full(max(len(cats), 1) * 4, -1, np.int32)
    tr = pd.Index(TREATMENTS).get_indexer(g["treatment"].to_numpy(dtype=object)[comp])
    comp_table[cats.get_indexer(g["diagnosis"].to_numpy(dtype=object)[comp]) * 4 + tr] = np.flatnonzero(comp)
    n = len(g)
    sev_coef = np.ones((n, cfg.severity_cap + 1))
    age_coef = np.ones((n, len(AGE_BANDS)))
    a = catalogue.aux
    if len(a):
        gi = pd.Index(g["group_code"]).get_indexer(a["group_code"])
        coef = a["coefficient"].to_numpy(dtype=float)
        s = (a["dimension"] == "severity").to_numpy()
        sev_coef[gi[s], a["level"].to_numpy(dtype=object)[s].astype(int)] = coef[s]
        ag = (a["dimension"] == "age").to_numpy()
        age_coef[gi[ag], pd.Index(AGE_BANDS).get_indexer(a["level"].to_numpy(dtype=object)[ag])] = coef[ag]
    return CompiledCatalogue(
        config=cfg, vocab=vocab,
        dx_key=core_dx.get_indexer(vocab.dx_keys.to_numpy(dtype=object)).astype(np.int64),
        dx_cat=cats.get_indexer(vocab.dx_cats.to_numpy(dtype=object)).astype(np.int64),
        pr_key=pr_index.get_indexer(vocab.pr_keys.to_numpy(dtype=object)).astype(np.int64),
        keys=k1[order], keys2=k2[order], rows=core_rows[order].astype(np.int32),
        comp_table=comp_table,
        codes=pa.array(g["group_code"].to_numpy(dtype=object), pa.large_string()),
        score=g["score"].to_numpy(dtype=float),
        sev_coef=sev_coef, age_coef=age_coef,
    )


def _text(values: pa.Array) -> pd.Series:
    """An Arrow string array as a pandas ``str`` column without a round trip via objects."""
    return pd.Series(pd.array(values.cast(pa.large_string()), dtype="str"), copy=False)


def _aux_labels(cfg: DipConfig) -> pa.Array:
    return pa.array([f"S{s}-{a}" for s in range(cfg.severity_cap + 1) for a in AGE_BANDS], pa.large_string())


_CHECK_REASON = ("input check failed: sex must be 1 or 2, age given (age_days when age is 0, "
                 "birth weight for a newborn of 28 days or less), a principal diagnosis given")
_MAP_REASON = {ZD_NOT_MAPPING: "a diagnosis is not a code of the scheme",
               SS_NOT_MAPPING: "a procedure is not a code of the scheme"}


def _reasons(f: Any, cc: CompiledCatalogue, dtype: np.ndarray) -> pd.Series:
    """The ``warnings`` column: the encoder's notes, else the reason of the status / type."""
    notes = {r: list(m) for r, m in f.notes.items()}
    for r in np.flatnonzero(f.status == CHECK_FAILED).tolist():
        notes.setdefault(r, []).append(_CHECK_REASON)
    for code, why in _MAP_REASON.items():
        for r in np.flatnonzero(f.status == code).tolist():
            notes.setdefault(r, [why])
    un = np.flatnonzero(dtype == 3)
    if len(un):
        first = f.dx.off[un]
        has = (first < f.dx.off[un + 1])
        tok = np.where(has, f.dx.tok[np.minimum(first, max(len(f.dx.tok) - 1, 0))] if len(f.dx.tok) else -1, -1)
        cats = cc.vocab.dx_cats.to_numpy(dtype=object)
        for r, t, tt in zip(un.tolist(), tok.tolist(), f.ttype[un].tolist()):
            cat = cats[t] if 0 <= t < len(cats) else "?"
            notes.setdefault(r, []).append(
                f"unmatched: no core group for its combination and no comprehensive group "
                f"{cat}/{TREATMENTS[tt]} in the catalogue (score left empty)")
    n = len(f.status)
    if not notes:
        return pd.Series(np.full(n, "", dtype=object), dtype="str")
    text = np.full(n, "", dtype=object)
    for r, m in notes.items():
        text[r] = "; ".join(m)
    return pd.Series(text, dtype="str")


def group_frame(df: pd.DataFrame, cc: CompiledCatalogue, strict: bool = False) -> pd.DataFrame:
    """Group one case table with a compiled catalogue (see the module docstring)."""
    f = encode_cases(df, cc.vocab, cc.config, cc.dx_key, cc.dx_cat, cc.pr_key, strict=strict)
    row, is_core = match(f.key, f.key2, f.cat, f.ttype, cc.keys, cc.keys2, cc.rows, cc.comp_table)
    ok = f.status == SUCCESS
    row = np.where(ok, row, -1)
    hit = row >= 0
    r = np.where(hit, row, 0)
    score = np.where(hit, cc.score[r] if len(cc.score) else np.nan, np.nan)
    coef = np.where(hit, cc.sev_coef[r, f.sev] * cc.age_coef[r, f.age] if len(cc.score) else np.nan, np.nan)
    dtype = np.where(ok, np.where(hit, np.where(is_core, 1, 2), 3), 0).astype(np.int8)
    aux_idx = np.where(ok, f.sev.astype(np.int64) * len(AGE_BANDS) + f.age, -1)
    out = pd.DataFrame({
        "case_id": df["case_id"].astype("str").reset_index(drop=True),
        "status": _text(pa.array(STATUS_NAMES, pa.large_string()).take(pa.array(f.status))),
        "dip_group": _text(pc.fill_null(cc.codes.take(pa.array(row, mask=~hit)), "")),
        "dip_type": _text(pa.array(DIP_TYPES, pa.large_string()).take(pa.array(dtype))),
        "score": score,
        "aux_level": _text(pc.fill_null(_aux_labels(cc.config).take(pa.array(aux_idx, mask=~ok)), "")),
        "aux_coefficient": coef,
        "final_score": score * coef,
        "warnings": _reasons(f, cc, dtype),
    })
    if "read_status" in df.columns:  # the reader's row status rides along, as in grouper.group
        out.insert(2, "read_status", df["read_status"].astype("str").to_numpy())
    return out


def with_inputs(cases: pd.DataFrame, grouped: pd.DataFrame) -> pd.DataFrame:
    """The input columns, then the DIP columns (``--keep-columns``): each column once. An
    input column the grouping writes too (``read_status``; ``status``, ``dip_group`` … of an
    already grouped file) is the grouping's, so the table stays readable as one case file."""
    own = [c for c in grouped.columns if c != "case_id" and c in cases.columns]
    return pd.concat([cases.drop(columns=own).reset_index(drop=True),
                      grouped.drop(columns=["case_id"]).reset_index(drop=True)], axis=1)


def group(
    cases: pd.DataFrame | str,
    catalogue: Catalogue,
    scheme: Any = None,
    *,
    strict: bool = False,
    chunk_size: int = 1_000_000,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Group ``cases`` (canonical columns, or a case file) into ``catalogue``.

    Never raises on bad rows (they get a non-SUCCESS status); raises ``ValueError`` only when
    a required column (case_id, sex, age, diagnoses) is absent. Validation and code mapping are
    the DRG grouper's for a loaded scheme (``strict=True``: exact codes only; default: the
    grouper's unambiguous repairs). ``progress(done, total)`` is called after each chunk.
    """
    df = as_frame(cases)
    cc = compile_catalogue(catalogue, scheme)
    n = len(df)
    parts = []
    for start in range(0, max(n, 1), chunk_size):
        part = df.iloc[start:start + chunk_size]
        parts.append(group_frame(part, cc, strict))
        if progress:
            progress(min(start + chunk_size, n), n)
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
