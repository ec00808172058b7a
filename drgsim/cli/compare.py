"""``drgsim compare``: two settlement runs side by side (terminal, Excel, HTML, CSV).

Argument parsing, reading and writing only; the comparison is :func:`payment.comparison.compare_runs`.
A run is a ``drgsim simulate`` output folder, or a scenario TOML that is run first.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..outputs import staged
from ._app import app
from ._app import fail as _fail

_out = Console()


def _load(path: Path):
    from payment.comparison import RunTables, read_run
    from payment.scenario import load_scenario

    from ..pipeline import simulate_scenario

    if path.is_dir():
        return read_run(path)
    if path.suffix == ".toml":
        sim = simulate_scenario(load_scenario(path))
        return RunTables(sim.scenario.name, sim.scenarios, sim.baseline.statement)
    raise FileNotFoundError(f"{path}: give a `drgsim simulate` output folder or a scenario .toml")


def _metric_kind(metric: str) -> str:
    return "pv" if metric == "point_value" else "count" if metric.startswith("hospitals") else "yuan"


def _formatted_summary(cmp, lang: str):
    """The headline table as display strings, each row in its own unit."""
    from payment.labels import column_label
    from payment.report_format import format_value

    rows = [{"metric": column_label(r.metric, lang),
             **{c: format_value(getattr(r, c), _metric_kind(r.metric)) for c in ("a", "b", "diff")},
             "diff_pct": format_value(r.diff_pct, "ratio")}
            for r in cmp.summary.itertuples(index=False)]
    import pandas as pd

    return pd.DataFrame(rows)


def _page(cmp, lang: str) -> str:
    from payment.report_format import CJK_FONTS, html_table

    zh = lang == "zh"
    summary = _formatted_summary(cmp, lang)
    head = "方案对比" if zh else "Comparison"
    a_b = f"A = {html.escape(cmp.a)}, B = {html.escape(cmp.b)}"
    note = "差额 = B − A，变化率 = (B − A) ÷ |A|" if zh else "difference = B − A, change = (B − A) ÷ |A|"
    return f"""<!DOCTYPE html><html lang="{'zh-CN' if zh else 'en'}"><head><meta charset="utf-8">
<title>drgsim: {head}</title><style>body{{font-family:{CJK_FONTS};margin:2em}}
.tw{{overflow-x:auto}} table.t{{border-collapse:collapse;font-size:13px}}
table.t td,table.t th{{padding:3px 8px;border-bottom:1px solid #ddd;white-space:nowrap}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}}</style></head><body>
<h1>{head}</h1><p>{a_b}. {note}</p>
<h2>{'总体对比' if zh else 'Headline figures'}</h2>{html_table(summary, lang, kinds=dict.fromkeys(('a', 'b', 'diff', 'diff_pct'), 'shown'))}
<h2>{'医院对比' if zh else 'Hospitals'}</h2>{html_table(cmp.hospitals, lang, max_rows=10_000)}
</body></html>"""


@app.command("compare")
def compare_cmd(
    run_a: Annotated[Path, typer.Argument(help="Run A: a `drgsim simulate` output folder or a "
                                          "scenario TOML.", exists=True)],
    run_b: Annotated[Path, typer.Argument(help="Run B (same kinds).", exists=True)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Folder for "
                      "comparison.xlsx, comparison.html, summary.csv and hospitals.csv.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en: labels of the workbook, "
                                      "page and terminal.")] = "zh",
    top: Annotated[int, typer.Option("--top", help="Hospitals shown in the terminal (largest "
                                     "changes first).", min=0)] = 10,
) -> None:
    """Compare two runs: point value, fund balance and each hospital's final amount, B − A."""
    from payment.comparison import compare_runs
    from payment.labels import column_label
    from payment.report_format import format_value, write_workbook

    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"{lang!r}; allowed: zh, en", param_hint="--lang")
    try:
        cmp = compare_runs(_load(run_a), _load(run_b))
    except (ValueError, KeyError) as exc:
        _fail(exc)
    t = Table(title=f"A = {cmp.a}   B = {cmp.b}", title_justify="left")
    for h in ("", "A", "B", "B − A", "%"):
        t.add_column(h, justify="left" if h == "" else "right")
    for r in cmp.summary.itertuples(index=False):
        k = _metric_kind(r.metric)
        t.add_row(column_label(r.metric, lang), format_value(r.a, k), format_value(r.b, k),
                  format_value(r.diff, k), format_value(r.diff_pct, "ratio"))
    _out.print(t)
    h = cmp.hospitals.reindex(cmp.hospitals["final_amount_diff"].abs()
                              .sort_values(ascending=False, na_position="first").index)
    if top:
        th = Table(title=column_label("final_amount", lang) + " (B − A)", title_justify="left")
        th.add_column(column_label("hospital_id", lang))
        for head in ("A", "B", "B − A"):
            th.add_column(head, justify="right")
        for r in h.head(top).itertuples(index=False):
            th.add_row(str(r.hospital_id), format_value(r.final_amount_a, "yuan"),
                       format_value(r.final_amount_b, "yuan"),
                       format_value(r.final_amount_diff, "yuan"))
        _out.print(th)
    if output is not None:
        # Numbers stay numbers in the workbook: 4 decimals, the point value needs them.
        kinds = {"summary": {"a": "number", "b": "number", "diff": "number"}}
        with staged(output) as tmp:
            tmp.mkdir(parents=True, exist_ok=True)
            cmp.summary.to_csv(tmp / "summary.csv", index=False)
            cmp.hospitals.to_csv(tmp / "hospitals.csv", index=False)
            summary = cmp.summary.assign(metric=[column_label(m, lang) for m in cmp.summary["metric"]])
            write_workbook(tmp / "comparison.xlsx", {"summary": summary, "hospitals": cmp.hospitals},
                           lang, kinds=kinds)  # type: ignore[arg-type]
            (tmp / "comparison.html").write_text(_page(cmp, lang), encoding="utf-8")
        _out.print(f"wrote {output}/ (comparison.xlsx, comparison.html, summary.csv, hospitals.csv)")
