"""Where end-to-end grouping time goes: each stage per million cases, in one run (issue 17).

    python benchmarks/bench_stages.py            # 300,000 cases (DRGSIM_BENCH_N)
    python benchmarks/bench_stages.py --unique   # every diagnosis text made distinct

Cases: the CHS-DRG 1.1 conformance corpus replicated to N rows, as text columns (the form a
DataFrame read from CSV has). Replication repeats each diagnosis text N / 20,000 times, which
the dictionary path of :func:`grouper.encode.tokenize` exploits; ``--unique`` appends an unknown
secondary code made of the row number to every diagnosis text, so no text repeats (each row
then also carries one repair warning): the cost when texts do not repeat.
Each stage is timed best of ``--rounds`` on one thread; printed: ms, ns/case, seconds per
million cases, share of the end-to-end total, the naive reference's rate (tests/naive.py) on
``--naive`` cases and the ratio of end to end to it, and the 1-minute load average before and
after (the machine may be shared: compare ratios, not absolute figures).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def _best(fn, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=int(os.environ.get("DRGSIM_BENCH_N", 300_000)))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--naive", type=int, default=2_000)
    ap.add_argument("--unique", action="store_true", help="make every diagnosis text distinct")
    args = ap.parse_args(argv)

    from shared_data import read_corpus, shared_dir

    import grouper
    from grouper import encode
    from grouper import engine as E

    sh = shared_dir()
    if sh is None:
        raise SystemExit("needs ../shared (or $DRGSIM_SHARED) with the CHS-DRG 1.1 corpus")
    base_dir = sh / "schemes" / "chs-drg-1.1"
    scheme = grouper.load_scheme(base_dir)
    base = read_corpus(base_dir / "conformance" / "cases.csv")
    n = args.cases
    big = pd.concat([base] * (-(-n // len(base))), ignore_index=True).iloc[:n].reset_index(drop=True)
    big["case_id"] = np.arange(n).astype(str)
    if args.unique:  # a distinct text per row: the row number as an extra (unknown) secondary
        big["diagnoses"] = big["diagnoses"] + "|Z" + big["case_id"]
    grouper.group(base.iloc[:2000], scheme, threads=1)  # compile outside the timings
    load0 = os.getloadavg()[0]
    e = E.engine_for(scheme)
    r = args.rounds
    dx = E._text_column(big, "diagnoses")
    pr = E._text_column(big, "procedures")
    dx_ok, pr_ok = e.c.dx_map >= 0, e.c.pr_map >= 0
    dx_tok = encode.tokenize(dx, e.dx_vocab, False, dx_ok)
    pr_tok = encode.tokenize(pr, e.pr_vocab, True, pr_ok)
    arrays, status, warns = E.encode_cases(big, scheme)
    res = E.run_kernel(arrays, scheme, threads=1)

    def numbers():
        for f in E.NUM_FIELDS:
            E.numeric_column(big, f if f in big.columns or f != "birth_weight" else "weight")

    def maps():
        w: dict = {}
        E._map_tokens(dx_tok, "dx", e, False, True, w)
        E._map_tokens(pr_tok, "pr", e, False, True, w)

    stages = {
        "text columns to Arrow": lambda: (E._text_column(big, "diagnoses"), E._text_column(big, "procedures")),
        "numbers (6 columns)": numbers,
        "departments": lambda: E._dept_ids(big, scheme),
        "tokenise diagnoses": lambda: encode.tokenize(dx, e.dx_vocab, False, dx_ok),
        "tokenise diagnoses row by row": lambda: encode._tokenize_rows(encode._text(dx), e.dx_vocab, False, dx_ok),
        "tokenise procedures": lambda: encode.tokenize(pr, e.pr_vocab, True, pr_ok),
        "map + repair codes": maps,
        "encode_cases (all of the above)": lambda: E.encode_cases(big, scheme),
        "kernel, 1 thread": lambda: E.run_kernel(arrays, scheme, threads=1),
        "decode": lambda: E.decode(big, scheme, res, status, warns),
        "group() end to end, 1 thread": lambda: grouper.group(big, scheme, threads=1),
        "group() end to end, 2 threads": lambda: grouper.group(big, scheme, threads=2),
    }
    secs = {k: _best(f, r) for k, f in stages.items()}
    from naive import NaiveGrouper

    ng = NaiveGrouper(scheme)
    recs = base.iloc[: args.naive].to_dict("records")
    t0 = time.perf_counter()
    for rec in recs:
        ng.group(rec)
    naive_rate = len(recs) / (time.perf_counter() - t0)
    total = secs["group() end to end, 1 thread"]
    rows = []
    for k, s in secs.items():
        rows.append({"stage": k, "ms": round(s * 1e3, 1), "ns_per_case": round(s / n * 1e9),
                     "s_per_million": round(s / n * 1e6, 3), "share_of_1_thread": round(s / total, 3)})
    report = {
        "cases": n, "unique_texts": args.unique,
        "distinct_diagnosis_texts": int(len(dx.unique())),
        "load_avg_1min_before_after": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "stages": rows,
        "naive_cases_per_s": round(naive_rate),
        "end_to_end_1_thread_cases_per_s": round(n / total),
        "end_to_end_2_threads_cases_per_s": round(n / secs["group() end to end, 2 threads"]),
        "ratio_1_thread_to_naive": round(n / total / naive_rate, 1),
    }
    w = max(len(x["stage"]) for x in rows)
    for x in rows:
        print(f"{x['stage']:<{w}} {x['ms']:>9.1f} ms {x['ns_per_case']:>7} ns/case "
              f"{x['s_per_million']:>7.3f} s/M {100 * x['share_of_1_thread']:>6.1f} %")
    print(json.dumps({k: v for k, v in report.items() if k != "stages"}, indent=2))
    return report


if __name__ == "__main__":
    main()
