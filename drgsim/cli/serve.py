"""``drgsim serve``: run the payment preview service (FastAPI under uvicorn)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import typer

from ._app import app


@app.command()
def serve(
    scheme: Path = typer.Option(..., "--scheme", "-s", help="grouping scheme folder or name (see `drgsim schemes`)"),
    policy: str = typer.Option(None, "--policy", "-p",
                               help="policy preset (zhejiang_drg, ...) or TOML path"),
    weights: Path = typer.Option(None, "--weights", "-w",
                                 help="weights directory (Weights.save) or a published table "
                                      "(.csv / .xlsx) with --point-value"),
    coefficient: float = typer.Option(None, "--coefficient",
                                      help="published table: the hospital's coefficient"),
    hospital: list[str] = typer.Option([], "--hospital",
                                       help="published table: hospital id the coefficient is "
                                            "for (repeatable)"),
    point_value: float = typer.Option(None, "--point-value",
                                      help="published table: the point value, yuan per point"),
    catalogue: Path = typer.Option(None, "--catalogue",
                                   help="DIP catalogue folder (drgsim dip build); DIP policies"),
    benefits: Path = typer.Option(None, "--benefits",
                                  help="benefit policy TOML (§9): the answer gives the "
                                       "patient's share across the insurance layers"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="port to listen on"),
    workers: int = typer.Option(1, "--workers", min=1,
                                help="worker processes (each loads the engine once)"),
    api_key_file: Path = typer.Option(None, "--api-key-file",
                                      help="file holding the API key (or env DRGSIM_API_KEY); "
                                           "required unless --host is loopback"),
    cors_origin: list[str] = typer.Option([], "--cors-origin",
                                          help="browser origin allowed to call (repeatable)"),
    max_body_mb: float = typer.Option(16.0, "--max-body-mb", help="413 above this body size"),
    batch_limit: int = typer.Option(10_000, "--batch-limit", help="cases per batch request"),
    explain_limit: int = typer.Option(200, "--explain-limit",
                                      help="cases per request with explain=true"),
    read_timeout: float = typer.Option(30.0, "--read-timeout",
                                       help="seconds to receive a request's head (then the "
                                            "connection is closed) and its body (408 after)"),
    keepalive_timeout: float = typer.Option(5.0, "--keepalive-timeout",
                                            help="seconds an idle connection stays open"),
) -> None:
    """Serve POST /v1/preview, /v1/preview/batch, GET /v1/health, /v1/version and /docs."""
    try:
        import uvicorn
    except ImportError:
        typer.echo("drgsim serve: the service needs its extra: pip install 'drgsim[service]'",
                   err=True)
        raise typer.Exit(2) from None

    from drgsim.service import ServiceSettings, create_app
    from drgsim.service.engine import StartupError

    try:
        if not (math.isfinite(max_body_mb) and 0 < max_body_mb <= 1024 * 1024):
            raise ValueError(f"--max-body-mb must be a positive number of MB, got {max_body_mb}")
        extra = {}
        if api_key_file is not None:
            extra["api_key"] = api_key_file.read_text(encoding="utf-8").strip()
        settings = ServiceSettings(scheme=scheme, policy=policy, weights=weights,
                                   coefficient=coefficient, hospitals=hospital,
                                   point_value=point_value, catalogue=catalogue,
                                   benefits=benefits, host=host, port=port,
                                   cors_origins=cors_origin,
                                   max_body_bytes=int(max_body_mb * 1024 * 1024),
                                   batch_limit=batch_limit, explain_limit=explain_limit,
                                   read_timeout_s=read_timeout,
                                   keepalive_timeout_s=keepalive_timeout, **extra)
        # load once here so a bad scheme / policy / weights stops us before binding the port
        application = create_app(settings)
    except StartupError as exc:
        typer.echo(f"drgsim serve: {exc}", err=True)
        raise typer.Exit(2) from None
    except (ValueError, OSError) as exc:  # settings out of range, unreadable key file
        typer.echo(f"drgsim serve: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(2) from None
    auth = "API key required" if settings.api_key is not None else "no API key (loopback)"
    typer.echo(f"drgsim serve: listening on http://{host}:{port} ({auth}; docs at /docs, "
               "Ctrl-C stops)", err=True)
    from drgsim.service.server import uvicorn_options

    opts = uvicorn_options(settings)  # keep-alive and request-head timeouts
    if workers == 1:
        uvicorn.run(application, **opts)
        return
    # several processes: each worker builds its own app from the same settings (environment)
    for key, value in settings.model_dump(mode="json").items():
        if key == "api_key" and settings.api_key is not None:
            os.environ["DRGSIM_API_KEY"] = settings.api_key.get_secret_value()
        elif isinstance(value, list):
            os.environ[f"DRGSIM_{key.upper()}"] = json.dumps(value)
        elif value is not None:
            os.environ[f"DRGSIM_{key.upper()}"] = str(value)
    uvicorn.run("drgsim.service.asgi:app", workers=workers, **opts)
