"""``drgsim dashboard``: the planner's dashboard in the browser (FastAPI under uvicorn).

Argument parsing only; the model is :mod:`drgsim.dashboard.state`, the app
:mod:`drgsim.dashboard.app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app
from ._app import fail as _fail


@app.command()
def dashboard(
    scenario: Annotated[Path | None, typer.Option(
        "--scenario", help="Scenario TOML (raw `cases` or `priced_cases`); default: the demo "
        "region (sample_cases/scenario_demo.toml).", dir_okay=False)] = None,
    priced: Annotated[Path | None, typer.Option(
        "--priced", help="Priced cases (csv/parquet/xlsx) instead of a scenario; pricing "
        "levers are then unavailable.", dir_okay=False)] = None,
    policy: Annotated[str | None, typer.Option(
        "-p", "--policy", help="Policy preset or TOML path (replaces the scenario's).")] = None,
    benefits: Annotated[str | None, typer.Option(
        "--benefits", help="Benefit policy for the patients' layers (preset or TOML; default "
        "benefits_example).")] = None,
    benefit_cases: Annotated[Path | None, typer.Option(
        "--benefit-cases", help="Patient-side inputs (§9 columns: insurance, category, "
        "self_pay …); the demo region uses sample_cases/benefits.csv.",
        dir_okay=False)] = None,
    cashflow: Annotated[Path | None, typer.Option(
        "--cashflow", help="Cash-flow scenario TOML (a [cashflow] table, as `drgsim cashflow` "
        "reads) for the fund-by-month view; the demo region uses "
        "sample_cases/cashflow_demo.toml.", dir_okay=False)] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1,
                                      max=65535)] = 8050,
) -> None:
    """Move budget, point-value, tier and deposit levers and see the year settle."""
    import uvicorn

    from ..dashboard import Dashboard, create_app, scenario_from_args

    try:
        from ..dashboard.cashflow import load_cashflow_view
        from ..dashboard.patients import load_patients

        scn = scenario_from_args(scenario, priced, policy)
        patients, note = load_patients(benefits, benefit_cases,
                                       demo=scenario is None and priced is None)
        typer.echo(f"drgsim dashboard: loading {scn.name} …", err=True)
        cash, cash_note = load_cashflow_view(cashflow, demo=scenario is None and priced is None)
        application = create_app(Dashboard(scn, patients=patients, patients_note=note,
                                           cashflow=cash, cashflow_note=cash_note))
    except (ValueError, KeyError, FileNotFoundError) as exc:
        _fail(exc)
    typer.echo(f"drgsim dashboard: open http://{host}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(application, host=host, port=port, log_level="warning")
