"""National-scale benchmark: a synthetic year of cases, generated in chunks, grouped (and priced).

Usage::

    python benchmarks/bench_scale.py --cases 50000000          # the full 50 M-case year
    DRGSIM_BENCH_CASES=3000000 python benchmarks/bench_scale.py  # a quick run

The year is never held in memory: each generation chunk samples rows of a base case table
(the CHS-DRG 1.1 conformance cases from ``$DRGSIM_SHARED`` or ``../shared``; else the demo
sample cases with the demo scheme), gives them fresh case ids and jittered costs, and is written
as one file of a Parquet dataset. The dataset is then streamed through
:func:`drgsim.stream.group_file` and :func:`drgsim.stream.group_price_file`. Reported: wall time,
cases/s, peak resident memory of this process and its children (sampled by psutil), the time
extrapolated to 302 million cases (the national yearly volume), and where the CPU went: process
CPU seconds, ``cores_busy`` (CPU seconds per wall second; 2.0 = both cores all the time) and the
CPU seconds of the reader, compute and writer threads (Arrow's decode pool and numba's workers
count in the process total only), with the 1-minute load average before and after. On a
shared machine ``cpu_ns_per_case`` is the figure to compare between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NATIONAL_CASES = 302_000_000


def shared_dir() -> Path | None:
    env = os.environ.get("DRGSIM_SHARED")
    p = Path(env) if env else ROOT.parent / "shared"
    return p if (p / "schemes").is_dir() else None


def base_inputs() -> tuple[Path, Path]:
    """(scheme folder, base case file) to sample from."""
    sh = shared_dir()
    if sh is not None:
        s = sh / "schemes" / "chs-drg-1.1"
        return s, s / "conformance" / "cases.csv"
    from grouper import demo_scheme_path

    return demo_scheme_path(), ROOT / "sample_cases" / "cases.csv"


class PeakMemory:
    """Samples the resident memory of this process plus its children every 50 ms (MB)."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> float:
        total = self.proc.memory_info().rss
        for c in self.proc.children(recursive=True):
            try:
                total += c.memory_info().rss
            except Exception:  # a child that just ended
                pass
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(0.05)

    def __enter__(self) -> PeakMemory:
        self.peak = self._sample()
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self._sample())


def generate(base_file: Path, out_dir: Path, n_cases: int, chunk: int = 1_000_000,
             seed: int = 2024) -> float:
    """Write ``n_cases`` sampled cases as ``out_dir/part-*.parquet``; returns seconds."""
    from grouper.cases import read_cases

    t0 = time.perf_counter()
    base = pa.Table.from_pandas(read_cases(base_file), preserve_index=False)
    base = base.drop_columns([c for c in ("case_id",) if c in base.column_names])
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    cost_col = base.column_names.index("total_cost") if "total_cost" in base.column_names else -1
    done = 0
    part = 0
    while done < n_cases:
        n = min(chunk, n_cases - done)
        rng = np.random.default_rng([seed, part])
        t = base.take(pa.array(rng.integers(0, base.num_rows, n)))
        ids = pc.binary_join_element_wise("Y", pc.cast(pa.array(np.arange(done, done + n)), pa.string()), "")
        t = t.add_column(0, "case_id", ids)
        if cost_col >= 0:  # jitter costs so pricing sees a spread, not 20k repeated values
            cost = t.column("total_cost").to_numpy(zero_copy_only=False)
            cost = np.round(cost * rng.lognormal(0.0, 0.15, n), 2)
            t = t.set_column(t.column_names.index("total_cost"), "total_cost", pa.array(cost))
        pq.write_table(t, out_dir / f"part-{part:05d}.parquet", row_group_size=256_000)
        done += n
        part += 1
    return time.perf_counter() - t0


def _figures(st, mem: PeakMemory) -> dict:
    """Throughput, memory and where the CPU went: ``cores_busy`` is process CPU seconds per
    wall second (2.0 = both cores all the time); the per-thread CPU seconds say which of
    reading, computing (canonical columns, group, price) and writing bounds the run."""
    return {"seconds": round(st.seconds, 2), "cases_per_s": round(st.rate),
            "peak_rss_mb": round(mem.peak),
            "national_302m_minutes": round(NATIONAL_CASES / st.rate / 60, 1),
            "cpu_seconds": round(st.cpu_seconds, 2), "cores_busy": round(st.cores_busy, 2),
            "thread_cpu_s": {"read": round(st.read_cpu, 2), "compute": round(st.compute_cpu, 2),
                             "write": round(st.write_cpu, 2)},
            "cpu_ns_per_case": round(st.cpu_seconds / max(st.rows, 1) * 1e9)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=int(os.environ.get("DRGSIM_BENCH_CASES", 50_000_000)))
    ap.add_argument("--chunk-rows", type=int, default=int(os.environ.get("DRGSIM_BENCH_CHUNK", 0)) or None)
    ap.add_argument("--threads", type=int, default=None, help="cores to use (default: all)")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("DRGSIM_BENCH_DIR", "/tmp/drgsim-bench")))
    ap.add_argument("--reuse", action="store_true", help="reuse a dataset of the same size in workdir")
    ap.add_argument("--keep", action="store_true", help="keep the generated data afterwards")
    ap.add_argument("--no-price", action="store_true")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--policy", default="national_drg", help="policy preset or TOML (row-wise + special review)")
    args = ap.parse_args(argv)

    from drgsim import stream
    from grouper import load_scheme

    scheme_dir, base_file = base_inputs()
    chunk_rows = args.chunk_rows or stream.DEFAULT_CHUNK_ROWS
    data = args.workdir / f"cases-{args.cases}"
    report: dict = {"cases": args.cases, "scheme": str(scheme_dir), "base": str(base_file),
                    "chunk_rows": chunk_rows, "threads": args.threads or os.cpu_count()}
    if not (args.reuse and data.is_dir()):
        report["generate_s"] = round(generate(base_file, data, args.cases), 1)
    report["input_bytes"] = sum(f.stat().st_size for f in data.glob("*.parquet"))
    scheme = load_scheme(scheme_dir)
    # compile kernels and build the scheme's engine outside the timed region
    stream.group_file(next(iter(sorted(data.glob("*.parquet")))), None, scheme, chunk_rows=1000)

    load0 = round(os.getloadavg()[0], 2)
    out = args.workdir / "grouped.parquet"
    with PeakMemory() as mem:
        st = stream.group_file(data, out, scheme, chunk_rows=chunk_rows, threads=args.threads,
                               progress=args.progress)
    report["group"] = _figures(st, mem)
    if not args.no_price:
        from grouper import group
        from payment import compute_weights, load_policy, price

        # weights from one generated file (1 M cases): the history a region would fit them on
        pol = load_policy(args.policy)
        hist = group(stream.canonical_chunk(pq.read_table(sorted(data.glob("*.parquet"))[0])),
                     scheme, keep_columns=True)
        w = compute_weights(hist, pol)
        price(hist.iloc[:20_000], w, pol)  # compile the pricing and quota kernels untimed
        del hist
        out2 = args.workdir / "priced.parquet"
        with PeakMemory() as mem:
            st2 = stream.group_price_file(data, out2, scheme, w, pol, chunk_rows=chunk_rows,
                                          threads=args.threads, progress=args.progress)
        report["group_price"] = {"policy": args.policy, **_figures(st2, mem)}
    report["load_avg_1min_before_after"] = [load0, round(os.getloadavg()[0], 2)]
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
