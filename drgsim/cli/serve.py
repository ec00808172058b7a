"""``drgsim serve``: run the payment preview service (FastAPI under uvicorn)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ._app import app


@app.command()
def serve(
    scheme: Path = typer.Option(..., "--scheme", "-s", help="grouping scheme folder or name (see `drgsim schemes`)"),
    policy: str = typer.Option(None, "--policy", "-p",
                               help="policy preset (zhejiang_drg, ...) or TOML path"),
    weights: Path = typer.Option(None, "--weights", "-w", help="weights directory (Weights.save)"),
    catalogue: Path = typer.Option(None, "--catalogue",
                                   help="DIP catalogue folder (drgsim dip build); DIP policies"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="port to listen on"),
    workers: int = typer.Option(1, "--workers", min=1,
                                help="worker processes (each loads the engine once)"),
    max_body_mb: float = typer.Option(16.0, "--max-body-mb", help="413 above this body size"),
    batch_limit: int = typer.Option(10_000, "--batch-limit", help="cases per batch request"),
) -> None:
    """Serve POST /v1/preview, /v1/preview/batch, GET /v1/health, /v1/version and /docs."""
    import uvicorn

    from drgsim.service import ServiceSettings, create_app
    from drgsim.service.engine import StartupError

    try:
        settings = ServiceSettings(scheme=scheme, policy=policy, weights=weights,
                                   catalogue=catalogue,
                                   max_body_bytes=int(max_body_mb * 1024 * 1024),
                                   batch_limit=batch_limit)
        # load once here so a bad scheme / policy / weights stops us before binding the port
        application = create_app(settings)
    except StartupError as exc:
        typer.echo(f"drgsim serve: {exc}", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:  # settings out of range
        typer.echo(f"drgsim serve: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"drgsim serve: listening on http://{host}:{port} (docs at /docs, Ctrl-C stops)",
               err=True)
    if workers == 1:
        uvicorn.run(application, host=host, port=port, log_level="warning")
        return
    # several processes: each worker builds its own app from the same settings (environment)
    for key, value in settings.model_dump().items():
        if value is not None:
            os.environ[f"DRGSIM_{key.upper()}"] = str(value)
    uvicorn.run("drgsim.service.asgi:app", host=host, port=port, workers=workers,
                log_level="warning")
