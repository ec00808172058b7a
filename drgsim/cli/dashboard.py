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
        "--benefits", help="Benefit policy (patients' layers); accepted and validated, not "
        "yet shown on the dashboard.")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1,
                                      max=65535)] = 8050,
) -> None:
    """Move budget, point-value, tier and deposit levers and see the year settle."""
    import uvicorn

    from ..dashboard import Dashboard, create_app, scenario_from_args

    try:
        if benefits is not None:
            from payment.benefit_policy import load_benefit_policy

            load_benefit_policy(benefits)
        scn = scenario_from_args(scenario, priced, policy)
        typer.echo(f"drgsim dashboard: loading {scn.name} …", err=True)
        application = create_app(Dashboard(scn))
    except (ValueError, KeyError, FileNotFoundError) as exc:
        _fail(exc)
    typer.echo(f"drgsim dashboard: open http://{host}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(application, host=host, port=port, log_level="warning")
