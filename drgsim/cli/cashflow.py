"""``drgsim cashflow``: the pooled fund month by month under a cash-flow scenario file.

Argument parsing, progress and a summary only; the work is done by :mod:`payment.cashflow_run`
(ledger, prepayment, what-ifs, Monte Carlo) and :mod:`payment.cashflow_report` (HTML, Excel).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..outputs import staged
from ._app import app
from ._app import fail as _fail

_console = Console(stderr=True)


@app.command()
def cashflow(
    scenario: Annotated[Path, typer.Argument(help="Cash-flow scenario TOML: a simulate scenario "
                                             "plus a [cashflow] table.", exists=True,
                                             dir_okay=False)],
    out: Annotated[Path, typer.Option("-o", "--output", "--out", help="Output folder for the "
                                      "CSV, HTML and Excel reports.")] = Path("cashflow"),
    policy: Annotated[str | None, typer.Option("-p", "--policy", help="Policy preset or TOML "
                                               "in place of the scenario's `policy`.")] = None,
    scheme: Annotated[Path | None, typer.Option("-s", "--scheme", help="Scheme folder in "
                                                "place of the scenario's `scheme`.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Report labels: zh (default) or en.")] = "zh",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary table.")] = False,
) -> None:
    """Monthly fund ledger, prepayment (预付金), months of reserve and hospitals' cash positions."""
    from payment.cashflow_report import write_cashflow_report
    from payment.cashflow_run import load_cashflow_scenario, run_cashflow
    from payment.scenario import load_base_policy

    from ..pipeline import price_scenario_cases, scenario_cases

    if lang not in ("zh", "en"):
        raise typer.BadParameter("use zh or en", param_hint="--lang")
    try:
        cs = load_cashflow_scenario(scenario)
        upd = {k: v for k, v in (("policy", policy), ("scheme", str(scheme) if scheme else None))
               if v is not None}
        if upd:
            cs = replace(cs, scenario=cs.scenario.model_copy(update=upd))
    except ValueError as exc:
        _fail(exc)
    if not quiet:
        _console.print(f"{cs.scenario.name}: pricing, settling and laying out the months …")
    try:
        pol = load_base_policy(cs.scenario)
        # the cases are read once, by the one reader, for the prices and the funds' history
        raw = scenario_cases(cs.scenario)
        res = run_cashflow(cs, priced=price_scenario_cases(cs.scenario, pol, raw), raw=raw,
                           policy=pol)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        _fail(exc)
    try:
        with staged(out) as tmp:
            paths = write_cashflow_report(res, tmp, cs.scenario.name, lang,
                                          cs.cashflow.reserve_alert_months)
    except (ValueError, OSError) as exc:
        _fail(exc)
    if quiet:
        return
    t = Table(title=f"{cs.scenario.name}: lowest months of reserve")
    for c in ("scenario", "fund", "prepayment", "lowest_months_of_reserve", "lowest_month",
              "low_reserve_months"):
        t.add_column(c, justify="left" if c in ("scenario", "fund", "lowest_month") else "right")
    for _, r in res.whatifs.iterrows():
        t.add_row(str(r["scenario"]), str(r["fund"]), f"{r['prepayment']:,.2f}",
                  f"{r['lowest_months_of_reserve']:.2f}", str(r["lowest_month"]),
                  str(r["low_reserve_months"]))
    _console.print(t)
    if len(res.mc_percentiles):
        for _, r in res.mc_percentiles.iterrows():
            pcs = ", ".join(f"{c} {r[c]:.2f}" for c in res.mc_percentiles.columns
                            if c.startswith("p") and c[1:2].isdigit())
            _console.print(f"Monte Carlo {r['fund']}: lowest months of reserve {pcs}; "
                           f"{r['share_below_alert']:.0%} of draws below the alert")
    _console.print(f"wrote {len(paths)} files to {out}/ (cashflow.html, cashflow.xlsx, CSVs)")
