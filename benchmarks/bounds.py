"""What bounds each throughput target on this machine, measured in one run (issue 17).

    python benchmarks/bounds.py                    # 500,000 cases (DRGSIM_BENCH_N), 3 rounds
    python benchmarks/bounds.py --cases 1000000 --json bounds.json

Cases: the CHS-DRG 1.1 conformance corpus replicated to N rows (as ``bench_stages.py``), written
once as Parquet and as CSV in a temporary folder. Each stage is timed best of ``--rounds`` on one
thread and printed as ns per case with the ceiling it implies (cases/s if that stage were the
only work), next to the target it bounds:

* **memory**: a numpy copy of a 512 MB array (GB/s, read + write counted), and the time to move
  the in-memory input columns once at that speed (the floor of any pass over the cases);
* **reading**: Parquet → Arrow, CSV → Arrow (text columns, as the streaming reader reads them),
  and Arrow text columns → canonical DataFrame (``drgsim.sources.canonical_chunk``);
* **grouping**: text columns → Arrow, tokenise + encode (``encode_cases``), the kernel alone,
  decode, ``grouper.group`` end to end; the naive per-case reference (``tests/naive.py``) in
  the same run, with the × naive ratios;
* **streaming** (group + price, one thread per stage): read, canonical, group, price and Parquet
  write of one chunk of typed columns (as ``bench_scale.py`` writes its year); the two-core ceiling is 2 / (the sum of their CPU per case), i.e. both
  cores busy all the time with no overhead;
* **service batch**: a 10,000-case JSON body through ``routers.preview._batch``'s steps: parse
  (and ``orjson.loads`` alone, the floor of any JSON parse), group, price, answer columns,
  serialise (rows and ``?format=columns``).

The 1-minute load average is printed before and after: on a shared machine compare the ratios
and the ns/case of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from bench_stages import _best  # noqa: E402  (best wall time of some rounds)

#: issue 17's targets, cases/s
TARGETS = {"end to end, 1 thread": 1_500_000, "kernel, 1 thread": 20_000_000,
           "streamed group + price, 2 cores": 2_000_000, "service batch": 200_000}


def memory_bandwidth(mb: int = 512, rounds: int = 5) -> float:
    """GB/s of ``np.copyto`` between two ``mb`` MB arrays, bytes read plus bytes written."""
    src = np.ones(mb << 17, np.float64)  # mb MB of float64
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in
    s = _best(lambda: np.copyto(dst, src), rounds)
    return 2 * src.nbytes / s / 1e9


def _cases(n: int) -> tuple[pd.DataFrame, pd.DataFrame, object, Path]:
    from shared_data import read_corpus, shared_dir

    import grouper

    sh = shared_dir()
    if sh is None:
        raise SystemExit("needs ../shared (or $DRGSIM_SHARED) with the CHS-DRG 1.1 corpus")
    base_dir = sh / "schemes" / "chs-drg-1.1"
    base = read_corpus(base_dir / "conformance" / "cases.csv")
    big = pd.concat([base] * (-(-n // len(base))), ignore_index=True).iloc[:n].reset_index(drop=True)
    big["case_id"] = np.arange(n).astype(str)
    return base, big, grouper.load_scheme(base_dir), base_dir


def _row(stage: str, seconds: float, n: int, target: str | None = None, note: str = "") -> dict:
    ns = seconds / n * 1e9
    return {"stage": stage, "ns_per_case": round(ns, 1), "ceiling_cases_per_s": round(1e9 / ns),
            "target": target, "target_cases_per_s": TARGETS.get(target) if target else None,
            "note": note}


def grouping_bounds(base, big, scheme, rounds: int, naive_n: int, bandwidth: float) -> tuple[list, dict]:
    """Memory, reading and grouping stages, and the naive reference, per case."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    import grouper
    from drgsim.sources import canonical_chunk
    from grouper import engine as E

    n = len(big)
    grouper.group(base.iloc[:2000], scheme, threads=1)  # compile outside the timings
    rows: list[dict] = []
    dx, pr = E._text_column(big, "diagnoses"), E._text_column(big, "procedures")
    text_bytes = dx.nbytes + pr.nbytes
    num_bytes = 8 * 6  # the six numeric case columns as float64
    # every input byte moved once at the copy's rate (bytes read + written per second)
    pass_s = (text_bytes + num_bytes * n) / (bandwidth * 1e9)
    rows.append(_row("memory: move the input columns once", pass_s, n, "end to end, 1 thread",
                     f"{(text_bytes / n + num_bytes):.0f} B/case at {bandwidth:.1f} GB/s"))
    table = pa.Table.from_pandas(big, preserve_index=False)
    with tempfile.TemporaryDirectory(prefix="drgsim-bounds-") as tmp:
        pq_path, csv_path = Path(tmp) / "cases.parquet", Path(tmp) / "cases.csv"
        pq.write_table(table, pq_path, row_group_size=256_000)
        big.to_csv(csv_path, index=False)
        header = list(big.columns)
        opts = pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                    strings_can_be_null=True)
        pa.set_cpu_count(1)  # one thread, as the stage would get on a busy core
        rows.append(_row("read: Parquet -> Arrow", _best(lambda: pq.read_table(pq_path, use_threads=False), rounds), n,
                         "streamed group + price, 2 cores", f"{pq_path.stat().st_size / n:.0f} B/case on disk"))
        rows.append(_row("read: CSV -> Arrow (text)", _best(lambda: pacsv.read_csv(
            csv_path, read_options=pacsv.ReadOptions(use_threads=False), convert_options=opts), rounds), n,
            None, f"{csv_path.stat().st_size / n:.0f} B/case on disk"))
        pa.set_cpu_count(os.cpu_count() or 1)
    rows.append(_row("read: Arrow text -> canonical DataFrame", _best(lambda: canonical_chunk(table), rounds), n,
                     None, "every column as text, as from CSV"))
    arrays, status, warns = E.encode_cases(big, scheme)
    res = E.run_kernel(arrays, scheme, threads=1)
    rows.append(_row("group: text columns -> Arrow", _best(
        lambda: (E._text_column(big, "diagnoses"), E._text_column(big, "procedures")), rounds), n))
    rows.append(_row("group: tokenise + encode (encode_cases)", _best(
        lambda: E.encode_cases(big, scheme), rounds), n, "end to end, 1 thread"))
    rows.append(_row("group: kernel alone", _best(
        lambda: E.run_kernel(arrays, scheme, threads=1), rounds), n, "kernel, 1 thread"))
    rows.append(_row("group: decode", _best(lambda: E.decode(big, scheme, res, status, warns), rounds), n))
    e2e = _best(lambda: grouper.group(big, scheme, threads=1), rounds)
    rows.append(_row("group() end to end", e2e, n, "end to end, 1 thread"))

    from naive import NaiveGrouper

    ng = NaiveGrouper(scheme)
    recs = base.iloc[:naive_n].to_dict("records")
    t0 = time.perf_counter()
    for rec in recs:
        ng.group(rec)
    naive_s = (time.perf_counter() - t0) / len(recs) * n
    rows.append(_row("naive reference (tests/naive.py)", naive_s, n))
    ratios = {r["stage"]: round(naive_s / (r["ns_per_case"] * n / 1e9), 1) for r in rows
              if r["stage"].startswith("group")}
    return rows, ratios


def stream_bounds(big, scheme, rounds: int, chunk: int = 500_000) -> list[dict]:
    """One chunk through each stage of ``drgsim price`` on a Parquet dataset, one thread each."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from drgsim import stream
    from drgsim.sources import canonical_chunk
    from grouper import group
    from payment import compute_weights, load_policy, price

    part = big.iloc[:chunk].reset_index(drop=True)
    n = len(part)
    pol = load_policy("national_drg")
    rng = np.random.default_rng(2024)  # costs with a spread, as bench_scale.py makes them
    part = part.assign(total_cost=np.round(part["total_cost"].to_numpy(np.float64)
                                           * rng.lognormal(0.0, 0.15, n), 2))
    need = sorted({*stream.PRICE_INPUT_COLUMNS, pol.group_col, *stream.GROUP_INPUT_COLUMNS}
                  & set(part.columns))
    # typed columns, as a Parquet year written by grouper.read_cases (bench_scale.py) holds them
    raw = pa.Table.from_pandas(canonical_chunk(pa.Table.from_pandas(part[need], preserve_index=False)),
                               preserve_index=False)
    g = group(canonical_chunk(raw), scheme, keep_columns=True, threads=1)
    w = compute_weights(g, pol)
    price(g.iloc[:20_000], w, pol)  # compile
    priced = price(g, w, pol)
    priced.attrs = {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="drgsim-bounds-") as tmp:
        src, dst = Path(tmp) / "in.parquet", Path(tmp) / "out.parquet"
        pq.write_table(raw, src, row_group_size=256_000)
        pa.set_cpu_count(1)
        stages = {
            "stream: read Parquet chunk": lambda: pq.read_table(src, use_threads=False),
            "stream: canonical columns": lambda: canonical_chunk(raw),
            "stream: group (keep columns)": lambda: group(canonical_chunk(raw), scheme,
                                                          keep_columns=True, threads=1),
            "stream: price (special review)": lambda: price(g, w, pol),
            "stream: write Parquet (priced)": lambda: pq.write_table(
                pa.Table.from_pandas(priced, preserve_index=False), dst, row_group_size=n),
        }
        secs = {k: _best(f, rounds) for k, f in stages.items()}
        pa.set_cpu_count(os.cpu_count() or 1)
    secs["stream: group (keep columns)"] -= secs["stream: canonical columns"]
    for k, s in secs.items():
        rows.append(_row(k, s, n))
    total = sum(secs.values())
    rows.append(_row("stream: all stages, 2 cores busy, no overhead", total / 2, n,
                     "streamed group + price, 2 cores",
                     f"{total / n * 1e9:.0f} ns/case of CPU over two cores"))
    return rows


def service_bounds(rounds: int, batch: int = 10_000) -> list[dict]:
    """A ``batch``-case body through the batch route's steps (demo scheme, zhejiang_drg)."""
    import orjson
    from loadtest import prepare

    import grouper
    from drgsim.service import ServiceSettings
    from drgsim.service import answer as A
    from drgsim.service.columnar import parse_batch
    from drgsim.service.engine import PreviewEngine
    from drgsim.service.routers.preview import _batch, _json

    with tempfile.TemporaryDirectory(prefix="drgsim-bounds-") as tmp:
        _, docs = prepare("zhejiang_drg", Path(tmp))
        engine = PreviewEngine.load(ServiceSettings(scheme=grouper.demo_scheme_path(),
                                                    policy="zhejiang_drg", weights=Path(tmp)))
    body = orjson.dumps({"cases": (docs * (batch // len(docs) + 1))[:batch]})
    _batch(body, engine, 10**9, False, False)  # compile
    frame = parse_batch(body, 10**9)
    g = A.group_frame(engine.scheme, frame, engine.kernel_threads)
    pr = A.price_frame(engine.prepared, frame, g.status, g.drg)

    def answer(arrays: bool = False):
        return A.answer_columns(g, engine.names, engine.policy, engine.prepared, engine.rw, pr,
                                engine.yuan_per_point, None, arrays)

    cols, acols = answer(), answer(True)
    stages = {
        "batch: orjson.loads alone (floor of parsing)": lambda: orjson.loads(body),
        "batch: parse to a case table": lambda: parse_batch(body, 10**9),
        "batch: group": lambda: A.group_frame(engine.scheme, frame, engine.kernel_threads),
        "batch: price": lambda: A.price_frame(engine.prepared, frame, g.status, g.drg),
        "batch: answer columns": answer,
        "batch: serialise rows": lambda: _json({"count": batch, "results": engine.rows(cols)}),
        "batch: serialise ?format=columns": lambda: orjson.dumps(
            {"count": batch, "columns": acols}, option=orjson.OPT_SERIALIZE_NUMPY),
        "batch: whole route (rows)": lambda: _batch(body, engine, 10**9, False, False),
        "batch: whole route (?format=columns)": lambda: _batch(body, engine, 10**9, False, True),
    }
    rows = []
    for k, f in stages.items():
        target = "service batch" if k.startswith(("batch: whole", "batch: orjson")) else None
        rows.append(_row(k, _best(f, rounds), batch, target,
                         f"{len(body) / batch:.0f} B/case of JSON" if "orjson" in k else ""))
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=int(os.environ.get("DRGSIM_BENCH_N", 500_000)))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--naive", type=int, default=2_000)
    ap.add_argument("--json", type=Path, help="also write the report here")
    args = ap.parse_args(argv)

    load0 = os.getloadavg()[0]
    bw = memory_bandwidth()
    base, big, scheme, _ = _cases(args.cases)
    rows, ratios = grouping_bounds(base, big, scheme, args.rounds, args.naive, bw)
    rows += stream_bounds(big, scheme, args.rounds, min(500_000, args.cases))
    rows += service_bounds(args.rounds)
    report = {"cases": args.cases, "memory_copy_gb_per_s": round(bw, 1), "stages": rows,
              "x_naive": ratios,
              "load_avg_1min_before_after": [round(load0, 2), round(os.getloadavg()[0], 2)]}
    w = max(len(r["stage"]) for r in rows)
    print(f"memory copy: {bw:.1f} GB/s (read + write)")
    print(f"{'stage':<{w}} {'ns/case':>9} {'ceiling/s':>12}  target")
    for r in rows:
        tgt = f"{r['target']} >= {r['target_cases_per_s']:,}" if r["target"] else ""
        print(f"{r['stage']:<{w}} {r['ns_per_case']:>9.1f} {r['ceiling_cases_per_s']:>12,}  "
              f"{tgt}{'  (' + r['note'] + ')' if r['note'] else ''}")
    print("x naive:", json.dumps(ratios))
    print("load average (1 min) before, after:", report["load_avg_1min_before_after"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
