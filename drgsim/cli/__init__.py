"""``drgsim`` console script.

Each command lives in its own module that registers on :data:`app`; this file only imports
them. The CLI parses arguments and calls library functions: no rule logic here.
"""

from importlib import import_module

from ._app import app

# One module per command family; importing registers its commands on ``app``.
_COMMAND_MODULES = (
    "analyse",
    "benefits",
    "cashflow",
    "compare",
    "dashboard",
    "dip",
    "group",
    "payment",
    "schemes",
    "simulate",
    "supervise",
    "serve",
)

for _name in _COMMAND_MODULES:
    import_module(f"{__name__}.{_name}")


def main() -> None:
    """Entry point of the ``drgsim`` console script."""
    app()
