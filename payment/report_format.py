"""Tables a director can read: formatted Excel sheets and HTML tables in Chinese or English.

Number formats follow the column's display kind (:mod:`payment.labels`): yuan with thousands
separators and 2 decimals, point values with 4, fractions as percentages. Values are written
as numbers (Excel can still sum them); only their display is formatted.
"""

from __future__ import annotations

import html
import math
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .labels import Lang, column_label, kind_of, sheet_label, text

__all__ = ["EXCEL_FORMATS", "CJK_FONTS", "ChartSpec", "format_value", "html_table",
           "write_workbook"]

EXCEL_FORMATS = {
    "yuan": "#,##0.00",
    "pv": "#,##0.0000",
    "ratio": "0.0%",
    "count": "#,##0",
    "points": "#,##0.00",
    "index": "0.0000",
    "number": "#,##0.0000",
}
#: Font stack for pages with Chinese text (Windows, macOS, Linux CJK fonts, then any sans).
CJK_FONTS = ('"Microsoft YaHei","PingFang SC","Hiragino Sans GB","Noto Sans CJK SC",'
             '"Source Han Sans SC","WenQuanYi Micro Hei",system-ui,sans-serif')


def format_value(v: Any, kind: str) -> str:
    """``v`` as shown in a report: ``1,234.56`` (yuan), ``−6.0 %`` (ratio), ``117.8247`` (pv)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        x = float(v)
        if not math.isfinite(x):
            return "∞" if x > 0 else "−∞"
        if kind == "ratio":
            s = f"{x * 100:,.1f} %"
        elif kind in ("pv", "index", "number"):
            s = f"{x:,.4f}"
        elif kind == "count":
            s = f"{x:,.0f}"
        elif kind in ("yuan", "points"):
            s = f"{x:,.2f}"
        else:
            s = f"{x:g}"
        return s.replace("-", "−")
    return str(v)


def _width(s: str) -> int:
    # East Asian wide characters take two columns in Excel and in a terminal.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def html_table(df: pd.DataFrame, lang: Lang = "zh", max_rows: int = 200,
               kinds: dict[str, str] | None = None) -> str:
    """An HTML table with headers in ``lang`` and each value formatted by its column's kind;
    wrapped in a horizontally scrolling box so a wide table never runs off the page."""
    kinds = kinds or {}
    cols = list(df.columns)
    k = {c: kinds.get(c, kind_of(str(c), df[c])) for c in cols}
    head = "".join(f"<th>{html.escape(column_label(str(c), lang))}</th>" for c in cols)
    rows = []
    for rec in df.head(max_rows).itertuples(index=False):
        cells = []
        for c, v in zip(cols, rec, strict=True):
            num = k[c] not in ("text", "param")
            val = text(v, lang) if isinstance(v, str) else v
            cells.append(f'<td class="{"n" if num else "s"}">{html.escape(format_value(val, k[c]))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(df) > max_rows:
        more = (f"<p>前 {max_rows} 行，共 {len(df)} 行</p>" if lang == "zh"
                else f"<p>first {max_rows} of {len(df)} rows</p>")
    return (f'<div class="tw"><table class="t"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>" + more)


class ChartSpec:
    """A bar chart of one sheet: category column ``x``, value columns ``y``, a title."""

    def __init__(self, x: str, y: list[str], title: str, y_title: str = "",
                 anchor: str | None = None):
        self.x, self.y, self.title, self.y_title, self.anchor = x, y, title, y_title, anchor


def write_workbook(path: str | Path, tables: dict[str, pd.DataFrame], lang: Lang | None = "zh",
                   *, kinds: dict[str, dict[str, str]] | None = None,
                   charts: dict[str, ChartSpec] | None = None) -> Path:
    """One sheet per table: headers in ``lang``, number formats by kind, frozen bold header
    row, columns sized to their content, autofilter, and an optional bar chart per sheet.
    ``lang`` None keeps column and table names (a workbook for scripts)."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    kinds = kinds or {}
    charts = charts or {}
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in tables.items():
            out = df.replace([np.inf, -np.inf], np.nan)
            if lang == "zh":
                for col in ("item", "scenario"):
                    if col in out.columns:
                        out[col] = out[col].map(lambda v: text(v, lang) if isinstance(v, str) else v)
            sheet = sheet_label(name, lang) if lang else name[:31]
            headers = [column_label(str(c), lang) if lang else str(c) for c in out.columns]
            out.to_excel(xw, sheet_name=sheet, index=False, header=headers)
            ws = xw.sheets[sheet]
            ws.freeze_panes = "A2"
            if len(out):
                ws.auto_filter.ref = ws.dimensions
            tk = kinds.get(name, {})
            for i, col in enumerate(out.columns, start=1):
                letter = ws.cell(row=1, column=i).column_letter
                ws.cell(row=1, column=i).font = Font(bold=True)
                kind = tk.get(col, kind_of(str(col), out[col]))
                fmt = EXCEL_FORMATS.get(kind)
                shown = [format_value(v, kind) for v in out[col].head(200)]
                width = max([_width(headers[i - 1])] + [_width(s) for s in shown])
                ws.column_dimensions[letter].width = min(max(10, width + 2), 60)
                if fmt is not None:
                    for row in ws.iter_rows(min_row=2, max_row=len(out) + 1, min_col=i, max_col=i):
                        row[0].number_format = fmt
            spec = charts.get(name)
            if spec is not None and len(out):
                ch = BarChart()
                ch.title = spec.title
                ch.y_axis.title = spec.y_title
                ch.height, ch.width = 9, 24
                xi = list(out.columns).index(spec.x) + 1
                for y in spec.y:
                    yi = list(out.columns).index(y) + 1
                    ch.add_data(Reference(ws, min_col=yi, min_row=1, max_row=len(out) + 1),
                                titles_from_data=True)
                ch.set_categories(Reference(ws, min_col=xi, min_row=2, max_row=len(out) + 1))
                ws.add_chart(ch, spec.anchor or f"{ws.cell(row=1, column=len(out.columns) + 2).column_letter}2")
    return path
