"""Per-scheme grouping speed (issue 20 item 4): every scheme folder of ../shared/schemes with a
conformance corpus, discovered, each corpus replicated to ``DRGSIM_BENCH_SCHEMES_N`` cases
(default 20,000; ask for 1,000,000 to reproduce the issue's figure), one thread.

Per scheme, in the same run: the plain-Python reference ``tests/naive.py`` on its first
``NAIVE_N`` cases (the baseline), the end-to-end ``grouper.group`` (strict, a DataFrame of
text columns) and the kernel alone on the encoded cases. Each benchmark's ``extra_info`` holds
``cases``, ``cases_per_s`` and, for the engine rows, ``x_naive`` (cases/s over the naive
reference's cases/s of the same scheme, same run). Run with::

    DRGSIM_BENCH_SCHEMES_N=1000000 python -m pytest benchmarks/bench_schemes.py \\
        --benchmark-only -p no:cacheprovider --benchmark-json=/tmp/schemes.json
    python benchmarks/bench_schemes.py /tmp/schemes.json     # the per-scheme table

Without ../shared the bundled demo scheme and sample cases stand in.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import grouper  # noqa: E402
from grouper.engine import encode_cases, run_kernel  # noqa: E402

N = int(os.environ.get("DRGSIM_BENCH_SCHEMES_N", "20000"))
NAIVE_N = min(N, 2_000)
ROUNDS = 1 if N >= 500_000 else 3
_NAIVE_RATE: dict[str, float] = {}  # scheme -> naive cases/s measured in this run


def _names() -> list[str]:
    from shared_data import shared_dir

    sh = shared_dir()
    if sh is None:
        return ["demo"]
    return sorted(p.name for p in (sh / "schemes").iterdir()
                  if (p / "scheme.json").is_file() and (p / "conformance" / "cases.csv").is_file())


def _source(name: str) -> tuple[grouper.Scheme, pd.DataFrame]:
    from shared_data import read_corpus, shared_dir

    if name == "demo":
        cases = pd.read_csv(ROOT / "sample_cases" / "cases.csv", dtype=str, keep_default_na=False, na_values=[""])
        return grouper.load_scheme(grouper.demo_scheme_path()), cases
    base = shared_dir() / "schemes" / name
    return grouper.load_scheme(base), read_corpus(base / "conformance" / "cases.csv")


@pytest.fixture(scope="module", params=_names())
def data(request):
    """(name, scheme, corpus, corpus replicated to N rows); one scheme in memory at a time."""
    scheme, base = _source(request.param)
    reps = -(-N // len(base))
    big = pd.concat([base] * reps, ignore_index=True).iloc[:N].reset_index(drop=True)
    big["case_id"] = np.arange(len(big)).astype(str)
    grouper.group(base.iloc[:1000], scheme, strict=True, threads=1)  # compile once, untimed
    return request.param, scheme, base, big


def _rate(benchmark, name: str, n: int) -> float:
    rate = n / benchmark.stats.stats.min
    benchmark.extra_info.update(scheme=name, cases=n, cases_per_s=rate)
    if name in _NAIVE_RATE:
        benchmark.extra_info["x_naive"] = rate / _NAIVE_RATE[name]
    return rate


def test_naive_reference(benchmark, data):
    from naive import NaiveGrouper

    name, scheme, base, _ = data
    ng = NaiveGrouper(scheme)
    recs = base.iloc[:NAIVE_N].to_dict("records")
    benchmark.pedantic(lambda: [ng.group(r) for r in recs], rounds=1, iterations=1)
    _NAIVE_RATE[name] = _rate(benchmark, name, len(recs))


def test_group_end_to_end(benchmark, data):
    name, scheme, _, big = data
    out = benchmark.pedantic(lambda: grouper.group(big, scheme, strict=True, threads=1),
                             rounds=ROUNDS, iterations=1)
    assert len(out) == len(big)
    _rate(benchmark, name, len(big))


def test_kernel_alone(benchmark, data):
    name, scheme, _, big = data
    arrays, _, _ = encode_cases(big, scheme, strict=True)
    benchmark.pedantic(lambda: run_kernel(arrays, scheme, threads=1), rounds=ROUNDS, iterations=1)
    _rate(benchmark, name, len(big))


def report(path: str) -> str:
    """The per-scheme table (markdown) from a ``--benchmark-json`` file of this module."""
    rows: dict[str, dict[str, dict]] = {}
    for b in json.loads(Path(path).read_text())["benchmarks"]:
        info = b["extra_info"]
        rows.setdefault(info["scheme"], {})[b["name"].split("[")[0]] = info
    lines = ["| scheme | cases | end to end, cases/s (1 thread) | × naive | kernel alone, cases/s | × naive |",
             "|---|---|---|---|---|---|"]
    for name, r in sorted(rows.items()):
        e, k = r.get("test_group_end_to_end", {}), r.get("test_kernel_alone", {})
        lines.append(f"| {name} | {e.get('cases', 0):,} | {e.get('cases_per_s', 0):,.0f} | "
                     f"{e.get('x_naive', float('nan')):.0f} | {k.get('cases_per_s', 0):,.0f} | "
                     f"{k.get('x_naive', float('nan')):.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(sys.argv[1]))
