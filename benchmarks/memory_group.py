"""Peak memory of grouping N cases (issue 2 target: <= 300 MB per million cases).

Writes N replicated conformance (or sample) cases to a Parquet file, then in a fresh process
reads it as an Arrow table, groups it, and reports the peak resident memory above the level
reached after reading the input (the input itself is not counted)::

    python benchmarks/memory_group.py 1000000
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(path: str) -> None:
    import psutil
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT / "tests"))
    from shared_data import shared_dir

    import grouper

    sh = shared_dir()
    scheme = grouper.load_scheme(sh / "schemes" / "chs-drg-1.1" if sh else grouper.demo_scheme_path())
    grouper.group(pq.read_table(path).slice(0, 1000), scheme)  # compile + warm up
    tbl = pq.read_table(path)
    base = psutil.Process().memory_info().rss
    # ru_maxrss is a high-water mark: reset is impossible, so measure from a fresh peak tracker
    before_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = grouper.group(tbl, scheme)
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, before_peak)
    n = len(out)
    print(f"cases {n:,}; rss after reading input {base / 2**20:,.0f} MB; peak {peak / 2**20:,.0f} MB; "
          f"peak above input {(peak - base) / 2**20:,.0f} MB = {(peak - base) / 2**20 / (n / 1e6):,.0f} MB per million")


def main(n: int) -> None:
    import pandas as pd

    sys.path.insert(0, str(ROOT / "tests"))
    from shared_data import read_corpus, shared_dir

    sh = shared_dir()
    src = sh / "schemes" / "chs-drg-1.1" / "conformance" / "cases.csv" if sh else ROOT / "sample_cases" / "cases.csv"
    base = read_corpus(src)
    big = pd.concat([base] * (-(-n // len(base))), ignore_index=True).iloc[:n]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "cases.parquet"
        big.to_parquet(p, index=False)
        del big
        subprocess.run([sys.executable, __file__, "--child", str(p)], check=True)


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        main(int(sys.argv[1]))
