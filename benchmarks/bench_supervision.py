"""Supervision benchmark: §10 indices + all five signals over grouped cases (not run in CI).

    DRGSIM_BENCH_SUP_N=200000 python -m pytest benchmarks/bench_supervision.py --benchmark-only -s

A synthetic grouped region (two years: the first half of the rows is the history, the second
the current period; 300 hospitals at three levels, 400 DRGs, patients with repeat stays) is
built once. The engine (``payment.indices.indices`` + ``payment.signals_codes.all_signals``,
the work of ``drgsim supervise`` after grouping) is timed on it; the baseline in the same run is
the plain-Python references of tests/ (naive_indices, naive_supervision, naive_signals) on a
``BASE_N``-row slice, and the ratio compares cases per second. The issue's 5,000,000-case target
is printed as an extrapolation from the measured rate (linear in rows), clearly marked as such.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from payment.indices import indices
from payment.signals_codes import all_signals

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import naive_indices  # noqa: E402
import naive_signals  # noqa: E402
import naive_supervision  # noqa: E402

N = int(os.environ.get("DRGSIM_BENCH_SUP_N", "200000"))
BASE_N = int(os.environ.get("DRGSIM_BENCH_SUP_BASE_N", "5000"))
N_HOSP, N_DRG = 300, 400
CODES = np.array([f"{c}{i:02d}.{j}" for c in "ABIJKN" for i in range(20) for j in range(3)]
                 + ["O80.0", "N40.1", "P07.0"], dtype=object)


def synthetic_grouped(n: int = N, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(current, history) grouped cases, each n // 2 rows."""
    rng = np.random.default_rng(seed)
    h = rng.integers(0, N_HOSP, n)
    level = 1 + h % 3
    d = rng.integers(0, N_DRG, n)
    sev = np.array(["1", "3", "5", "9"])[rng.integers(0, 4, n)]
    drg = pd.Series(np.char.add(np.char.add("D", np.char.zfill(d.astype(str), 3)), sev))
    adrg = drg.str[:4]
    status = np.where(rng.random(n) < 0.99, "SUCCESS", "QY")
    n_dx = rng.integers(1, 5, n)
    dx = pd.Series(CODES[rng.integers(0, len(CODES), n)])
    for k in range(1, 4):
        more = pd.Series(CODES[rng.integers(0, len(CODES), n)])
        dx = dx.where(n_dx <= k, dx + "|" + more)
    start = pd.Timestamp("2023-01-01")
    adm = rng.integers(0, 730, n)
    los = rng.integers(0, 20, n)
    adm_d = start + pd.to_timedelta(adm, unit="D")
    dis_d = adm_d + pd.to_timedelta(los, unit="D")
    df = pd.DataFrame({
        "case_id": [f"C{i:08d}" for i in range(n)],
        "hospital_id": pd.Series(np.char.add("H", np.char.zfill(h.astype(str), 3))),
        "hospital_level": level, "patient_id": [f"P{i:07d}" for i in rng.integers(0, n // 3, n)],
        "sex": rng.integers(1, 3, n), "age": rng.integers(0, 90, n), "los": los,
        "discharge_mode": np.where(rng.random(n) < 0.03, 2, np.where(rng.random(n) < 0.01, 4, 1)),
        "diagnoses": dx, "procedures": "", "total_cost": np.round(rng.lognormal(8.5, 0.7, n), 2),
        "admission_date": adm_d.strftime("%Y-%m-%d"), "discharge_date": dis_d.strftime("%Y-%m-%d"),
        "status": status, "mdc": "MDC" + adrg.str[1], "adrg": adrg.where(status == "SUCCESS", ""),
        "drg": drg.where(status == "SUCCESS", ""),
    })
    first = adm < 365
    return df[~first].reset_index(drop=True), df[first].reset_index(drop=True)


RESTRICT = pd.DataFrame({"code": ["N40.1", "P07.0"], "kind": "dx", "field": ["sex", "age"],
                         "cmp": "==", "value": [1, 0]})
CC = [c for c in CODES if c.startswith(("I", "J"))]


def engine(cur: pd.DataFrame, hist: pd.DataFrame):
    idx = indices(cur, None, by=("hospital_id",))
    flags, hosp = all_signals(cur, hist, cc_codes=CC, restrictions=RESTRICT)
    return idx, flags, hosp


def naive(cur: pd.DataFrame, hist: pd.DataFrame):
    rows, hrows = cur.to_dict("records"), hist.to_dict("records")
    naive_indices.indices(rows)
    pairs = naive_supervision.split_pairs(rows)
    naive_supervision.hospital_signal(rows, pairs)
    naive_signals.upcoding(rows, hrows, cc_codes=CC)
    naive_signals.low_standard(rows)
    rw = {}
    naive_signals.patient_selection(rows, rw, hrows)
    naive_signals.restricted(rows, exact=[("N40.1", "dx", "sex", "==", 1),
                                          ("P07.0", "dx", "age", "==", 0)])


@pytest.fixture(scope="module")
def region():
    return synthetic_grouped()


def test_supervision_speed(benchmark, region):
    cur, hist = region
    small_c, small_h = cur.head(BASE_N // 2), hist.head(BASE_N // 2)
    t0 = time.perf_counter()
    naive(small_c, small_h)
    base_rate = (len(small_c) + len(small_h)) / (time.perf_counter() - t0)
    cpu0 = time.process_time()
    res = benchmark.pedantic(engine, args=(cur, hist), rounds=1, iterations=1, warmup_rounds=0)
    cpu = time.process_time() - cpu0  # this process's CPU time: what other jobs' load hides
    secs = benchmark.stats.stats.mean
    rate = (len(cur) + len(hist)) / secs
    benchmark.extra_info.update({"rows": len(cur) + len(hist), "rate": rate, "cpu_s": cpu,
                                 "baseline_rate": base_rate, "ratio": rate / base_rate})
    print(f"\nengine: {len(cur) + len(hist):,} rows (two years) in {secs:.2f} s (CPU {cpu:.2f} s) = "
          f"{rate:,.0f} rows/s; naive references: {base_rate:,.0f} rows/s on {BASE_N:,} rows; "
          f"ratio {rate / base_rate:,.1f}x; load {os.getloadavg()[0]:.2f}")
    print(f"EXTRAPOLATION (not measured): 5,000,000 rows ≈ {5_000_000 / rate:,.1f} s at this rate")
    idx, flags, hosp = res
    assert len(idx) == N_HOSP and set(hosp.signal) >= {"upcoding", "restricted_code"}
