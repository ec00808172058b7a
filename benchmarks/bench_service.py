"""Preview service engine in-process (no HTTP): one-case latency and small batches.

Weights are fitted from the 2023–2024 sample cases (as ``loadtest.py`` does); the previewed
cases are the first ``DRGSIM_BENCH_PREVIEW_N`` (default 200) 2025 sample cases. Run with::

    python -m pytest benchmarks/bench_service.py --benchmark-only -p no:cacheprovider \
        --benchmark-columns=min,median,mean,rounds

``test_preview_one`` times a loop over the cases, one ``preview_one`` call each; its
``extra_info["us_per_case"]`` is the per-case latency (median round).
``test_preview_one_per_call`` times every call on its own (min and median per call, printed
with ``-s``). ``test_group_price_table``
is the library's own ``grouper.group`` + ``payment.price`` on one-row tables, the baseline the
one-case path is compared with in the same run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

N = int(os.environ.get("DRGSIM_BENCH_PREVIEW_N", "200"))
#: cases per request body in the batch-route benchmarks (sample cases repeated)
BATCH_N = int(os.environ.get("DRGSIM_BENCH_BATCH_N", "2000"))
POLICY = os.environ.get("DRGSIM_BENCH_PREVIEW_POLICY", "zhejiang_drg")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from loadtest import prepare

    import grouper
    from drgsim.service import ServiceSettings
    from drgsim.service.engine import PreviewEngine, cases_frame
    from drgsim.service.models import CaseIn

    out = tmp_path_factory.mktemp("w")
    bodies, docs = prepare(POLICY, out)
    cases = [CaseIn.model_validate_json(b) for b in bodies[:N]]
    engine = PreviewEngine.load(ServiceSettings(scheme=grouper.demo_scheme_path(),
                                                policy=POLICY, weights=out))
    for c in cases[:5]:  # compile outside the timings
        engine.preview_one(c, "x")
    engine.preview_batch(cases[:5])
    global BATCH_BODY
    import orjson

    BATCH_BODY = orjson.dumps({"cases": (docs * (BATCH_N // len(docs) + 1))[:BATCH_N]})
    return engine, cases, cases_frame


def test_preview_one(benchmark, setup):
    engine, cases, _ = setup

    def run():
        for k, c in enumerate(cases):
            engine.preview_one(c, str(k))

    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["us_per_case"] = benchmark.stats.stats.median / len(cases) * 1e6


def test_preview_one_per_call(benchmark, setup):
    """Each ``preview_one`` call timed on its own (``DRGSIM_BENCH_PREVIEW_REPS`` passes over the
    cases, default 50): ``extra_info`` has the minimum and median microseconds per call."""
    import statistics
    import time

    engine, cases, _ = setup
    reps = int(os.environ.get("DRGSIM_BENCH_PREVIEW_REPS", "50"))
    per_call: list[float] = []

    def run():
        clock = time.perf_counter
        for _ in range(reps):
            for k, c in enumerate(cases):
                t = clock()
                engine.preview_one(c, str(k))
                per_call.append(clock() - t)

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info["calls"] = len(per_call)
    benchmark.extra_info["us_min"] = min(per_call) * 1e6
    benchmark.extra_info["us_median"] = statistics.median(per_call) * 1e6
    print(f"\npreview_one per call: min {min(per_call) * 1e6:.1f} us, "
          f"median {statistics.median(per_call) * 1e6:.1f} us over {len(per_call)} calls")


def test_preview_batch(benchmark, setup):
    engine, cases, _ = setup
    benchmark.pedantic(engine.preview_batch, args=(cases,), rounds=5, iterations=1,
                       warmup_rounds=1)
    benchmark.extra_info["us_per_case"] = benchmark.stats.stats.median / len(cases) * 1e6


def test_group_price_table(benchmark, setup):
    """Baseline: ``grouper.group`` + ``payment.price`` on a one-row table per case."""
    import grouper
    import payment

    engine, cases, cases_frame = setup
    frames = [cases_frame([c]) for c in cases[:50]]

    def run():
        for f in frames:
            g = grouper.group(f, engine.scheme)
            payment.price(f.assign(status=g["status"].astype(str).to_numpy(),
                                   drg=g["drg"].to_numpy()), engine.weights, engine.policy)

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info["us_per_case"] = benchmark.stats.stats.median / len(frames) * 1e6


BATCH_BODY = b""


@pytest.mark.parametrize("fmt", ["rows", "columns"])
def test_batch_route(benchmark, setup, fmt):
    """The whole batch route off the event loop: request bytes -> answer bytes
    (``routers.preview._batch``: parse, group, price, answer, serialise), ``BATCH_N`` cases."""
    from drgsim.service.routers.preview import _batch

    engine = setup[0]
    benchmark.pedantic(_batch, args=(BATCH_BODY, engine, 10**9, False, fmt == "columns"),
                       rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["cases_per_s"] = BATCH_N / benchmark.stats.stats.median
