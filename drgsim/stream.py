"""Streaming: case files larger than memory, processed in fixed-size chunks (scheduling only).

The pieces: :mod:`drgsim.sources` reads a Parquet file or dataset, CSV or workbook in chunks of
exactly ``chunk_rows`` rows and makes them canonical; :mod:`drgsim.writer` appends result chunks
to Parquet, CSV or Arrow scratch files; :mod:`drgsim.chunks` runs read → compute → write in
three threads with bounded memory. This module strings them into the file-level operations
(group, price, DIP group, weights, settlement aggregates).

Every row is processed exactly once and written in input order, and the functions applied are
row-wise, so the output is the same whatever ``chunk_rows`` and ``threads`` are. Rules that look
across cases (readmission, a budget point value, the special-review quota) live in
:mod:`payment.readmission`, :mod:`payment.budget` and :mod:`payment.review_selection`; here they
are extra passes that collect their facts per chunk, decide once, and apply per chunk.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from grouper import schema as _schema
from payment import columns as _columns
from payment.readmission import CrossCaseLedger, check_row_wise, needs_first_pass
from payment.review_selection import ReviewLedger, apply_selection

from . import outputs
from .chunks import StreamStats, make_progress, peak_rss_mb, run_chunks
from .sources import (
    CSV_SUFFIXES,
    DEFAULT_CHUNK_ROWS,
    PARQUET_SUFFIXES,
    CaseSource,
    ScratchSource,
    canonical_chunk,
    header_names,
    iter_cases,
    parquet_files,
    relabelled,
)
from .writer import ChunkWriter

#: Canonical columns :func:`grouper.group` and :func:`payment.price` read (declared in
#: grouper/schema.py and payment/columns.py; tests compare against unpruned runs).
GROUP_INPUT_COLUMNS = _schema.GROUP_INPUT_COLUMNS
PRICE_INPUT_COLUMNS = _columns.PRICE_INPUT_COLUMNS

# --- grouping --------------------------------------------------------------------------------------


def _scheme(scheme):
    from grouper import Scheme, load_scheme

    return scheme if isinstance(scheme, Scheme) else load_scheme(scheme)


def group_file(input: str | Path, output: str | Path | None, scheme, *, strict: bool = False,
               mapping: bool = True, keep_columns: bool = False,
               chunk_rows: int = DEFAULT_CHUNK_ROWS, threads: int | None = None,
               progress: bool | str = False,
               on_chunk: Callable[[pd.DataFrame], None] | None = None) -> StreamStats:
    """Group a case file or Parquet dataset chunk by chunk into ``output``.

    ``scheme``: a loaded :class:`grouper.Scheme` or its folder. The output holds what
    :func:`grouper.group` returns for the whole input (one row per case, input order), written
    as Parquet (``.parquet``), CSV (``.csv``) or a directory of Parquet parts. ``threads``:
    numba threads for the kernel (None = all cores). Without ``keep_columns`` only the columns
    the grouper reads are loaded.
    """
    from grouper import group

    s = _scheme(scheme)
    source = CaseSource(input, chunk_rows=chunk_rows,
                        columns=None if keep_columns else GROUP_INPUT_COLUMNS)

    def fn(df: pd.DataFrame) -> pd.DataFrame:
        return group(df, s, strict=strict, mapping=mapping, keep_columns=keep_columns, threads=threads)

    return run_chunks(source, fn, output, progress="grouping" if progress is True else progress,
                      on_chunk=on_chunk)


# --- pricing ---------------------------------------------------------------------------------------



def group_price_file(input: str | Path, output: str | Path, scheme, weights, policy, *,
                     strict: bool = False, mapping: bool = True, special_review: bool = True,
                     grouped: bool = False, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                     threads: int | None = None, progress: bool | str = False,
                     workdir: str | Path | None = None,
                     finish: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> StreamStats:
    """Group (unless ``grouped``) and price a case file chunk by chunk into ``output``.

    The output equals :func:`payment.price` on the whole input ("Priced cases" contract).
    ``weights``: a :class:`payment.Weights` or its directory; ``policy``: a Policy, preset name
    or TOML path. Steps that look across cases are done exactly in extra passes, with scratch
    files in ``workdir`` (default: beside ``output``):

    * the readmission rule and a budget point value (:func:`needs_first_pass`): a first pass
      groups each chunk, writes it to scratch (a grouped input is simply read again), prices it
      without readmission penalties and keeps compact facts (:class:`CrossCaseLedger`); the
      penalised stays and Σ points are then decided, and the pricing pass applies them;
    * special review, whose quota spans all cases of a hospital and period: the pricing pass
      writes priced chunks to scratch and keeps only positive candidates and quota bases
      (:class:`ReviewLedger`); a last pass applies the choice.

    ``grouped=True`` reads the group column from the input instead of grouping. ``finish``:
    applied to every final priced chunk just before it is written (same rows; e.g. the
    command line's final amount and headers, :mod:`drgsim.priced_output`).
    """
    import tempfile

    from grouper import group
    from payment import Weights, load_policy, load_weights, price

    pol = policy if not isinstance(policy, (str, Path)) else load_policy(policy)
    w = weights if isinstance(weights, Weights) else load_weights(weights)
    s = None if grouped else _scheme(scheme)
    do_sr = special_review and pol.special_review.enabled
    first = needs_first_pass(pol)
    need = {*PRICE_INPUT_COLUMNS, pol.group_col, *([] if grouped else GROUP_INPUT_COLUMNS)}
    source = CaseSource(input, chunk_rows=chunk_rows, columns=sorted(need))
    # a grouped table drgsim wrote with Chinese headers: its columns are read by their names
    rename = header_names() if grouped and relabelled(
        source.schema.names if source.kind == "parquet" else source.header) else None
    label = ("pricing" if grouped else "grouping + pricing") if progress is True else progress

    def grouped_chunk(df: pd.DataFrame) -> pd.DataFrame:
        if rename is not None:
            df = df.rename(columns=lambda c: rename.get(str(c).strip().lstrip("\ufeff"), c))
        g = df if grouped else group(df, s, strict=strict, mapping=mapping, keep_columns=True,
                                     threads=threads)
        if not grouped and pol.group_col != "drg" and pol.group_col not in g.columns:
            raise KeyError(f"policy prices column {pol.group_col!r}; DRG grouping gives 'drg'")
        return g

    def pricer(cross: CrossCaseLedger | None, ledger: ReviewLedger | None):
        pos = {"offset": 0}

        def fn(g: pd.DataFrame) -> pd.DataFrame:
            off = pos["offset"]
            kw = {}
            if cross is not None:
                kw = {"readmit_flags": cross.flags(off, len(g)),
                      "points_total": cross.points_total}
            out = price(g, w, pol, special_review=special_review, **kw)
            out.attrs = {}
            if ledger is not None:
                ledger.add(out, g, off)
            pos["offset"] += len(out)
            return out if ledger is not None or finish is None else finish(out)
        return fn

    if not (do_sr or first):
        price_fn = pricer(None, None)
        return run_chunks(source, lambda df: price_fn(grouped_chunk(df)), output,
                          progress=label, canonical=not grouped)
    out_path = Path(output)
    outputs.make_parent(out_path)  # a path that cannot be written fails before any work
    tmp_dir = Path(workdir) if workdir is not None else out_path.resolve().parent
    tmp_dir.mkdir(parents=True, exist_ok=True)
    outputs.sweep_scratch(tmp_dir, "price")  # left by a killed run (SIGKILL cannot be caught)
    t0, c0 = time.perf_counter(), os.times()
    total: StreamStats | None = None
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix=outputs.scratch_prefix("price")) as tmp:
        cross = None
        src2, canonical2, regroup = source, not grouped, True
        if first:
            # pass 1: group (kept as scratch), price without penalties, collect the facts
            cross = CrossCaseLedger(w, pol, spill_dir=tmp)
            pos = {"offset": 0}
            keep = {*PRICE_INPUT_COLUMNS, pol.group_col}

            def facts(df: pd.DataFrame) -> pd.DataFrame:
                g = grouped_chunk(df)
                pre = price(g, w, pol, special_review=False,
                            readmit_flags=np.zeros(len(g), bool), points_total=np.nan)
                cross.add(pre, g, pos["offset"])
                pos["offset"] += len(g)
                # the scratch keeps only what pricing reads (no diagnosis / procedure text)
                return g[[c for c in g.columns if c in keep]]

            scratch = None if grouped else Path(tmp) / "grouped.arrow"
            st = run_chunks(source, facts, scratch,
                            progress=f"{label} (pass 1 of 2)" if label else False,
                            canonical=not grouped)
            total = st
            cross.decide()
            if grouped:  # read the input again
                src2 = CaseSource(input, chunk_rows=chunk_rows, columns=sorted(need))
            else:
                src2, canonical2, regroup = ScratchSource(scratch), False, False
        ledger = ReviewLedger(spill_dir=tmp) if do_sr else None
        priced_path = Path(tmp) / "priced.arrow" if do_sr else out_path
        price_fn = pricer(cross, ledger)

        def step(df: pd.DataFrame) -> pd.DataFrame:
            return price_fn(grouped_chunk(df) if regroup else df)

        st = run_chunks(src2, step, priced_path, canonical=canonical2,
                        progress=(f"{label} (pass 2 of 2)" if first else label) if label else False)
        total = st if total is None else total + st
        if do_sr:
            sel = ledger.select(pol)
            done = {"n": 0}

            def patch(part: pd.DataFrame) -> pd.DataFrame:
                res = apply_selection(part, sel, done["n"])
                done["n"] += len(part)
                return res if finish is None else finish(res)

            st = run_chunks(ScratchSource(priced_path), patch, out_path, canonical=False,
                            progress=f"{label} (special review)" if label else False)
            total = total + st  # the same rows again
    # the whole run's wall and CPU time, with the decisions between the passes
    c1 = os.times()
    total.seconds = time.perf_counter() - t0
    total.cpu_seconds = c1.user + c1.system - c0.user - c0.system
    return total


# --- DIP -------------------------------------------------------------------------------------------


def dip_group_file(input: str | Path, output: str | Path | None, catalogue, scheme=None, *,
                   strict: bool = False, keep_columns: bool = False,
                   chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: bool | str = False,
                   on_chunk: Callable[[pd.DataFrame], None] | None = None) -> StreamStats:
    """:func:`grouper.dip.group` chunk by chunk (the catalogue is compiled once).

    ``catalogue``: a :class:`grouper.dip.Catalogue` or its folder; ``scheme`` as for
    :func:`grouper.dip.group`. Output columns are ``grouper.dip.OUTPUT_COLUMNS`` (the input
    columns first with ``keep_columns``).
    """
    from grouper.dip import Catalogue, compile_catalogue, load_catalogue
    from grouper.dip.group import group_frame, with_inputs

    cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    cc = compile_catalogue(cat, scheme)

    def fn(df: pd.DataFrame) -> pd.DataFrame:
        out = group_frame(df, cc, strict)
        return with_inputs(df, out) if keep_columns else out

    return run_chunks(CaseSource(input, chunk_rows=chunk_rows), fn, output,
                      progress="DIP grouping" if progress is True else progress, on_chunk=on_chunk)


# --- weights ---------------------------------------------------------------------------------------


def _compact_history(df: pd.DataFrame, gcol: str) -> pd.DataFrame:
    """The columns weight fitting reads, in small exact types (about 25 bytes a case)."""
    out = {}
    for c in (gcol, "hospital_id", "status"):
        if c in df.columns:
            out[c] = df[c].astype("str").astype("category")
    for c, t in (("hospital_level", np.float32), ("los", np.float32), ("year", np.float32),
                 ("total_cost", np.float64)):  # float32 holds these whole numbers exactly
        if c in df.columns:
            v = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
            if t is np.float32 and np.any(np.isfinite(v) & (v.astype(np.float32) != v)):
                t = np.float64  # a fractional LOS or a huge year: keep full precision
            out[c] = v.astype(t)
    return pd.DataFrame(out)


def weights_file(history: str | Path, policy, scheme=None, *, strict: bool = False,
                 mapping: bool = True, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                 threads: int | None = None, progress: bool | str = False):
    """:func:`payment.compute_weights` over a history file or dataset read in chunks.

    Chunks are grouped first when the history lacks the policy's group column (``scheme``
    needed, DRG only) and cut down to the seven columns the fit reads, in compact types, so
    memory is about 25 bytes a case (30 M cases: under 1 GB) instead of the whole table. The
    fit itself runs once on that table: trimmed means and quantiles per group do not decompose
    into per-chunk sums. Returns the same :class:`payment.Weights` as the in-memory call.
    """
    from pandas.api.types import union_categoricals

    from grouper import group
    from payment import compute_weights, load_policy

    pol = policy if not isinstance(policy, (str, Path)) else load_policy(policy)
    gcol = pol.group_col
    probe = CaseSource(history, chunk_rows=1)
    names = probe.schema.names if probe.kind == "parquet" else (
        probe.header if probe.kind == "csv" else [])
    grouped = gcol in names
    if not grouped and (scheme is None or gcol != "drg"):
        raise ValueError(f"{history}: no {gcol!r} column; group it first"
                         + (" (pass scheme= to group DRG histories on the way)" if gcol == "drg" else ""))
    s = None if grouped else _scheme(scheme)
    keep = [gcol, "hospital_id", "hospital_level", "total_cost", "los", "year", "status"]
    source = CaseSource(history, chunk_rows=chunk_rows,
                        columns=keep + ([] if grouped else list(GROUP_INPUT_COLUMNS)))
    parts: list[pd.DataFrame] = []

    def fn(df: pd.DataFrame) -> pd.DataFrame:
        g = df if grouped else group(df, s, strict=strict, mapping=mapping, keep_columns=True,
                                     threads=threads)
        return _compact_history(g, gcol)

    run_chunks(source, fn, None, on_chunk=parts.append, canonical=not grouped,
               progress="weights: reading" if progress is True else progress)
    if not parts:
        return compute_weights(pd.DataFrame({c: [] for c in keep}), pol)
    cols = {}
    for c in parts[0].columns:
        if isinstance(parts[0][c].dtype, pd.CategoricalDtype):
            cols[c] = pd.Series(union_categoricals([p[c] for p in parts]))
        else:
            cols[c] = np.concatenate([p[c].to_numpy() for p in parts])
        for p in parts:  # free each chunk's column as soon as it is merged
            del p[c]
    parts.clear()
    return compute_weights(pd.DataFrame(cols), pol)


# --- settlement ------------------------------------------------------------------------------------


def settlement_inputs_file(priced: str | Path, policy, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                           progress: bool | str = False):
    """:func:`payment.settlement.prepare` over a priced file read in chunks, merged once.

    Returns the per-hospital aggregates settlement runs on (memory: one chunk plus a few floats
    per hospital × month); sums equal the whole-table ones up to summation order, see
    :mod:`drgsim.aggregate`.
    """
    from payment import load_policy
    from payment.settlement import prepare

    from .aggregate import merge_settlement_inputs

    pol = policy if not isinstance(policy, (str, Path)) else load_policy(policy)
    parts = []
    run_chunks(CaseSource(priced, chunk_rows=chunk_rows), lambda df: df, None,
               on_chunk=lambda df: parts.append(prepare(df, pol)), canonical=False,
               progress="settlement: aggregating" if progress is True else progress)
    return merge_settlement_inputs(parts, pol)


__all__ = [
    "CSV_SUFFIXES", "DEFAULT_CHUNK_ROWS", "GROUP_INPUT_COLUMNS", "PARQUET_SUFFIXES",
    "PRICE_INPUT_COLUMNS", "CaseSource",
    "ChunkWriter", "CrossCaseLedger", "ReviewLedger", "StreamStats", "apply_selection",
    "canonical_chunk", "check_row_wise", "dip_group_file", "needs_first_pass",
    "group_file", "group_price_file", "iter_cases", "make_progress", "parquet_files",
    "peak_rss_mb", "run_chunks", "settlement_inputs_file", "weights_file",
]
