"""The one Typer application every command module registers on, and its one error boundary.

Every command registered through :data:`app` (and any sub-application made with :class:`App`)
runs inside :func:`guarded`: a user's mistake (a bad file, a bad policy, a missing path) exits 2
with one line; anything else is an internal error that exits 1 with one line and the path of a
log holding the trace. ``drgsim --debug …`` (or ``DRGSIM_DEBUG=1``) shows the trace instead.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import tempfile
import traceback
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.exceptions
from rich.console import Console

import grouper
import payment

from ..outputs import OutputError, handle_termination

_err = Console(stderr=True)

#: exceptions that describe the user's input, not a fault of drgsim: one line, exit 2
USER_ERRORS: tuple[type[BaseException], ...] = (
    grouper.DrgsimError,
    payment.PolicyError,
    OutputError,
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
    UnicodeDecodeError,
)


_state = {"debug": False}

# exits and usage errors (typer vendors its own click; its usage errors are TyperExceptions)
_PASS_THROUGH = (typer.Exit, typer.Abort, typer.exceptions.TyperException, SystemExit)


def _debug() -> bool:
    return _state["debug"] or os.environ.get("DRGSIM_DEBUG", "") not in ("", "0")


def describe(exc: BaseException) -> str:
    """One line for a user error (an OS error as ``path: reason``), no Python repr."""
    if isinstance(exc, OSError) and exc.filename is not None:
        # "[Errno 2] No such file or directory: 'x'" reads as a Python trace; say it plainly
        return f"{exc.filename}: {exc.strerror or type(exc).__name__}"
    return str(exc) or type(exc).__name__


def fail(exc: BaseException) -> None:
    """Show a user error as one line and exit 2 (for commands that catch their own errors)."""
    if _debug():
        raise exc
    _err.print(f"[red]error:[/red] {describe(exc)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=2)


def log_internal_error(exc: BaseException) -> Path:
    """Write ``exc``'s trace to a fresh log file under the temporary directory; return its path."""
    folder = Path(tempfile.gettempdir()) / "drgsim-logs"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"drgsim-{stamp}-{os.getpid()}.log"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def _show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
    text = str(message)
    if issubclass(category, grouper.CaseValueWarning) or text.startswith("drgsim: "):
        # drgsim's own warnings (cells read as missing, a discarded scheme cache): one plain line
        _err.print(f"[yellow]warning:[/yellow] {text.removeprefix('drgsim: ')}", soft_wrap=True,
                   highlight=False, markup=True)
    else:
        _err.print(warnings.formatwarning(message, category, filename, lineno, line).rstrip(),
                   soft_wrap=True, highlight=False, markup=False)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command so that no Python traceback reaches the user (unless ``--debug``)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                # cells read as missing: one plain line each (every chunk's), no source line
                warnings.simplefilter("always", grouper.CaseValueWarning)
                warnings.showwarning = _show_warning
                return fn(*args, **kwargs)
        except _PASS_THROUGH:
            raise  # exits and usage errors, which typer/click print themselves
        except KeyboardInterrupt:
            _err.print("interrupted", soft_wrap=True)
            raise typer.Exit(code=130) from None
        except USER_ERRORS as exc:
            if _debug():
                raise
            _err.print(f"[red]error:[/red] {describe(exc)}", soft_wrap=True, markup=True,
                       highlight=False)
            raise typer.Exit(code=2) from None
        except Exception as exc:  # noqa: BLE001 - the boundary: one line and a log, exit 1
            if _debug():
                raise
            log = log_internal_error(exc)
            _err.print(f"[red]internal error:[/red] {type(exc).__name__}: {exc} "
                       f"(trace in {log}; rerun with --debug to see it)", soft_wrap=True,
                       highlight=False)
            raise typer.Exit(code=1) from None

    return run


class App(typer.Typer):
    """A Typer application whose commands all run inside :func:`guarded`."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
        register = super().command(*args, **kwargs)

        def decorator(fn: Callable[..., Any]) -> Any:
            register(guarded(fn))
            return fn

        return decorator


def version() -> str:
    """The installed drgsim version."""
    try:
        return metadata.version("drgsim")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "unknown"


app = App(
    name="drgsim",
    help="DRG/DIP grouping and payment simulator (CHS-DRG, DIP, budget settlement).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"drgsim {version()}")
        raise typer.Exit()


#: Commands that run no numba kernel: no word about compiling for them.
_NO_KERNELS = {"schemes", "compare"}


def kernels_cached() -> bool:
    """Whether numba's on-disk cache holds compiled grouping and pricing kernels (a fresh
    install has none: its first run compiles for 30–60 s). Unknown cache layouts count as
    cached."""
    if os.environ.get("NUMBA_CACHE_DIR") or os.environ.get("DRGSIM_NUMBA_CACHE", "1") == "0":
        return True
    for pkg in (grouper, payment):
        root = Path(pkg.__file__).parent
        if not any((root / "__pycache__").glob("_kernels.*.nbi")):
            return False
    return True


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python traces of errors.")] = False,
    show_version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """DRG/DIP grouping and payment simulator (CHS-DRG, DIP, budget settlement)."""
    _state["debug"] = debug
    if ctx.invoked_subcommand not in _NO_KERNELS and not ctx.resilient_parsing \
            and not kernels_cached():
        _err.print("[dim]compiling kernels (first run only, about 30–60 s) …[/dim]")
    handle_termination()  # SIGTERM / SIGHUP unwind like Ctrl-C: no half-written output stays
