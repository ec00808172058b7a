"""Dask engine (optional extra ``dask``): grouping and pricing over ``dask.dataframe`` partitions.

Every function takes and returns a ``dask.dataframe.DataFrame``; nothing is computed until the
caller asks. Each partition is processed by the same pure table function as the pandas path
(:func:`grouper.group`, :func:`payment.price`), so the concatenated partitions equal the pandas
result exactly. Partition indexes are kept, so results align with their input.

Large read-only objects (the loaded scheme, weights, policy) go to each worker **once**: with a
``distributed`` client they are scattered with ``broadcast=True`` (cached per client and content,
so repeated calls reuse the same data), and the tasks depend on that one key; on the local
schedulers they are a single graph key. Inside a worker the compiled engine is cached by the
scheme's content hash (:func:`grouper.engine.engine_for`), so it is built once per process.

Point at a cluster of many machines with ``distributed.Client("tcp://scheduler:8786")`` before
calling these functions; see ``docs/scale.md``.
"""

from __future__ import annotations

import hashlib
import itertools
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from grouper.cases import canonicalise
from payment.readmission import CrossCaseLedger, check_row_wise, flags_of, needs_first_pass
from payment.review_selection import ReviewLedger, apply_selection, review_facts

from .sources import CSV_SUFFIXES, parquet_files, sniff_encoding

#: (client id, content key) -> scattered future; one copy per worker per client
_SCATTERED: dict[tuple[str, str], Any] = {}


def _client():
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def _content_key(obj: Any) -> str:
    h = getattr(obj, "content_hash", None)
    if isinstance(h, str):
        return h
    return hashlib.sha256(pickle.dumps(obj, protocol=5)).hexdigest()


def shared(obj: Any):
    """``obj`` as one graph dependency that reaches each worker once (a Delayed)."""
    client = _client()
    if client is None:
        return dask.delayed(obj, pure=True, traverse=False)
    key = (client.id, _content_key(obj))
    fut = _SCATTERED.get(key)
    if fut is None or fut.status != "finished":
        fut = client.scatter(obj, broadcast=True, hash=False)
        _SCATTERED[key] = fut
    return dask.delayed(fut)


# --- reading ---------------------------------------------------------------------------------------


def _canonical_part(part: pd.DataFrame, source: str) -> pd.DataFrame:
    out = canonicalise(part, source)
    out.index = part.index
    return out


def read_cases(path: str | Path, *, blocksize: str | int | None = "64MB",
               columns: Iterable[str] | None = None) -> dd.DataFrame:
    """Cases as canonical dask partitions: a Parquet file, a directory of them, or a CSV.

    Parquet files are read in natural name order (as :mod:`drgsim.sources` does); CSV columns
    are read as text (so codes keep their leading zeros) and typed per partition by
    :func:`grouper.cases.canonicalise`.
    """
    p = Path(path)
    if p.suffix.lower() in CSV_SUFFIXES:
        enc = sniff_encoding(p)
        raw = dd.read_csv(str(p), dtype=str, blocksize=blocksize, encoding=enc,
                          usecols=list(columns) if columns else None)
    else:
        files = [str(f) for f in parquet_files(p)]
        raw = dd.read_parquet(files, columns=list(columns) if columns else None)
    meta = _canonical_part(raw._meta, str(p))
    return raw.map_partitions(_canonical_part, str(p), meta=meta)


# --- grouping --------------------------------------------------------------------------------------


def _group_part(part: pd.DataFrame, scheme, strict: bool, mapping: bool, keep_columns: bool,
                threads: int) -> pd.DataFrame:
    from grouper import group

    out = group(part, scheme, strict=strict, mapping=mapping, keep_columns=keep_columns,
                threads=threads)
    out.index = part.index
    return out


def group(cases: dd.DataFrame, scheme, *, strict: bool = False, mapping: bool = True,
          keep_columns: bool = False, threads: int = 1) -> dd.DataFrame:
    """:func:`grouper.group` over every partition; same columns, rows and order.

    ``scheme``: a loaded :class:`grouper.Scheme` or its folder (loaded here, on the client).
    ``threads``: numba threads per task (1 suits one Dask thread per core).
    """
    from grouper import Scheme, load_scheme

    s = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    meta = _group_part(cases._meta, s, strict, mapping, keep_columns, 1)
    return cases.map_partitions(_group_part, shared(s), strict, mapping, keep_columns, threads,
                                meta=meta)


# --- pricing ---------------------------------------------------------------------------------------


def _price_part(part: pd.DataFrame, bundle: tuple, special_review: bool,
                cross: tuple | None = None, offsets: list[int] | None = None,
                partition_info: dict | None = None) -> pd.DataFrame:
    from payment import price as price_cases

    weights, policy = bundle
    kw = {}
    if cross is not None:  # (penalised rows or None, Σ points or None) of the whole table
        rows, total = cross
        flags = None
        if rows is not None:
            flags = np.zeros(len(part), bool)
            if partition_info is not None:
                flags = flags_of(rows, offsets[partition_info["number"]], len(part))
        kw = {"readmit_flags": flags, "points_total": total}
    out = price_cases(part, weights, policy, special_review=special_review, **kw)
    out.index = part.index
    out.attrs = {}
    return out


def price_rows(grouped: dd.DataFrame, weights, policy) -> dd.DataFrame:
    """:func:`payment.price` per partition with the row-wise steps only (no special review).

    Raises when the policy needs steps that look across cases (readmission, a budget point
    value); :func:`price` does those exactly.
    """
    check_row_wise(policy, special_review=False)
    meta = _price_part(grouped._meta, (weights, policy), False)
    return grouped.map_partitions(_price_part, shared((weights, policy)), False, meta=meta)


def _cross_part(part: pd.DataFrame, bundle: tuple, offset: int):
    """One partition's :class:`payment.readmission.CrossCaseLedger` facts (priced unpenalised)."""
    from payment import price as price_cases

    weights, policy = bundle
    pre = price_cases(part, weights, policy, special_review=False,
                      readmit_flags=np.zeros(len(part), bool), points_total=np.nan)
    return CrossCaseLedger(weights, policy).collect(pre, part, offset)


def _apply_part(priced: pd.DataFrame, sel: pd.DataFrame, offsets: list[int],
                partition_info: dict | None = None) -> pd.DataFrame:
    if partition_info is None:  # dask's meta call
        return priced
    return apply_selection(priced, sel, offsets[partition_info["number"]])


def price(grouped: dd.DataFrame, weights, policy, *, special_review: bool = True,
          batch: int = 16) -> dd.DataFrame:
    """:func:`payment.price` on a dask table of grouped cases (with their case columns).

    Equals the pandas call on the whole table. Steps that look across partitions run as
    passes computed here (collect per partition, decide on the client, apply per partition),
    and the returned lazy frame prices once more with their results:

    * the readmission rule and a budget point value: each partition is priced without
      penalties to get the compact per-stay facts of :class:`payment.readmission.CrossCaseLedger`
      (``batch`` partitions at a time, spilled by patient to a temporary folder on the client);
      the client decides the penalised rows per patient bucket, and Σ points exactly;
    * special review's quota (:mod:`payment.review_selection`): the positive candidates and per
      hospital × period counts of each partition; the choice is made on the client and applied
      per partition.

    ``persist()`` ``grouped`` first on a cluster to avoid grouping more than once.
    """
    import tempfile

    bundle = shared((weights, policy))
    lengths = offsets = None
    cross = None
    if needs_first_pass(policy) or (special_review and policy.special_review.enabled):
        lengths = grouped.map_partitions(len).compute().tolist()
        offsets = [0, *list(itertools.accumulate(lengths))][:-1]
    if needs_first_pass(policy):
        parts = grouped.to_delayed()
        with tempfile.TemporaryDirectory(prefix="drgsim-dask-") as tmp:
            led = CrossCaseLedger(weights, policy, spill_dir=tmp)
            for i in range(0, len(parts), max(1, batch)):
                got = dask.compute(*[dask.delayed(_cross_part)(p, bundle, o) for p, o in
                                     zip(parts[i:i + batch], offsets[i:i + batch])])
                for facts in got:  # in partition order
                    led.merge(facts)
            led.decide()
        cross = (led.flag_rows if led.readmit else None, led.points_total)
    meta = _price_part(grouped._meta, (weights, policy), special_review, cross, offsets)
    priced = grouped.map_partitions(_price_part, bundle, special_review,
                                    None if cross is None else shared(cross), offsets, meta=meta)
    if not (special_review and policy.special_review.enabled):
        return priced
    facts = dask.compute(*[dask.delayed(review_facts)(p, c, o) for p, c, o in
                           zip(priced.to_delayed(), grouped.to_delayed(), offsets)])
    ledger = ReviewLedger()
    for cands, bases in facts:
        ledger.add_facts(cands, bases)
    sel = ledger.select(policy)
    return priced.map_partitions(_apply_part, shared(sel), offsets, meta=meta)


# --- aggregation -----------------------------------------------------------------------------------


def group_counts(grouped: dd.DataFrame, by: Iterable[str] = ("drg",)) -> pd.DataFrame:
    """Cases per group (and per any other columns), summed over all partitions (computed)."""
    by = list(by)
    return (grouped.groupby(by, observed=True, dropna=False).size().compute()
            .rename("cases").reset_index().sort_values(by, kind="stable").reset_index(drop=True))


def hospital_month_sums(priced: dd.DataFrame, values: Iterable[str] = ("total_cost", "points", "payment"),
                        ) -> pd.DataFrame:
    """Per hospital × month sums of priced cases (computed): the table settlement starts from.

    Sums run per partition, then once over partitions, so only the small aggregate comes back.
    """
    cols = list(values)
    agg = priced.groupby(["hospital_id", "month"], observed=True, dropna=False)[cols].sum()
    n = priced.groupby(["hospital_id", "month"], observed=True, dropna=False).size().rename("cases")
    out = dd.concat([agg, n.to_frame()], axis=1).compute()
    return out.reset_index().sort_values(["hospital_id", "month"], kind="stable").reset_index(drop=True)


def _prepare_part(part: pd.DataFrame, policy):
    from payment.settlement import prepare

    return prepare(part, policy)


def settlement_inputs(priced: dd.DataFrame, policy):
    """Settlement aggregates of a dask priced table: ``prepare`` per partition on the workers,
    merged once on the client (:func:`drgsim.aggregate.merge_settlement_inputs`)."""
    from .aggregate import merge_settlement_inputs

    pol = shared(policy)
    parts = dask.compute(*[dask.delayed(_prepare_part)(d, pol) for d in priced.to_delayed()])
    return merge_settlement_inputs(parts, policy)


def compute_weights(history: dd.DataFrame, policy):
    """:func:`payment.compute_weights` over a dask history.

    Weight fitting needs trimmed means and quantiles per group, which do not decompose into
    partition sums, so the columns it reads (group, hospital, level, cost, LOS, year, status:
    about 60 bytes a case) are computed into one pandas table and fitted there.
    """
    from payment import compute_weights as fit

    need = [c for c in (policy.group_col, "hospital_id", "hospital_level", "total_cost", "los",
                        "year", "status") if c in history.columns]
    return fit(history[need].compute().reset_index(drop=True), policy)


__all__ = ["compute_weights", "group", "group_counts", "hospital_month_sums", "price", "price_rows",
           "read_cases", "settlement_inputs", "shared"]
