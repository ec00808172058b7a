"""The one Typer application every command module registers on."""

import typer

app = typer.Typer(
    name="drgsim",
    help="DRG/DIP grouping and payment simulator (CHS-DRG, DIP, budget settlement).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
