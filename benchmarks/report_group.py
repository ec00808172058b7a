"""Print the README's grouping table from a pytest-benchmark JSON file (nobody hand-edits it).

    python -m pytest benchmarks/bench_group.py --benchmark-only --benchmark-json=/tmp/g.json
    python benchmarks/report_group.py /tmp/g.json
"""

from __future__ import annotations

import json
import sys


def main(path: str) -> None:
    runs = json.load(open(path, encoding="utf-8"))["benchmarks"]
    naive = next((b for b in runs if b["name"].startswith("test_naive")), None)
    base = naive["extra_info"]["cases_per_s"] if naive else None
    print("| benchmark | cases | best time (s) | cases/s | × naive | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for b in runs:
        x = b.get("extra_info", {})
        rate = x.get("cases_per_s")
        ratio = f"{rate / base:,.0f}" if rate and base else ""
        print(f"| {b['name']} | {x.get('cases', ''):,} | {b['stats']['min']:.3f} | "
              f"{rate:,.0f} | {ratio} | {x.get('maxrss_mb', 0):,.0f} |" if rate else
              f"| {b['name']} | | {b['stats']['min']:.3f} | | | |")


if __name__ == "__main__":
    main(sys.argv[1])
