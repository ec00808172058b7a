"""DIP benchmarks (pytest-benchmark; not run in CI).

    python -m pytest benchmarks/bench_dip.py -p no:cacheprovider --benchmark-columns=mean,rounds -s

Grid: implementation (vectorised kernel / pure-Python reference ``tests/naive_dip.py``) ×
task (build catalogue, group cases). Sizes: build 5,000,000 cases, group 1,000,000 (override
with DIP_BENCH_BUILD / DIP_BENCH_GROUP); the naive reference runs on DIP_BENCH_NAIVE cases
(default 50,000) because it is slow, and rates are compared in cases/s. Everything runs on one
thread (pyarrow CPU pool 1; the numba kernels are serial). Synthetic histories come from the
shared CHS-DRG 1.1 scheme when present, else the bundled demo scheme.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numba
import pyarrow as pa
import pytest

import grouper
from grouper.dip import DipConfig, build_catalogue, compile_catalogue
from grouper.dip.group import group_frame
from grouper.dip.synth import synthetic_history

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from naive_dip import naive_build, naive_group  # noqa: E402

pa.set_cpu_count(1)
numba.set_num_threads(1)  # the shared DRG encoder has parallel kernels: measure one thread

N_BUILD = int(os.environ.get("DIP_BENCH_BUILD", 5_000_000))
N_GROUP = int(os.environ.get("DIP_BENCH_GROUP", 1_000_000))
N_NAIVE = int(os.environ.get("DIP_BENCH_NAIVE", 50_000))
SHARED = Path(__file__).resolve().parents[2] / "shared" / "schemes" / "chs-drg-1.1"
# Defaults: 亚目 × full procedure codes, 1:2:7 yearly means, threshold 15, no trimming (the
# naive reference does not trim, so the ratio compares like with like); IQR trimming is timed too.
CONFIG = DipConfig()

RATES: dict[str, float] = {}


@pytest.fixture(scope="module")
def scheme():
    return grouper.load_scheme(SHARED if SHARED.exists() else grouper.demo_scheme_path())


@pytest.fixture(scope="module")
def history(scheme):
    return synthetic_history(scheme, max(N_BUILD, N_GROUP), n_templates=60_000, seed=1)


@pytest.fixture(scope="module")
def catalogue(scheme, history):
    return build_catalogue(history.iloc[:N_GROUP], CONFIG, scheme)


def _rate(benchmark, name: str, n: int) -> None:
    rate = n / benchmark.stats.stats.min
    RATES[name] = rate
    benchmark.extra_info.update(cases=n, cases_per_s=round(rate))


@pytest.mark.parametrize("trim", ["none", "iqr"])
def test_build_kernel(benchmark, scheme, history, trim):
    h = history.iloc[:N_BUILD]
    cfg = DipConfig(trim=trim)
    cat = benchmark.pedantic(build_catalogue, args=(h, cfg, scheme), rounds=1, iterations=1, warmup_rounds=0)
    _rate(benchmark, "build_kernel" if trim == "none" else "build_kernel_iqr", N_BUILD)
    benchmark.extra_info.update(groups=len(cat.groups), core_share=round(cat.summary()["core_case_share"], 4))


def test_build_naive(benchmark, scheme, history):
    h = history.iloc[:N_NAIVE]
    benchmark.pedantic(naive_build, args=(h, CONFIG, scheme), rounds=1, iterations=1)
    _rate(benchmark, "build_naive", N_NAIVE)


def test_group_kernel(benchmark, scheme, history, catalogue):
    cc = compile_catalogue(catalogue, scheme)  # once per catalogue, outside the timing
    cases = history.iloc[N_BUILD - N_GROUP:N_BUILD] if N_BUILD >= N_GROUP else history.iloc[:N_GROUP]
    group_frame(cases.iloc[:1000], cc)  # JIT warm-up (cached after the first process)
    benchmark.pedantic(group_frame, args=(cases, cc), rounds=3, iterations=1)
    _rate(benchmark, "group_kernel", len(cases))


def test_group_naive(benchmark, scheme, history, catalogue, tmp_path):
    cases = history.iloc[:N_NAIVE]
    folder = catalogue.save(tmp_path / "catalogue")  # the reference reads the saved files
    benchmark.pedantic(naive_group, args=(cases, folder, scheme), rounds=1, iterations=1)
    _rate(benchmark, "group_naive", N_NAIVE)


def test_report():
    """Print cases/s and the speed-up over the naive reference measured in this run."""
    lines = ["", "| task | kernel cases/s | naive cases/s | ratio |", "|---|---:|---:|---:|"]
    for task in ("build", "group"):
        k, n = RATES.get(f"{task}_kernel"), RATES.get(f"{task}_naive")
        if k and n:
            lines.append(f"| {task} | {k:,.0f} | {n:,.0f} | {k / n:,.0f}× |")
    if "build_kernel_iqr" in RATES:
        lines.append(f"| build, IQR trimming | {RATES['build_kernel_iqr']:,.0f} | | |")
    print("\n".join(lines))
