"""``drgsim simulate``: settle a region-year under a scenario file and write the reports.

Argument parsing, progress and a summary only; the work is done by :mod:`payment.scenario`
and :mod:`payment.report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..outputs import staged
from ._app import app
from ._app import fail as _fail

_console = Console(stderr=True)


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML: base policy + overrides, "
                                             "optional [sweep] grid and [monte_carlo].",
                                             exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("-o", "--output", "--out", help="Output folder for CSV, "
                                      "HTML and Excel reports.")] = Path("simulation"),
    lang: Annotated[str | None, typer.Option(
        "--lang", help="zh or en: labels of the report and workbook (default zh) and, when "
        "given, of the CSV headers too (default: column names, for scripts).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Budget settlement and what-if simulation for planners (sweeps, Monte Carlo, reports)."""
    from payment.report import write_report
    from payment.scenario import load_scenario

    from ..pipeline import simulate_scenario as run

    if lang not in (None, "zh", "en"):
        raise typer.BadParameter(f"{lang!r}; allowed: zh, en", param_hint="--lang")
    try:
        scn = load_scenario(scenario)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="SCENARIO") from None
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                        TimeElapsedColumn(), console=_console, disable=quiet)
    tasks: dict[str, int] = {}

    def tick(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=max(total, 1))
        progress.update(tasks[stage], completed=done, total=max(total, 1))

    with progress:
        try:
            sim = run(scn, progress=tick)
        except (ValueError, KeyError, FileNotFoundError) as exc:
            _fail(exc)
        tick("reports", 0, 1)
        with staged(out) as tmp:
            paths = write_report(sim, tmp, lang or "zh", csv_lang=lang)
        tick("reports", 1, 1)
    if not quiet:
        # Six narrow columns: the table fits an 80-column terminal.
        t = Table(title=f"{scn.name}: scenarios", title_justify="left")
        t.add_column("scenario", overflow="fold", max_width=24)
        for head in ("yuan/point", "fund balance", "paid", "surplus/over"):
            t.add_column(head, justify="right")
        t.add_column("worst", overflow="fold")
        for _, r in sim.scenarios.head(20).iterrows():
            t.add_row(str(r["scenario"]), f"{r['point_value']:,.4f}", f"{r['fund_balance']:,.0f}",
                      f"{r['paid']:,.0f}",
                      f"{int(r['hospitals_surplus'])}/{int(r['hospitals_overspend'])}",
                      str(r["largest_loss_hospital"]))
        _console.print(t)
        if sim.tiered_shift is not None:
            _console.print(_shift_table(sim.tiered_shift))
        _console.print(f"wrote {len(paths)} files to {out}/ (report.html, report.xlsx, CSVs)")


def _shift_table(shift: object) -> Table:
    """The fund's totals of a ``[tiered_shift]``: baseline, variant, difference (yuan)."""
    from payment.patient_report import shift_tables

    fund = shift_tables(shift)["tiered_shift_fund"]
    t = Table(title=f"tiered shift: {shift.moved:,} cases moved", title_justify="left")  # type: ignore[attr-defined]
    for head in ("", "baseline", "variant", "difference"):
        t.add_column(head, justify="right" if head else "left")
    for _, r in fund.iterrows():
        t.add_row(str(r["item"]), f"{r['baseline']:,.2f}", f"{r['variant']:,.2f}",
                  f"{r['diff']:,.2f}")
    return t
