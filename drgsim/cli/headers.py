"""Output headers in Chinese or English (``--lang``) for ``group``, ``price``, ``weights`` and
``dip group``, and reading such outputs back.

Headers come from the declarations: :mod:`grouper.schema` (cases, read status, grouped and DIP
grouped columns) and :mod:`payment.columns` (priced columns) for Chinese, then
:mod:`payment.labels` (English labels, and Chinese for the other payment tables). A column no
declaration names keeps its own name. As in ``drgsim simulate``: without ``--lang`` an Excel
output gets Chinese headers (for people), and so does any output of an input with Chinese
headers (a settlement-list export); otherwise CSV and Parquet keep the column names (scripts);
with ``--lang`` every output gets that language. A table drgsim wrote with either language is
read back by :func:`read_output` (the headers are mapped to the column names first).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import typer

from ..output_headers import header, reverse_headers

LANG_HELP = ("zh or en: output headers (default: Chinese in .xlsx and when the input has "
             "Chinese headers, else column names in .csv / .parquet, for scripts).")


def check_lang(lang: str | None) -> None:
    """``typer.BadParameter`` for anything but None, zh, en."""
    if lang not in (None, "zh", "en"):
        raise typer.BadParameter(f"{lang!r}; allowed: zh, en", param_hint="--lang")


def effective_lang(lang: str | None, output: str | Path, input: str | Path | None = None
                   ) -> str | None:
    """The language of ``output``'s headers: ``lang``, else zh for .xlsx or when ``input`` has
    Chinese headers (a hospital's export gets its answer in its own language), else None
    (column names, for scripts)."""
    if lang is not None:
        return lang
    if Path(output).suffix.lower() == ".xlsx":
        return "zh"
    if input is not None:
        from grouper import has_chinese_headers

        if has_chinese_headers(input):
            return "zh"
    return None


def labelled(df: pd.DataFrame, lang: str | None) -> pd.DataFrame:
    """``df`` with headers in ``lang`` (None: unchanged); two columns never share a header."""
    if lang is None:
        return df
    heads: list[str] = []
    for c in df.columns:
        h = header(str(c), lang)
        heads.append(h if h not in heads else f"{h} ({c})")
    return df.set_axis(heads, axis=1)


def excel_kind(col: str) -> str:
    """Display kind of a declared output column in a workbook (:data:`payment.report_format.
    EXCEL_FORMATS`): yuan and points with thousands separators and 2 decimals, other decimals
    (ratios to a mean, coefficients, scores) with 4; codes, ids, days and text as they are."""
    from grouper.schema import KNOWN_COLUMNS
    from payment.columns import PRICED_BY_NAME

    spec = PRICED_BY_NAME.get(col) or KNOWN_COLUMNS.get(col)
    if spec is None:
        return "text"
    if spec.unit in ("yuan", "points"):
        return spec.unit
    return "index" if spec.kind == "float" and not spec.unit else "text"


def write_output(df: pd.DataFrame, output: str | Path, lang: str | None) -> None:
    """Write a case-level table by extension with ``lang`` headers (:func:`labelled`); an .xlsx
    gets number formats per column (:func:`excel_kind`), a frozen bold header row and sized
    columns. Atomic, like :func:`drgsim.outputs.write_table`."""
    from ..outputs import staged, write_table

    out = labelled(df, lang)
    if Path(output).suffix.lower() != ".xlsx":
        write_table(out, output)
        return
    from payment.report_format import write_workbook

    kinds = {h: excel_kind(str(c)) for c, h in zip(df.columns, out.columns, strict=True)}
    sheet = "病例" if lang == "zh" else "cases"
    with staged(output) as tmp:
        write_workbook(tmp, {sheet: out}, None, kinds={sheet: kinds})


def read_output(path: str | Path, *, required: tuple[str, ...] = (),
                kinds: Mapping | None = None) -> pd.DataFrame:
    """:func:`grouper.read_table` that also reads headers drgsim wrote with ``--lang``."""
    from grouper.cases import canonicalise, read_raw

    raw = read_raw(path)
    rev = reverse_headers()
    ren = {c: rev[str(c).strip()] for c in raw.columns if str(c).strip() in rev
           and rev[str(c).strip()] not in raw.columns}
    return canonicalise(raw.rename(columns=ren), str(path), required=required, kinds=kinds)
