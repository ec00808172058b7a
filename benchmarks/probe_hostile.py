"""Rerun issue 12's hostile probes against real ``drgsim`` processes; print its three figures.

1. **Bad files × commands**: every kind of bad file (``tests/bad_files.py``) through every
   command that reads cases; counted: runs whose output holds a Python traceback, and besides
   them internal errors (exit 1), crashes (a signal or another exit code) and file-level
   problems not refused with exit 2.
2. **Planted caches** (``tests/planted_caches.py``, plus a legacy ``scheme-*.pkl``): each is
   planted where the compiled-scheme cache of a fresh cache folder lives, then ``drgsim group``
   runs; counted: plants that ran code (the payload writes a marker file), and besides them
   runs that gave other groups than a clean cache, or crashed.
3. **Partial outputs after a failure or a kill**: ``drgsim group`` (to a CSV file and to a
   Parquet folder) and ``drgsim price`` are killed with SIGTERM or SIGKILL while they write a
   large input, and a run that fails on a late undecodable row is let fail; a previous output
   is in place each time. Counted: runs after which the target is not the previous output, or
   a new visible file or folder sits beside it. Hidden temporaries a SIGKILL leaves (it cannot
   be caught) are reported, and must be gone once the next run of the same command has started.

::

    python benchmarks/probe_hostile.py [--quick] [-o report.json] [--jobs 2]

``--quick`` runs a representative subset (7 kinds × 4 commands, a smaller large input);
``--kinds``, ``--commands``, ``--plants``, ``--kills`` pick by name (comma-separated). Exit
status 1 when any figure is not 0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import bad_files  # noqa: E402
import planted_caches  # noqa: E402

BOOT = "import sys; from drgsim.cli import main; sys.argv[0] = 'drgsim'; main()"
QUICK_KINDS = ("header.csv", "huge.csv", "formula.xlsx", "merged.xlsx", "garbage.csv",
               "missing.csv", "wrong.txt")
QUICK_COMMANDS = ("group", "price", "simulate", "benefits")
KILLS = ("group csv SIGTERM", "group csv SIGKILL", "group folder SIGKILL", "group fails late",
         "price SIGTERM", "price SIGKILL")


def drgsim_env(cache: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    if cache is not None:
        env["DRGSIM_CACHE"] = str(cache)
    env.setdefault("COLUMNS", "200")
    return env


def drgsim(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BOOT, *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", BOOT, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


# --- 1. bad files × commands -----------------------------------------------------------------------


def probe_files(work: Path, kinds, commands, jobs: int) -> dict:
    import grouper

    scheme = grouper.load_scheme(grouper.demo_scheme_path())
    d = work / "files"
    cases = grouper.read_cases(ROOT / "sample_cases" / "cases.csv")
    bad_files.build(d, grouper.group(cases, scheme, keep_columns=True), scheme)
    env = drgsim_env()
    pairs = [(c, k) for c in commands for k in kinds]

    def one(pair):
        command, kind = pair
        r = drgsim(bad_files.argv(command, d / kind, d, scheme.path), env)
        text = r.stdout + r.stderr
        return {"command": command, "file": kind, "exit": r.returncode,
                "traceback": "Traceback" in text,
                "file_level_not_refused": bad_files.KINDS[kind].file_level and r.returncode != 2,
                "first_line": next((ln for ln in text.splitlines() if ln.strip()), "")[:300]}

    with ThreadPoolExecutor(jobs) as pool:
        runs = list(pool.map(one, pairs))
    tb = sum(r["traceback"] for r in runs)
    internal, crashes = sum(r["exit"] == 1 for r in runs), sum(r["exit"] not in (0, 1, 2) for r in runs)
    loose = sum(r["file_level_not_refused"] for r in runs)
    return {"figure": ("bad files × commands runs with tracebacks", tb),
            "summary": f"bad files × commands: {len(runs)} runs ({len(kinds)} kinds × "
                       f"{len(commands)} commands), {tb} with a traceback; {internal} internal "
                       f"errors, {crashes} crashes, {loose} file-level problems not refused with exit 2",
            "problems": [f"{r['command']} {r['file']}: exit {r['exit']}: {r['first_line']}"
                         for r in runs if r["traceback"] or r["exit"] not in (0, 2)
                         or r["file_level_not_refused"]],
            "runs": runs}


# --- 2. planted caches -----------------------------------------------------------------------------


def _small_input(work: Path, rows: int) -> Path:
    import pandas as pd

    p = work / "small.csv"
    if not p.exists():
        pd.read_csv(ROOT / "sample_cases" / "cases.csv", dtype=str, keep_default_na=False) \
            .head(rows).to_csv(p, index=False)
    return p


def probe_caches(work: Path, plants, jobs: int) -> dict:
    small = _small_input(work, 2000)
    base = work / "caches"
    clean = base / "clean"
    group = ["group", str(small), "-s", "demo", "-q"]
    r = drgsim([*group, "-o", str(base / "truth.csv")], drgsim_env(clean))
    if r.returncode != 0:
        raise SystemExit(f"clean run failed: {r.stderr}")
    truth = (base / "truth.csv").read_bytes()
    good = sorted(clean.glob("scheme-*.npz"))
    if len(good) != 1:
        raise SystemExit(f"expected one compiled scheme in {clean}, found {good}")

    def one(name: str) -> dict:
        cache = base / name.replace(" ", "_").replace(",", "")
        cache.mkdir(parents=True, exist_ok=True)
        path = cache / good[0].name
        shutil.copyfile(good[0], path)
        marker = cache / "payload-ran"
        if name == "legacy scheme-*.pkl":  # the old format's name beside a good cache
            import pickle

            legacy = cache / f"scheme-{good[0].name.split('-')[1]}.pkl"
            legacy.write_bytes(pickle.dumps(planted_caches.Payload(marker)))
        else:
            planted_caches.PLANTS[name](path, marker)
        out = cache / "out.csv"
        r = drgsim([*group, "-o", str(out)], drgsim_env(cache))
        warned = [ln for ln in r.stderr.splitlines() if "discarded scheme cache" in ln]
        return {"plant": name, "exit": r.returncode, "ran_code": marker.exists(),
                "wrong_groups": r.returncode == 0 and out.read_bytes() != truth,
                "warning": warned[0][:300] if warned else None,
                "traceback": "Traceback" in r.stdout + r.stderr}

    with ThreadPoolExecutor(jobs) as pool:
        runs = list(pool.map(one, plants))
    ran, wrong = sum(r["ran_code"] for r in runs), sum(r["wrong_groups"] for r in runs)
    failed = sum(r["exit"] != 0 for r in runs)
    return {"figure": ("planted caches that ran code", ran),
            "summary": f"planted caches: {len(runs)}, {ran} ran code; {wrong} gave other groups, "
                       f"{failed} failed runs",
            "problems": [f"{r['plant']}: exit {r['exit']}, ran code {r['ran_code']}, wrong groups "
                         f"{r['wrong_groups']}" for r in runs
                         if r["ran_code"] or r["wrong_groups"] or r["exit"] != 0],
            "runs": runs}


# --- 3. partial outputs after a failure or a kill -----------------------------------------------


def _large_input(work: Path, copies: int) -> Path:
    """The sample cases ``copies`` times over (case ids made unique), as CSV."""
    import pandas as pd

    p = work / f"large-{copies}.csv"
    if not p.exists():
        s = pd.read_csv(ROOT / "sample_cases" / "cases.csv", dtype=str, keep_default_na=False)
        parts = [s.assign(case_id=s["case_id"] + f"-{k}") for k in range(copies)]
        pd.concat(parts, ignore_index=True).to_csv(p, index=False)
    return p


def _fingerprint(p: Path) -> str | None:
    """A hash of a file or of a folder's files (names and bytes); None when absent."""
    if not p.exists():
        return None
    h = hashlib.sha256()
    for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
        if f.is_file():
            h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _visible(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")}


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".drgsim") or ".drgsim-" in p.name)


def _writing(folder: Path, target: Path, pid: int, price: bool) -> bool:
    """The process ``pid`` has written part of its output (or, for price, its scratch)."""
    tmp = folder / f".{target.name}.drgsim-tmp-{pid}"
    if tmp.is_file() and tmp.stat().st_size > 0:
        return True
    if tmp.is_dir() and any(tmp.iterdir()):
        return True
    if price:
        for d in folder.glob(f".drgsim-price-{pid}-*"):
            if any(f.stat().st_size > 0 for f in d.rglob("*") if f.is_file()):
                return True
    return False


def probe_kills(work: Path, kills, copies: int, chunk_rows: int) -> dict:
    large = _large_input(work, copies)
    small = _small_input(work, 2000)
    env = drgsim_env()
    runs = []
    weights = None
    for name in kills:
        folder = work / "kills" / name.replace(" ", "_")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        command = name.split()[0]
        target = folder / ("out" if "folder" in name else "out.csv")
        if command == "price":
            if weights is None:
                weights = work / "weights"
                r = drgsim(["weights", str(ROOT / "sample_cases" / "cases.csv"), "-s", "demo", "-p",
                            "national_drg", "-o", str(weights), "-q"], env)
                if r.returncode != 0:
                    raise SystemExit(f"weights failed: {r.stderr}")

        def args(src: Path, command=command, target=target, weights=weights) -> list[str]:
            price = ["-w", str(weights), "-p", "national_drg"] if command == "price" else []
            return [command, str(src), "-s", "demo", *price, "-o", str(target), "-q",
                    "--chunk-rows", str(chunk_rows)]

        r = drgsim(args(small), env)  # the previous, good output
        if r.returncode != 0:
            raise SystemExit(f"{name}: previous run failed: {r.stderr}")
        before, seen = _fingerprint(target), _visible(folder)
        run = {"run": name, "caught_mid_write": None}
        if "fails late" in name:
            bad = work / "fails-late.csv"
            data = large.read_bytes()
            bad.write_bytes(data + b"x-late," + b"\xff\xfe\xfa" * 4 + b"\n")
            r = drgsim(args(bad), env)
            run.update(exit=r.returncode, error=next((ln for ln in r.stderr.splitlines()
                                                      if ln.startswith("error:")), None))
        else:
            sig = signal.SIGKILL if "SIGKILL" in name else signal.SIGTERM
            p = start(args(large), env)
            t0 = time.monotonic()
            while p.poll() is None and not _writing(folder, target, p.pid, command == "price") \
                    and time.monotonic() - t0 < 300:
                time.sleep(0.02)
            run["caught_mid_write"] = p.poll() is None
            time.sleep(0.05)  # inside the write
            run["signalled"] = p.poll() is None
            if run["signalled"]:
                p.send_signal(sig)
            try:
                p.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
            run.update(exit=p.returncode, signal=sig.name, seconds_to_kill=round(time.monotonic() - t0, 2))
        run["previous_output_kept"] = _fingerprint(target) == before
        run["new_visible"] = sorted(_visible(folder) - seen)
        run["temporaries_left"] = _hidden(folder)
        if run["temporaries_left"]:  # the next run of the same command removes them at start
            r = drgsim(args(small), env)
            run["temporaries_after_next_run"] = _hidden(folder)
        else:
            run["temporaries_after_next_run"] = []
        run["partial"] = not run["previous_output_kept"] or bool(run["new_visible"])
        runs.append(run)
    partial = sum(r["partial"] for r in runs)
    missed = sum(r["caught_mid_write"] is False for r in runs)
    left = sum(len(r["temporaries_left"]) for r in runs)
    after = sum(len(r["temporaries_after_next_run"]) for r in runs)
    return {"figure": ("partial outputs after failure or kill", partial),
            "summary": f"partial outputs after a failure or kill: {partial} of {len(runs)} runs "
                       f"({copies * 13_887:,}-row input, {missed} not caught mid-write); hidden "
                       f"temporaries left by SIGKILL {left}, after the next run {after}",
            "problems": [f"{r['run']}: previous kept {r['previous_output_kept']}, new "
                         f"{r['new_visible']}, temporaries {r['temporaries_after_next_run']}"
                         for r in runs if r["partial"] or r["temporaries_after_next_run"]],
            "runs": runs}


# --- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a representative subset")
    ap.add_argument("-o", "--output", type=Path, help="write the full report as JSON")
    ap.add_argument("--jobs", type=int, default=2, help="processes at a time (default 2)")
    ap.add_argument("--kinds", help="bad file kinds, comma-separated (see tests/bad_files.py)")
    ap.add_argument("--commands", help="commands, comma-separated")
    ap.add_argument("--plants", help="planted caches, comma-separated")
    ap.add_argument("--kills", help=f"kill runs, comma-separated: {', '.join(KILLS)}")
    ap.add_argument("--copies", type=int, help="copies of the sample cases in the large input "
                    "(default 40, --quick 8)")
    a = ap.parse_args(argv)
    pick = lambda given, full, quick: (tuple(x.strip() for x in given.split(",") if x.strip())  # noqa: E731
                                       if given is not None else quick if a.quick else full)
    kinds = pick(a.kinds, tuple(bad_files.KINDS), QUICK_KINDS)
    commands = pick(a.commands, bad_files.COMMANDS, QUICK_COMMANDS)
    plants = pick(a.plants, (*planted_caches.PLANTS, "legacy scheme-*.pkl"),
                  (*planted_caches.PLANTS, "legacy scheme-*.pkl"))
    kills = pick(a.kills, KILLS, KILLS)
    copies = a.copies or (8 if a.quick else 40)
    t0 = time.monotonic()
    report: dict = {"load_before": Path("/proc/loadavg").read_text().split()[:3]
                    if Path("/proc/loadavg").exists() else None}
    with tempfile.TemporaryDirectory(prefix="drgsim-probe-") as tmp:
        work = Path(tmp)
        steps = (("files", lambda: probe_files(work, kinds, commands, a.jobs)) if kinds and commands else None,
                 ("caches", lambda: probe_caches(work, plants, a.jobs)) if plants else None,
                 ("kills", lambda: probe_kills(work, kills, copies, max(1000, copies * 13_887 // 40)))
                 if kills else None)
        for step in filter(None, steps):
            s0 = time.monotonic()
            report[step[0]] = step[1]()
            report[step[0]]["seconds"] = round(time.monotonic() - s0, 1)
    report["seconds"] = round(time.monotonic() - t0, 1)
    report["load_after"] = Path("/proc/loadavg").read_text().split()[:3] \
        if Path("/proc/loadavg").exists() else None
    figures = {}
    for name in ("files", "caches", "kills"):
        if name in report:
            r = report[name]
            figures[r["figure"][0]] = r["figure"][1]
            print(f"{r['summary']} ({r['seconds']} s)")
            for line in r["problems"]:
                print(f"  {line}")
    report["figures"] = figures
    print(f"total {report['seconds']} s; load average {' '.join(report['load_before'] or [])} "
          f"before, {' '.join(report['load_after'] or [])} after")
    if a.output is not None:
        a.output.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return 1 if any(figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
