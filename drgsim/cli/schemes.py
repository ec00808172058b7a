"""``drgsim schemes``: list the grouping schemes reachable by name (``--scheme NAME``).

The lookup is :func:`grouper.resolve_scheme`; this module only formats
:func:`grouper.available_schemes` as a table that fits 80 columns.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ._app import app

#: the listing never exceeds this width (the source column is shortened to fit)
WIDTH = 80
_HEAD = ("name", "MDC", "ADRG", "DRG", "version", "source")


def _count(n: int | None) -> str:
    return "?" if n is None else str(n)


def _fit(text: str, width: int) -> str:
    """``text`` shortened to ``width`` characters with a trailing ellipsis when too long."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def format_schemes(infos: list, width: int = WIDTH) -> list[str]:
    """Table lines (header first) for :class:`grouper.SchemeInfo` items, each <= ``width`` chars."""
    rows = [(i.name, _count(i.n_mdc), _count(i.n_adrg), _count(i.n_drg), i.version, i.source)
            for i in infos]
    widths = [max([len(h)] + [len(r[k]) for r in rows]) for k, h in enumerate(_HEAD[:5])]
    # a very long name or version is shortened too, so no line ever exceeds ``width``
    widths[0] = min(widths[0], 24)
    widths[4] = min(widths[4], 10)
    fixed = sum(widths) + 2 * 5
    src_w = max(width - fixed, 6)
    lines = []
    for r in (_HEAD, *rows):
        cells = [_fit(r[0], widths[0]).ljust(widths[0])]
        cells += [_fit(r[k], widths[k]).rjust(widths[k]) for k in (1, 2, 3)]
        cells.append(_fit(r[4], widths[4]).ljust(widths[4]))
        cells.append(_fit(r[5], src_w))
        lines.append("  ".join(cells).rstrip()[:width])
    return lines


@app.command("schemes")
def schemes_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON (with paths).")] = False,
) -> None:
    """List the schemes usable as ``--scheme NAME``: MDC / ADRG / DRG counts, version, source.

    Searched in order: $DRGSIM_SCHEMES, ../shared/schemes (next to the source tree and the
    working directory), then the bundled demo scheme (``demo``).
    """
    import grouper
    from grouper.catalog import schemes_dirs

    infos = grouper.available_schemes()
    if as_json:
        typer.echo(json.dumps([{
            "name": i.name, "id": i.scheme_id, "title": i.title, "version": i.version,
            "n_mdc": i.n_mdc, "n_adrg": i.n_adrg, "n_drg": i.n_drg, "source": i.source,
            "path": str(i.path)} for i in infos], ensure_ascii=False, indent=1))
        return
    for line in format_schemes(infos):
        typer.echo(line)
    dirs = schemes_dirs()
    typer.echo(_fit(f"{len(infos)} schemes; searched: "
                    + (", ".join(str(d) for d in dirs) if dirs else "(no schemes directory)")
                    + " + bundled demo", WIDTH))
