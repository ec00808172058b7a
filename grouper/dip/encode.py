"""Scheme vocabularies and case encoding: code text → vocabulary indices → per-case features.

Everything that depends on a code (its key at the configured level, its category, CC/MCC
level, exclusion ids, treatment type) is computed once per *vocabulary* entry; cases only
carry integer token indices, so per-case work is a gather in :func:`_kernels.case_features`.

Code acceptance follows the scheme README (step 1): tokens are split on ``|`` (and ``,``),
not trimmed; a token must be an ``input_code`` of ``dx_map`` / ``proc_map`` (or, for a scheme
without maps, a code of ``diagnoses`` / ``procedures``) and is replaced by its mapped code
(one step, element-wise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .config import DipConfig, code_prefix_len
from .treatment import DIAGNOSTIC, treatment_types

# Status codes of the per-case validation (same vocabulary as the DRG grouper).
SUCCESS, CHECK_FAILED, ZD_NOT_MAPPING, SS_NOT_MAPPING = range(4)
STATUS_NAMES: tuple[str, ...] = ("SUCCESS", "CHECK_FAILED", "ZD_NOT_MAPPING", "SS_NOT_MAPPING")

REQUIRED_COLUMNS = ("case_id", "sex", "age", "diagnoses")


def shared_scheme(scheme: Any) -> Any:
    """The loaded ``grouper.Scheme`` behind ``scheme`` when the DRG grouper's shared
    validation and code mapping (:func:`grouper.engine.encode_cases`) can be used, else None
    (a plain dict of tables, e.g. :func:`grouper.dip.synth.tiny_scheme`)."""
    from ..scheme import Scheme, load_scheme

    if isinstance(scheme, Scheme):
        return scheme
    if isinstance(scheme, (str, Path)):
        return load_scheme(scheme)
    return None


def scheme_tables(scheme: Any) -> dict[str, pd.DataFrame]:
    """The tables of a scheme: a loaded ``grouper.Scheme``, anything with a ``tables`` dict,
    a plain dict of DataFrames, or a scheme folder path (loaded with ``grouper.load_scheme``)."""
    if isinstance(scheme, dict):
        return scheme
    if hasattr(scheme, "tables"):
        return scheme.tables
    from ..scheme import load_scheme  # a path: the DRG grouper's validated loader

    return load_scheme(scheme).tables


def _col(t: dict[str, pd.DataFrame], table: str, column: str) -> pd.Series:
    df = t.get(table)
    if df is None or column not in df.columns:
        return pd.Series([], dtype="str")
    return df[column].astype("str")


def _map(t: dict[str, pd.DataFrame], map_table: str, code_table: str) -> tuple[pd.Series, pd.Series]:
    """(accepted input codes, the code each maps to)."""
    m = t.get(map_table)
    if m is not None and len(m):
        return m["input_code"].astype("str").reset_index(drop=True), m["grouper_code"].astype("str").reset_index(drop=True)
    codes = _col(t, code_table, "code").drop_duplicates().reset_index(drop=True)
    return codes, codes


def _prefix(s: pd.Series, level: int, dot_at: int) -> pd.Series:
    n = code_prefix_len(level, dot_at)
    # Keys are stripped: one scheme maps a code to a value with a leading space (kept verbatim
    # for DRG rules), which must not create a separate diagnosis category.
    s = s.str.strip()
    return s if n == 0 else s.str.slice(0, n)


@dataclass(frozen=True)
class Vocab:
    """Per-code arrays of one scheme under one :class:`DipConfig` (read-only)."""

    dx_codes: pa.Array          # accepted input diagnosis codes (token index = position)
    dx_keys: pd.Series          # key of each token at dx_level (str)
    dx_cats: pd.Series          # 3-character category of each token (str)
    dx_gid: np.ndarray          # id of the mapped code (duplicates of one code share it)
    cc_level: np.ndarray        # 0 none, 1 CC, 2 MCC (int8)
    cc_excl: np.ndarray         # exclusion id of the CC/MCC code, −1 none
    pdx_excl: np.ndarray        # exclusion id when the code is principal, −1 none
    pr_codes: pa.Array
    pr_keys: pd.Series          # key of each token at proc_level (str)
    pr_type: np.ndarray         # treatment type (int8)
    pr_counted: np.ndarray      # belongs in the combination under config.procedures (bool)
    shared: Any = None          # the grouper.Scheme whose engine encodes cases, if any


def build_vocab(scheme: Any, config: DipConfig) -> Vocab:
    """Compile the code tables of ``scheme`` for ``config`` (vectorised over codes).

    For a loaded ``grouper.Scheme`` the vocabulary is the DRG engine's (mapped codes, so token
    ids from :func:`grouper.engine.encode_cases` index it directly); for a dict of tables it is
    the accepted input codes with their one-step mapping.
    """
    shared = shared_scheme(scheme)
    if shared is not None:
        from ..engine import engine_for

        e = engine_for(shared)
        t = shared.tables
        dx_in = dx_to = pd.Series(e.c.dx_vocab, dtype="str")
        pr_in = pr_to = pd.Series(e.c.pr_vocab, dtype="str")
    else:
        t = scheme_tables(scheme)
        dx_in, dx_to = _map(t, "dx_map", "diagnoses")
        pr_in, pr_to = _map(t, "proc_map", "procedures")

    cc = t.get("cc_mcc")
    cc_level = np.zeros(len(dx_in), np.int8)
    cc_excl = np.full(len(dx_in), -1, np.int64)
    pdx_excl = np.full(len(dx_in), -1, np.int64)
    # Exclusion ids are labels: factorize them over both tables so equal text ⇔ equal id.
    excl_labels = pd.Index(pd.concat([_col(t, "cc_mcc", "exclusion_id"), _col(t, "pdx_exclusion", "exclusion_id")]).unique())
    if cc is not None and len(cc):
        idx = pd.Index(cc["code"].astype("str")).get_indexer(dx_to)
        hit = idx >= 0
        lv = cc["level"].astype("str").to_numpy(dtype=object)
        cc_level[hit] = np.where(lv[idx[hit]] == "MCC", 2, 1)
        cc_excl[hit] = excl_labels.get_indexer(cc["exclusion_id"].astype("str").to_numpy(dtype=object)[idx[hit]])
    px = t.get("pdx_exclusion")
    if px is not None and len(px):
        idx = pd.Index(px["code"].astype("str")).get_indexer(dx_to)
        hit = idx >= 0
        pdx_excl[hit] = excl_labels.get_indexer(px["exclusion_id"].astype("str").to_numpy(dtype=object)[idx[hit]])
    # A blank exclusion id means "no exclusion table".
    blank = excl_labels.get_indexer([""])[0]
    if blank >= 0:
        cc_excl[cc_excl == blank] = -1
        pdx_excl[pdx_excl == blank] = -1

    or_codes = _col(t, "or_procedures", "code")
    pr_type = treatment_types(pr_to, or_codes)
    if config.procedures == "all":
        counted = np.ones(len(pr_in), bool)
    elif config.procedures == "or":
        counted = pr_type == 3
    else:
        counted = pr_type != DIAGNOSTIC

    return Vocab(
        dx_codes=pa.array(dx_in.to_numpy(dtype=object), pa.string()),
        dx_keys=_prefix(dx_to, config.dx_level, 3).reset_index(drop=True),
        dx_cats=_prefix(dx_to, 3, 3).reset_index(drop=True),
        dx_gid=pd.factorize(dx_to)[0].astype(np.int64),
        cc_level=cc_level,
        cc_excl=cc_excl,
        pdx_excl=pdx_excl,
        pr_codes=pa.array(pr_in.to_numpy(dtype=object), pa.string()),
        pr_keys=_prefix(pr_to, config.proc_level, 2).reset_index(drop=True),
        pr_type=pr_type,
        pr_counted=counted,
        shared=shared,
    )


@dataclass(frozen=True)
class Tokens:
    off: np.ndarray   # int64 offsets, len = cases + 1
    tok: np.ndarray   # int64 vocabulary index per token, −1 unknown
    empty: np.ndarray  # bool: the text was empty or missing


def tokenize(col: pd.Series, vocab_codes: pa.Array) -> Tokens:
    """Split ``|``/``,``-separated code text and look every token up (C++ via pyarrow)."""
    arr = pa.array(col.astype("str").array if col.dtype != "str" else col.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = pc.fill_null(arr.cast(pa.large_string()), "")
    if pc.any(pc.match_substring(arr, ",")).as_py():
        arr = pc.replace_substring(arr, ",", "|")
    empty = pc.equal(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False)
    lists = pc.split_pattern(arr, "|")
    off = lists.offsets.to_numpy().astype(np.int64)
    values = lists.values
    if lists.offset or off[0] != 0:
        values = values.slice(off[0], off[-1] - off[0])
        off = off - off[0]
    idx = pc.index_in(values, value_set=vocab_codes.cast(pa.large_string()))
    tok = pc.fill_null(idx, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return Tokens(off=off, tok=tok, empty=empty)


def _num(df: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as float64 (NaN = missing or unreadable)."""
    if name not in df.columns:
        return np.full(len(df), np.nan)
    s = df[name]
    if s.dtype.kind in "fiub":
        return s.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(s.astype("str").str.strip(), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def reader_notes(df: pd.DataFrame) -> dict[int, list[str]]:
    """row -> the reader's notes on cells it could not read (``read_warnings``), if any."""
    if "read_warnings" not in df.columns:
        return {}
    rw = df["read_warnings"].astype("string").fillna("")
    return {int(r): [str(rw.iloc[r])] for r in np.flatnonzero((rw != "").to_numpy(dtype=bool))}


def check_failed(df: pd.DataFrame) -> np.ndarray:
    """CHECK_FAILED mask (scheme README step 4): sex missing or not 1/2; age missing; age 0
    without age_days; age 0 and age_days ≤ 28 without birth weight. Unreadable numbers count
    as missing."""
    sex, age = _num(df, "sex"), _num(df, "age")
    days, weight = _num(df, "age_days"), _num(df, "birth_weight")
    bad = ~np.isin(sex, (1.0, 2.0)) | np.isnan(age)
    bad |= (age == 0) & np.isnan(days)
    bad |= (age == 0) & (days <= 28) & np.isnan(weight)
    return bad


def age_bands(df: pd.DataFrame, config: DipConfig) -> np.ndarray:
    """Age band code per case (see :data:`config.AGE_BANDS`): newborn when age is 0 and
    age_days ≤ 28, else child below ``adult_age`` years, elderly from ``elderly_age``."""
    age, days = _num(df, "age"), _num(df, "age_days")
    band = np.full(len(df), 2, np.int8)
    band[age < config.adult_age] = 1
    band[age >= config.elderly_age] = 3
    band[(age == 0) & (days <= 28)] = 0
    return band


@dataclass(frozen=True)
class CaseFeatures:
    status: np.ndarray   # int8 status code
    dxkey: np.ndarray    # int32 diagnosis key id (−1 none)
    cat: np.ndarray      # int32 category id
    ttype: np.ndarray    # int8 treatment type
    sev: np.ndarray      # int8 severity level
    age: np.ndarray      # int8 age band
    key: np.ndarray      # uint64 combination hash (NO_KEY when it cannot match)
    key2: np.ndarray     # uint64 independent second hash
    dx: Tokens
    pr: Tokens
    #: row -> notes (the reader's unreadable cells, code repairs, codes the scheme rejects)
    notes: dict[int, list[str]] = field(default_factory=dict)


def check_columns(df: pd.DataFrame, extra: tuple[str, ...] = ()) -> None:
    """Raise ``ValueError`` naming any required column the table lacks."""
    missing = [c for c in REQUIRED_COLUMNS + extra if c not in df.columns]
    if missing:
        raise ValueError(f"cases lack required column(s) {missing}; columns present: {list(df.columns)}")


def encode_cases(
    df: pd.DataFrame, vocab: Vocab, config: DipConfig, dx_key: np.ndarray, dx_cat: np.ndarray,
    pr_key: np.ndarray, strict: bool = False,
) -> CaseFeatures:
    """Validate and featurise every case; ``dx_key``/``dx_cat``/``pr_key`` give the key ids
    (per vocabulary entry) in the id space of the target (catalogue being built or loaded).

    With a loaded scheme, validation and code mapping are the DRG grouper's
    (:func:`grouper.engine.encode_cases`; ``strict`` as there: exact codes only, otherwise
    unambiguous repairs), so DIP and DRG statuses agree case by case. With a dict of tables
    the exact-match rules of the scheme README apply (``strict`` has no effect)."""
    from ._kernels import case_features

    check_columns(df)
    if vocab.shared is not None:
        return _encode_shared(df, vocab, config, dx_key, dx_cat, pr_key, strict)
    dx = tokenize(df["diagnoses"], vocab.dx_codes)
    procs = df["procedures"] if "procedures" in df.columns else pd.Series([""] * len(df), dtype="str")
    pr = tokenize(procs, vocab.pr_codes)
    bad_dx, bad_pr, dxkey, cat, ttype, sev, key, key2 = case_features(
        dx.off, dx.tok, pr.off, pr.tok, pr.empty,
        dx_key.astype(np.int64), dx_cat.astype(np.int64), vocab.dx_gid, vocab.cc_level,
        vocab.cc_excl, vocab.pdx_excl,
        pr_key.astype(np.int64), vocab.pr_type, vocab.pr_counted, np.int64(config.severity_cap),
    )
    status = np.full(len(df), SUCCESS, np.int8)
    # Precedence of the DRG grouper: ZD_NOT_MAPPING, SS_NOT_MAPPING, CHECK_FAILED.
    status[check_failed(df)] = CHECK_FAILED
    status[bad_pr] = SS_NOT_MAPPING
    status[bad_dx] = ZD_NOT_MAPPING
    return CaseFeatures(status, dxkey, cat, ttype, sev, age_bands(df, config), key, key2, dx, pr,
                        reader_notes(df))


def _encode_shared(
    df: pd.DataFrame, vocab: Vocab, config: DipConfig, dx_key: np.ndarray, dx_cat: np.ndarray,
    pr_key: np.ndarray, strict: bool,
) -> CaseFeatures:
    """Features from the DRG engine's encoding (mapped-code ids, statuses)."""
    from ..engine import ST_CHECK, ST_SS, ST_ZD
    from ..engine import encode_cases as drg_encode
    from ._kernels import case_features

    arrays, st, notes = drg_encode(df, vocab.shared, strict=strict)
    dx = Tokens(off=arrays["dx_off"].astype(np.int64), tok=arrays["dx_ids"].astype(np.int64),
                empty=np.diff(arrays["dx_off"]) == 0)
    pr = Tokens(off=arrays["pr_off"].astype(np.int64), tok=arrays["pr_ids"].astype(np.int64),
                empty=np.diff(arrays["pr_off"]) == 0)
    _bad_dx, _bad_pr, dxkey, cat, ttype, sev, key, key2 = case_features(
        dx.off, dx.tok, pr.off, pr.tok, pr.empty,
        dx_key.astype(np.int64), dx_cat.astype(np.int64), vocab.dx_gid, vocab.cc_level,
        vocab.cc_excl, vocab.pdx_excl,
        pr_key.astype(np.int64), vocab.pr_type, vocab.pr_counted, np.int64(config.severity_cap),
    )
    status = np.full(len(df), SUCCESS, np.int8)
    status[st == ST_CHECK] = CHECK_FAILED
    status[st == ST_SS] = SS_NOT_MAPPING
    status[st == ST_ZD] = ZD_NOT_MAPPING
    return CaseFeatures(status, dxkey, cat, ttype, sev, age_bands(df, config), key, key2, dx, pr,
                        notes)
