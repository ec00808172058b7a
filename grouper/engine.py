"""group(): validate and encode cases, run the kernel, decode statuses.

Modes (scheme README, step 1):

* ``strict=True`` reproduces the reference grouper exactly: every token must be an input code
  of the code map byte for byte.
* ``mapping=False`` skips code mapping: tokens are used as given (an empty diagnoses text is one
  empty principal) and no mapping status can occur.
* default: like strict, but a token that is not accepted as given is repaired when the repair
  is unambiguous (white space, full-width characters, letter case, a missing or extra dot), a
  code the scheme's own tables use is accepted even when the input map lacks it, empty
  secondary tokens are dropped, and impossible values (negative age, ...) fail the check.
  Every change is written to the ``warnings`` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import _kernels, decision_cache
from ._jit import kernel
from ._kernels import CaseArrays, SchemeArrays, scheme_arrays
from .compile import CompiledScheme
from .encode import Normaliser, Tokens, Vocab, tokenize
from .errors import CaseFileError
from .scheme import Scheme
from .scheme import result_codes as scheme_result_codes
from .textkey import text_keys

STATUSES = ("SUCCESS", "QY", "FAIL", "CHECK_FAILED", "ZD_NOT_MAPPING", "SS_NOT_MAPPING")
ST_ZD, ST_SS, ST_CHECK = 4, 5, 3
NUM_FIELDS = ("sex", "age", "age_days", "birth_weight", "los", "icu_hours")  # kernel order (weight = birth_weight; n_dx derived)
GROUP_COLUMNS = ("case_id", "status", "mdc", "adrg", "drg", "warnings")


@dataclass
class Engine:
    """Everything the fast path needs from a scheme, built once per compiled scheme."""

    c: CompiledScheme
    dx_vocab: Vocab
    pr_vocab: Vocab
    dx_norm: Normaliser
    pr_norm: Normaliser
    res_status: np.ndarray  # int8 per result id
    res_mdc: np.ndarray  # object
    res_adrg: np.ndarray
    res_drg: np.ndarray
    #: result id (past the scheme's results) holding the mdc/adrg/drg of a case that never
    #: reached grouping (CHECK_FAILED, ZD_NOT_MAPPING, SS_NOT_MAPPING)
    not_grouped_id: int = 0
    #: the kernel's scheme arrays as one structure, built once per scheme
    arrays: SchemeArrays | None = None
    #: vocabulary ids the code maps accept as given (``dx_map >= 0`` / ``pr_map >= 0``)
    dx_ok: np.ndarray | None = None
    pr_ok: np.ndarray | None = None


_ENGINES: dict[str, Engine] = {}


def _acceptable(vocab: list[str], codes: set[str]) -> np.ndarray:
    return np.fromiter((s in codes for s in vocab), dtype=bool, count=len(vocab))


def result_codes(scheme: Scheme) -> tuple[tuple[str, str, str], str, tuple[str, str, str]]:
    """(fail mdc/adrg/drg, drg of an X00 failure, not-grouped mdc/adrg/drg) of a scheme,
    validated by :func:`grouper.scheme.result_codes` (yunnan-2022 README)."""
    return scheme_result_codes(scheme.meta, str(scheme.path / "scheme.json"))


def engine_for(scheme: Scheme) -> Engine:
    """The (cached) engine of a scheme."""
    key = scheme.content_hash
    if key in _ENGINES:
        return _ENGINES[key]
    c = scheme.compiled
    t = scheme.tables
    dx_codes = set(t["diagnoses"]["code"]) | set(t["cc_mcc"]["code"]) | set(t["pdx_exclusion"]["code"])
    dx_codes |= set(t["dx_map"]["grouper_code"])
    pr_codes = set(t["procedures"]["code"]) | set(t["or_procedures"]["code"]) | set(t["proc_map"]["grouper_code"])
    # codes named in rule lists count too, but not the region header labels of MDCZ
    kinds = dict(zip(t["lists"]["list"], t["lists"]["kind"]))
    cl = t["code_lists"]
    is_code = cl["code"].str.contains(r"\d", regex=True)
    dx_codes |= set(cl["code"][(cl["list"].map(kinds) == "dx") & is_code])
    pr_codes |= set(cl["code"][(cl["list"].map(kinds) == "pr") & is_code])
    no_group = c.results[0]
    fail, fail_mdc_drg, not_grouped = result_codes(scheme)
    st, mdc, adrg, drg = [], [], [], []
    for r in c.results:
        if r == no_group:
            st.append(2), mdc.append(fail[0]), adrg.append(fail[1]), drg.append(fail[2])
        elif r[1:3] == "00":
            st.append(2), mdc.append("MDC" + r[0]), adrg.append("00"), drg.append(fail_mdc_drg)
        elif r[1:3] == "QY":
            st.append(1), mdc.append("MDC" + r[0]), adrg.append("QY"), drg.append(r)
        else:
            st.append(0), mdc.append("MDC" + r[0]), adrg.append(r[0:3]), drg.append(r)
    st.append(2), mdc.append(not_grouped[0]), adrg.append(not_grouped[1]), drg.append(not_grouped[2])
    e = Engine(
        c=c,
        dx_vocab=Vocab.build(c.dx_vocab),
        pr_vocab=Vocab.build(c.pr_vocab),
        dx_norm=Normaliser(c.dx_vocab, c.dx_map >= 0, _acceptable(c.dx_vocab, dx_codes)),
        pr_norm=Normaliser(c.pr_vocab, c.pr_map >= 0, _acceptable(c.pr_vocab, pr_codes)),
        res_status=np.array(st, dtype=np.int8),
        res_mdc=np.array(mdc, dtype=object),
        res_adrg=np.array(adrg, dtype=object),
        res_drg=np.array(drg, dtype=object),
        not_grouped_id=len(c.results),
        arrays=scheme_arrays(c),
        dx_ok=c.dx_map >= 0,
        pr_ok=c.pr_map >= 0,
    )
    _ENGINES[key] = e
    return e


# --- input columns -------------------------------------------------------------------------------


def _text_column(df: pd.DataFrame, name: str) -> pa.Array:
    """A text column as an Arrow string array; list columns are joined with '|'."""
    if name not in df.columns:
        return pa.nulls(len(df), pa.large_string())
    s = df[name]
    try:
        arr = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in s], pa.large_string())
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        arr = pc.binary_join(arr.cast(pa.list_(pa.string())), "|")
    elif pa.types.is_null(arr.type):
        arr = pa.nulls(len(df), pa.large_string())
    elif not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        # numbers or mixed objects in a code column: their text is the code
        arr = pa.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in s], pa.large_string())
    return arr


def numeric_column(df: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values with NaN for missing, bool mask of non-empty values that are not numbers)."""
    if name not in df.columns:
        n = len(df)
        return np.full(n, np.nan), np.zeros(n, dtype=bool)
    s = df[name]
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype("float64")
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        return v, np.zeros(len(v), dtype=bool)
    try:
        # fast path: Arrow parses a clean text column in one kernel
        arr = pa.array(s, from_pandas=True)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            t = pc.utf8_trim_whitespace(arr)
            t = pc.if_else(pc.equal(t, ""), pa.scalar(None, t.type), t)
            v = pc.cast(t, pa.float64()).to_numpy(zero_copy_only=False)
            return np.asarray(v, dtype=np.float64), np.zeros(len(v), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    raw = s.astype("string").str.strip()
    bad = (raw.notna() & (raw != "")).to_numpy(dtype=bool, na_value=False) & np.isnan(v)
    return v, bad


def _dept_ids(df: pd.DataFrame, scheme: Scheme) -> np.ndarray:
    c = engine_for(scheme).c
    return text_keys(c, {f: df[f] for f in c.text_fields if f in df.columns}, len(df))


def dept_ids(values: pd.Series | list[str | None], scheme: Scheme,
             discharge_mode: pd.Series | list | None = None) -> np.ndarray:
    """The kernel's int32 text key of each case from its department (and discharge mode)
    text (:func:`grouper.compile.text_keys`): the text fields the scheme's rules compare,
    one slot each. One dictionary lookup per distinct value."""
    cols = {"dept": values} if discharge_mode is None else {"dept": values, "discharge_mode": discharge_mode}
    return text_keys(engine_for(scheme).c, cols, len(values))


# --- mapping -------------------------------------------------------------------------------------


@kernel
def _walk_rows(rows, row_off, ids, keep, m, mapped):
    """The reference's in-place mapping (scheme README step 1.2) for the given rows.

    Walk positions i = 0..n-1; x = the value now at i; if x maps to another code, overwrite the
    first position holding x with map(x). Codes accepted as is have no map entry (m < 0), so
    the walk leaves them alone. Dropped tokens (keep false) take no part.
    """
    for j in range(rows.shape[0]):
        r = rows[j]
        s = row_off[r]
        e = row_off[r + 1]
        n = 0
        for t in range(s, e):
            if keep[t]:
                n += 1
        pos = np.empty(n, np.int64)
        vals = np.empty(n, np.int64)
        q = 0
        for t in range(s, e):
            if keep[t]:
                pos[q] = t
                vals[q] = ids[t]
                q += 1
        for i in range(n):
            x = vals[i]
            y = m[x] if x >= 0 else -1
            if y >= 0 and y != x:
                for f in range(n):
                    if vals[f] == x:
                        vals[f] = y
                        break
        for i in range(n):
            mapped[pos[i]] = vals[i]


@kernel
def _map_ids(ids, m, chain, mapped, bad, chained):
    """Map every token through the code map in one pass; flag the unmappable and chain starts."""
    n_bad = 0
    n_chain = 0
    for t in range(ids.shape[0]):
        x = ids[t]
        if x < 0 or m[x] < 0:
            mapped[t] = x
            bad[t] = True
            n_bad += 1
        else:
            mapped[t] = m[x]
            if chain[x]:
                chained[t] = True
                n_chain += 1
    return n_bad, n_chain


def _map_tokens(tok: Tokens, kind: str, e: Engine, strict: bool, mapping: bool,
                warns: dict[int, list[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grouper-code ids, row offsets, bool[n] rows with an unmappable token)."""
    n = len(tok.row_off) - 1
    ids = tok.ids
    if not mapping:
        return ids, tok.row_off, np.zeros(n, dtype=bool)
    m = e.c.dx_map if kind == "dx" else e.c.pr_map
    chain = e.c.dx_chain if kind == "dx" else e.c.pr_chain
    mapped = np.empty(len(ids), dtype=np.int32)
    bad_flag = np.zeros(len(ids), dtype=np.bool_)
    chained_flag = np.zeros(len(ids), dtype=np.bool_)
    n_bad, n_chain = _map_ids(ids, m, chain, mapped, bad_flag, chained_flag)
    bad_rows = np.zeros(n, dtype=bool)
    keep = None
    chained = np.flatnonzero(chained_flag) if n_chain else np.zeros(0, np.int64)
    if n_bad:
        bad = np.flatnonzero(bad_flag)
        rows = np.searchsorted(tok.row_off, bad, side="right") - 1
        if strict:
            bad_rows[rows] = True
        else:
            ids = ids.copy()
            keep = np.ones(len(ids), dtype=bool)
            accepted_as_is = np.zeros(len(ids), dtype=bool)
            _repair(tok, kind, e, bad, rows, ids, keep, bad_rows, accepted_as_is, warns)
            fixed = bad[(ids[bad] >= 0) & keep[bad]]
            mapped[fixed] = np.where(accepted_as_is[fixed], ids[fixed], m[ids[fixed]])
            more = fixed[chain[ids[fixed]] & ~accepted_as_is[fixed]]
            if len(more):
                chained = np.union1d(chained, more)
    # rows holding a chain start (a -> b, b -> c) need the reference's in-place walk
    if len(chained):
        rows_c = np.unique(np.searchsorted(tok.row_off, chained, side="right") - 1)
        rows_c = rows_c[~bad_rows[rows_c]].astype(np.int64)
        kept = np.ones(len(ids), dtype=np.bool_) if keep is None else keep
        _walk_rows(rows_c, tok.row_off, ids, kept, m, mapped)
    if keep is None or keep.all():
        return mapped, tok.row_off, bad_rows
    # dropped tokens are few: shift each row offset by the drops before it
    dropped = np.flatnonzero(~keep)
    return mapped[keep], tok.row_off - np.searchsorted(dropped, tok.row_off), bad_rows


def _repair(tok: Tokens, kind: str, e: Engine, bad: np.ndarray, rows: np.ndarray, ids: np.ndarray,
            keep: np.ndarray, bad_rows: np.ndarray, accepted_as_is: np.ndarray,
            warns: dict[int, list[str]]) -> None:
    """Default mode: repair the tokens ``bad`` in place, once per distinct text."""
    m = e.c.dx_map if kind == "dx" else e.c.pr_map
    vocab = e.c.dx_vocab if kind == "dx" else e.c.pr_vocab
    norm = e.dx_norm if kind == "dx" else e.pr_norm
    label = "diagnosis" if kind == "dx" else "procedure"
    texts = tok.rejected_texts()
    if len(texts) != len(bad):  # pragma: no cover - tokenizer and map disagree on rejection
        raise AssertionError("rejected tokens and unmappable tokens differ")
    enc = texts.dictionary_encode()
    inv = enc.indices.to_numpy(zero_copy_only=False)
    uniq = enc.dictionary.to_pylist()
    new_id = np.full(len(uniq), -1, dtype=np.int64)
    empty = np.zeros(len(uniq), dtype=bool)
    msg = np.empty(len(uniq), dtype=object)
    for u, text in enumerate(uniq):
        if text.strip() == "":
            empty[u] = True
            continue
        j, why = norm.fix(text)
        new_id[u] = j
        msg[u] = f"{label} {text!r} -> {vocab[j]!r}: {why}" if j >= 0 else f"{label} {text!r} unknown to the scheme"
    first = (bad - tok.row_off[rows]) == 0
    tok_empty = empty[inv]
    tok_new = new_id[inv]
    fixed = ~tok_empty & (tok_new >= 0)
    ids[bad[fixed]] = tok_new[fixed]
    accepted_as_is[bad[fixed]] = m[tok_new[fixed]] < 0
    keep[bad[tok_empty & ~first]] = False
    bad_rows[rows[(tok_empty & first) | (~tok_empty & (tok_new < 0))]] = True
    tok_msg = msg[inv]
    tok_msg[tok_empty & first] = f"principal {label} missing"
    tok_msg[tok_empty & ~first] = f"empty {label} token dropped"
    for r, text in zip(rows.tolist(), tok_msg.tolist()):
        warns.setdefault(r, []).append(text)


# --- public ----------------------------------------------------------------------------------------


def _as_frame(cases) -> pd.DataFrame:
    if isinstance(cases, (str, Path)):
        from .cases import read_cases

        return read_cases(cases)
    if isinstance(cases, pa.Table):
        from .cases import arrow_to_frame

        return arrow_to_frame(cases, arrow_backed=True)
    if isinstance(cases, pd.DataFrame):
        return cases
    raise TypeError(f"cases must be a DataFrame, a pyarrow Table or a file path, not {type(cases).__name__}")


def encode_cases(df: pd.DataFrame, scheme: Scheme, *, strict: bool = False, mapping: bool = True):
    """Encode cases to the kernel's arrays. Returns (arrays dict, status int8[n], warnings)."""
    for col in ("diagnoses", "sex", "age"):
        if col not in df.columns:
            raise CaseFileError("<cases>", col, None, f"required column missing; have {list(df.columns)}")
    n = len(df)
    read_notes: dict[int, list[str]] = {}
    if "read_warnings" in df.columns:  # cells the reader could not read come first
        rw = df["read_warnings"].astype("string").fillna("")
        for r in np.flatnonzero((rw != "").to_numpy(dtype=bool)):
            read_notes[int(r)] = [str(rw.iloc[r])]
    bad_numbers: dict[int, list[str]] = {}
    nums = np.empty((len(NUM_FIELDS), n), dtype=np.float64)
    for k, f in enumerate(NUM_FIELDS):
        name = f if f in df.columns or f != "birth_weight" else "weight"
        v, bad = numeric_column(df, name)
        nums[k] = v
        if bad.any():
            for r in np.flatnonzero(bad)[:100000]:
                bad_numbers.setdefault(int(r), []).append(
                    f"{f} {df[name].iloc[r]!r} is not a number")
    return encode_inputs(_text_column(df, "diagnoses"), _text_column(df, "procedures"), nums,
                         _dept_ids(df, scheme), scheme, strict=strict, mapping=mapping,
                         bad_numbers=bad_numbers, first_warnings=read_notes)


@kernel
def _input_checks(nums, dx_off, zd, ss, strict, status, impossible):
    """The grouper's input checks (scheme README step 2) per case, into ``status``: ZD / SS
    not mapping (``zd`` / ``ss``) before CHECK_FAILED before -1 (to group). CHECK_FAILED:
    sex not 1 or 2, age missing, age 0 without age_days, a newborn (age 0, age_days <= 28)
    without birth weight, no diagnosis; outside ``strict`` also an impossible age (< 0,
    > 150), age_days (< 0), birth weight (< 0, > 10000 g) or los (< 0), flagged in
    ``impossible`` for the warning when nothing else failed. Returns the count flagged."""
    n_imp = 0
    for i in range(status.shape[0]):
        sex, age, age_days, weight, los = nums[0, i], nums[1, i], nums[2, i], nums[3, i], nums[4, i]
        check = not (sex == 1 or sex == 2) or np.isnan(age)
        check = check or (age == 0 and np.isnan(age_days))
        check = check or (age == 0 and age_days <= 28 and np.isnan(weight))
        check = check or dx_off[i + 1] == dx_off[i]
        imp = False
        if not strict:
            imp = (age < 0 or age > 150 or age_days < 0 or weight < 0 or weight > 10000
                   or los < 0)
        impossible[i] = imp and not check
        if imp and not check:
            n_imp += 1
        check = check or imp
        status[i] = ST_ZD if zd[i] else ST_SS if ss[i] else ST_CHECK if check else -1
    return n_imp


def encode_inputs(diagnoses: pa.Array, procedures: pa.Array, nums: np.ndarray,
                  depts: np.ndarray, scheme: Scheme, *, strict: bool = False,
                  mapping: bool = True, bad_numbers: dict[int, list[str]] | None = None,
                  first_warnings: dict[int, list[str]] | None = None):
    """Encode cases given as columns; the input checks of :func:`group` live here.

    ``diagnoses`` / ``procedures``: Arrow text arrays (or lists of texts, e.g. one case),
    codes ``|``-separated (principal / main first); ``nums``: float64 ``[len(NUM_FIELDS), n]`` (nan = missing); ``depts``:
    :func:`dept_ids`; ``bad_numbers``: row -> messages about unreadable numbers (they follow
    the code warnings of the row); ``first_warnings``: row -> messages that come before all
    others (the reader's). Returns (arrays dict, status int8[n] with -1 = to group,
    warnings row -> messages), as :func:`encode_cases`.
    """
    e = engine_for(scheme)
    warns: dict[int, list[str]] = {r: list(m) for r, m in (first_warnings or {}).items()}
    n = nums.shape[1]
    dx_tok = tokenize(diagnoses, e.dx_vocab, empty_is_none=False,
                      accept=e.dx_ok if mapping else None)
    pr_tok = tokenize(procedures, e.pr_vocab, empty_is_none=True,
                      accept=e.pr_ok if mapping else None)
    dx_ids, dx_off, zd = _map_tokens(dx_tok, "dx", e, strict, mapping, warns)
    pr_ids, pr_off, ss = _map_tokens(pr_tok, "pr", e, strict, mapping, warns)
    for r, msgs in (bad_numbers or {}).items():
        warns.setdefault(r, []).extend(msgs)
    status = np.empty(n, dtype=np.int8)
    impossible = np.empty(n, dtype=np.bool_)
    nums = np.ascontiguousarray(nums, dtype=np.float64)
    if _input_checks(nums, dx_off, zd, ss, strict, status, impossible):
        for r in np.flatnonzero(impossible):
            warns.setdefault(int(r), []).append("impossible age, age_days, birth_weight or los")
    arrays = dict(
        dx_ids=dx_ids, dx_off=dx_off, pr_ids=pr_ids, pr_off=pr_off, nums=nums,
        depts=np.asarray(depts, dtype=np.int32), todo=status < 0,
    )
    return arrays, status, warns


def run_kernel(arrays: dict, scheme: Scheme, threads: int | None = None, *,
               interpreter: bool = False) -> np.ndarray:
    """Result ids (int32, -1 where not grouped) for encoded cases.

    Cases go through the decision cache (:mod:`grouper.decision_cache`, same answers) unless
    ``interpreter`` or ``DRGSIM_DECISION_CACHE=0``. One case runs the interpreter's serial
    range function on this thread, without a parallel launch.
    """
    e = engine_for(scheme)
    n = len(arrays["todo"])
    out = np.empty(n, dtype=np.int32)
    cases = CaseArrays(**arrays)
    if n <= 1:
        _kernels.group_range(0, n, cases, e.arrays, out)
        return out
    nt = numba.get_num_threads() if threads is None else max(1, int(threads))
    prev = numba.get_num_threads()
    numba.set_num_threads(min(nt, numba.config.NUMBA_NUM_THREADS))
    try:
        n_chunks = max(1, min(n, 64 * numba.get_num_threads())) if n else 1
        if interpreter or not decision_cache.ENABLED:
            _kernels.group_cases(cases, e.arrays, out, n_chunks)
        else:
            decision_cache.cache_for(e.c).group(cases, e.arrays, out, n_chunks)
    finally:
        numba.set_num_threads(prev)
    return out


def group(cases, scheme: Scheme, *, strict: bool = False, mapping: bool = True,
          keep_columns: bool = False, threads: int | None = None) -> pd.DataFrame:
    """Group cases into MDC / ADRG / DRG.

    ``cases``: a DataFrame (canonical columns, see :mod:`grouper.schema`), a pyarrow Table or
    a file path. Returns one row per input row, in input order: ``case_id, status, mdc, adrg,
    drg, warnings`` (with ``keep_columns=True`` the input columns come first).
    """
    df = _as_frame(cases)
    arrays, status, warns = encode_cases(df, scheme, strict=strict, mapping=mapping)
    res = run_kernel(arrays, scheme, threads)
    return decode(df, scheme, res, status, warns, keep_columns)


def result_ids(scheme: Scheme, res: np.ndarray, status: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(status code int8 into :data:`STATUSES`, row of ``engine_for(scheme).res_mdc`` /
    ``res_adrg`` / ``res_drg``) of each case from :func:`run_kernel` result ids and the
    pre-kernel statuses of :func:`encode_inputs`."""
    e = engine_for(scheme)
    n = len(res)
    st = np.empty(n, dtype=np.int8)
    ridx = np.empty(n, dtype=np.int64)
    _result_rows(res, status, e.res_status, e.not_grouped_id, st, ridx)
    return st, ridx


@kernel
def _result_rows(res, status, res_status, not_grouped, st, ridx):
    """:func:`result_ids` per case: a grouped case's result row and its status; a case that
    never reached grouping takes the scheme's not-grouped codes (``result_codes``) and keeps
    its pre-kernel status."""
    for i in range(res.shape[0]):
        if res[i] >= 0:
            ridx[i] = res[i]
            st[i] = res_status[res[i]]
        else:
            ridx[i] = not_grouped
            st[i] = status[i]


def decode(df: pd.DataFrame, scheme: Scheme, res: np.ndarray, status: np.ndarray,
           warns: dict[int, list[str]], keep_columns: bool = False) -> pd.DataFrame:
    """Turn kernel result ids and pre-kernel statuses into the output table."""
    e = engine_for(scheme)
    n = len(res)
    st, ridx = result_ids(scheme, res, status)
    take = pa.array(ridx)

    def col(values: np.ndarray) -> pd.Series:
        return pc.take(pa.array(values.tolist(), pa.string()), take).to_pandas()

    if warns:
        rows = np.fromiter(warns.keys(), dtype=np.int64, count=len(warns))
        widx = np.zeros(n, dtype=np.int64)
        widx[rows] = np.arange(1, len(rows) + 1)
        texts = [""] + ["; ".join(msgs) for msgs in warns.values()]
        w = pc.take(pa.array(texts, pa.string()), pa.array(widx)).to_pandas()
    else:
        w = pd.Series(np.full(n, "", dtype=object), dtype="str")
    case_id = df["case_id"].to_numpy() if "case_id" in df.columns else np.arange(n).astype(str)
    out = pd.DataFrame({
        "case_id": case_id,
        "status": pd.Categorical.from_codes(st, categories=list(STATUSES)),
        "mdc": col(e.res_mdc),
        "adrg": col(e.res_adrg),
        "drg": col(e.res_drg),
        "warnings": w,
    })
    if "read_status" in df.columns and not keep_columns:  # the reader's row status rides along
        out.insert(2, "read_status", df["read_status"].to_numpy())
    if keep_columns:
        out.index = df.index
    if keep_columns:
        rest = out.drop(columns=["case_id"])
        base = df.drop(columns=[c for c in rest.columns if c in df.columns])
        return pd.concat([base, rest], axis=1)
    return out
