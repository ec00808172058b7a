"""Load test of the preview service on loopback: requests/s, p50/p99 latency, batch cases/s.

Starts ``uvicorn drgsim.service.asgi:app`` on 127.0.0.1 in a subprocess (weights fitted from
the 2023–2024 sample cases into a temporary folder), then drives it with httpx (async) at a
bounded concurrency for a bounded duration:

* single: ``POST /v1/preview`` with 2025 sample cases, round robin;
* batch: ``POST /v1/preview/batch`` with ``--batch-size`` cases per request.

    python benchmarks/loadtest.py --workers 2 --duration 15 --concurrency 8

Targets (issue 7, 2-core machine): >= 1,000 single-case requests/s with p99 <= 20 ms and
>= 200,000 cases/s through the batch endpoint. Figures are printed, never asserted.

The load generator runs on the same machine as the server, and the machine may be shared:
each phase also prints the server's own CPU time (all uvicorn processes, user + system, via
psutil) per request and per case, which other jobs and the client hardly disturb, and the
1-minute load average at its start. ``--format columns`` drives the batch phase with
``?format=columns``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, like the other benchmarks
    sys.path.insert(0, str(ROOT))
HOST = "127.0.0.1"  # loopback only, on purpose


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def prepare(policy: str, out: Path) -> tuple[list[bytes], list[dict]]:
    """Fit weights from the sample history into ``out``; the 2025 cases as JSON bodies."""
    import pandas as pd

    import grouper
    import payment

    scheme = grouper.load_scheme(grouper.demo_scheme_path())
    cases = grouper.read_cases(ROOT / "sample_cases" / "cases.csv")
    hist = cases[cases["year"] < 2025]
    g = grouper.group(hist, scheme)
    hist = hist.assign(status=g["status"].astype(str).to_numpy(), drg=g["drg"].to_numpy())
    payment.compute_weights(hist, payment.load_policy(policy)).save(out)
    now = cases[cases["year"] == 2025]
    docs = []
    for row in now.to_dict("records"):
        doc: dict = {}
        for k, v in row.items():
            if (k in ("new_tech", "read_status", "read_warnings")
                    or (not isinstance(v, str) and pd.isna(v)) or v == ""):
                continue
            if k in ("diagnoses", "procedures"):
                doc[k] = str(v).split("|")
            elif k.endswith("_date"):
                doc[k] = str(v)[:10]
            elif k in ("hospital_level", "sex", "age", "age_days", "birth_weight", "los",
                       "discharge_mode", "year", "month"):
                doc[k] = int(v)
            elif isinstance(v, (int, float, np.integer, np.floating)):
                doc[k] = float(v)
            else:
                doc[k] = str(v)
        doc.setdefault("diagnoses", [""])
        docs.append(doc)
    return [orjson.dumps(d) for d in docs], docs


def start_server(port: int, workers: int, policy: str, weights: Path) -> subprocess.Popen:
    env = dict(os.environ, DRGSIM_SCHEME=str(ROOT / "grouper" / "data" / "demo"),
               DRGSIM_POLICY=policy, DRGSIM_WEIGHTS=str(weights),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "uvicorn", "drgsim.service.asgi:app", "--host", HOST,
           "--port", str(port), "--workers", str(workers), "--log-level", "warning",
           "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://{HOST}:{port}/v1/health", timeout=1).status_code == 200:
                # every worker must be up, not just the first: give the others a moment
                time.sleep(2.0 if workers > 1 else 0.2)
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("server did not become healthy in 120 s")


async def _drive(url: str, bodies: list[bytes], concurrency: int, duration: float,
                 offset: int) -> tuple[list[float], int]:
    """Post ``bodies`` round robin from ``concurrency`` tasks for ``duration`` seconds."""
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=60.0) as client:

        async def worker(k: int) -> None:
            nonlocal errors
            i = offset + k
            while time.perf_counter() < stop:
                body = bodies[i % len(bodies)]
                i += concurrency
                t0 = time.perf_counter()
                r = await client.post(url, content=body, headers=headers)
                await r.aread()
                lat.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return lat, errors


def _server_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) of the server and its worker processes so far."""
    try:
        import psutil
    except ImportError:  # the figure is optional
        return math.nan
    total = 0.0
    try:
        root = psutil.Process(proc.pid)
        for p in [root, *root.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    except psutil.NoSuchProcess:
        return math.nan
    return total


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""


async def _drive_raw(url: str, bodies: list[bytes], concurrency: int, duration: float,
                     offset: int) -> tuple[list[float], int]:
    """As :func:`_drive` over plain keep-alive HTTP/1.1 sockets (asyncio streams): a few
    microseconds of client CPU per request instead of httpx's hundreds, so that on a small
    machine the load generator takes less of the CPU the server is measured on."""
    u = httpx.URL(url)
    target = (u.raw_path or b"/").decode()
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration

    async def worker(k: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(u.host, u.port)
        i = offset + k
        try:
            while time.perf_counter() < stop:
                body = bodies[i % len(bodies)]
                i += concurrency
                t0 = time.perf_counter()
                writer.write(f"POST {target} HTTP/1.1\r\nhost: {u.host}\r\n"
                             f"content-type: application/json\r\ncontent-length: {len(body)}"
                             "\r\n\r\n".encode() + body)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                size = 0
                for line in head.lower().split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        size = int(line.split(b":", 1)[1])
                await reader.readexactly(size)
                lat.append(time.perf_counter() - t0)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return lat, errors


def _client_proc(args: tuple) -> tuple[list[float], int]:
    url, bodies, concurrency, duration, offset, raw = args
    drive = _drive_raw if raw else _drive
    return asyncio.run(drive(url, bodies, concurrency, duration, offset))


def run_phase(url: str, bodies: list[bytes], concurrency: int, duration: float,
              clients: int, raw: bool = False) -> tuple[np.ndarray, int, float]:
    """(latencies s, errors, wall s) over ``clients`` processes sharing the concurrency."""
    per = max(1, concurrency // clients)
    t0 = time.perf_counter()
    if clients == 1:
        results = [_client_proc((url, bodies, per, duration, 0, raw))]
    else:
        with mp.get_context("spawn").Pool(clients) as pool:
            results = pool.map(_client_proc, [(url, bodies, per, duration, k * 7919, raw)
                                              for k in range(clients)])
    wall = time.perf_counter() - t0
    lat = np.concatenate([np.asarray(r[0]) for r in results])
    return lat, sum(r[1] for r in results), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--clients", type=int, default=1, help="load-generator processes")
    ap.add_argument("--concurrency", type=int, default=8, help="single-case requests in flight")
    ap.add_argument("--batch-concurrency", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=15.0, help="seconds per phase")
    ap.add_argument("--policy", default="zhejiang_drg")
    ap.add_argument("--format", choices=("rows", "columns"), default="rows",
                    help="batch answer format (?format=)")
    ap.add_argument("--client", choices=("httpx", "raw"), default="httpx",
                    help="load generator: httpx (default) or plain keep-alive sockets (cheaper)")
    ap.add_argument("--skip-single", action="store_true")
    ap.add_argument("--skip-batch", action="store_true")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        bodies, docs = prepare(a.policy, Path(tmp) / "weights")
        port = _free_port()
        proc = start_server(port, a.workers, a.policy, Path(tmp) / "weights")
        base = f"http://{HOST}:{port}"
        try:
            print(f"server: {a.workers} uvicorn worker(s) on {base}; policy {a.policy}; "
                  f"{len(bodies)} distinct cases; cpu count {os.cpu_count()}")
            if not a.skip_single:
                raw = a.client == "raw"
                run_phase(base + "/v1/preview", bodies, a.concurrency, 2.0, a.clients, raw)
                load, cpu0 = _load(), _server_cpu(proc)
                lat, err, wall = run_phase(base + "/v1/preview", bodies, a.concurrency,
                                           a.duration, a.clients, raw)
                cpu = _server_cpu(proc) - cpu0
                ms = lat * 1e3
                print(f"single ({a.client}): {len(lat)} requests in {wall:.1f} s, concurrency "
                      f"{a.concurrency}, {a.clients} client process(es): "
                      f"{len(lat) / a.duration:,.0f} req/s, p50 {np.percentile(ms, 50):.2f} ms, "
                      f"p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.1f} ms, "
                      f"errors {err}; server CPU {cpu / len(lat) * 1e6:,.0f} us/request; "
                      f"{load}")
            if not a.skip_batch:
                n = a.batch_size
                reps = -(-n // len(docs))
                pool = (docs * (reps + 1))
                batches = [orjson.dumps({"cases": pool[k * 997 % len(docs):][:n]})
                           for k in range(4)]
                url = base + "/v1/preview/batch" + (
                    "?format=columns" if a.format == "columns" else "")
                raw = a.client == "raw"
                run_phase(url, batches[:1], 1, 0.5, 1, raw)  # warm
                load, cpu0 = _load(), _server_cpu(proc)
                lat, err, wall = run_phase(url, batches, a.batch_concurrency, a.duration, 1, raw)
                cpu = _server_cpu(proc) - cpu0
                print(f"batch ({a.format}, {a.client}): {len(lat)} requests of {n} cases in {wall:.1f} s, "
                      f"concurrency {a.batch_concurrency}: {len(lat) * n / a.duration:,.0f} "
                      f"cases/s, p50 {np.percentile(lat, 50) * 1e3:.0f} ms per request, "
                      f"body {len(batches[0]) / 1e6:.1f} MB, errors {err}; server CPU "
                      f"{cpu / (len(lat) * n) * 1e6:.1f} us/case; {load}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
