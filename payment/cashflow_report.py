"""Reports of a cash-flow run: CSV tables, a self-contained HTML page, an Excel workbook.

Chinese labels by default (``lang="zh"``; ``"en"`` keeps the column names). The HTML embeds
plotly.js once, inline, so it opens with no network; every charted number is a column of a
table in the page and in the workbook (monthly ledger, months of reserve, cash positions).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .cashflow import CashflowResult
from .labels import SHEETS, scoped, scoped_kinds

__all__ = ["HEADERS_ZH", "cashflow_tables", "write_cashflow_excel", "write_cashflow_html",
           "write_cashflow_report"]

#: Chinese column headers and sheet names: payment.labels (keys "cashflow.<name>")
HEADERS_ZH = scoped("cashflow", "zh")
_YUAN = {c for c, k in scoped_kinds("cashflow").items() if k == "yuan"}


def _sheet(name: str, lang: str) -> str:
    """Sheet / section title (untruncated): Chinese from labels.SHEETS, else the table name."""
    return SHEETS.get("cashflow." + name, (name, name))[0] if lang == "zh" else name


_T = {
    "zh": {"balance": "期末余额(元)", "mor": "可支付月数", "alert": "预警线",
           "fund_title": "基金 {f}: 月度期末余额与可支付月数", "cash_title":
           "基金 {f}: 医院资金头寸(累计到账 − 累计应得, 元)", "mc_title":
           "蒙特卡洛: 最低可支付月数分布", "h1": "基金月度现金流", "money":
           "金额单位: 元, 精确到分(四舍五入一次); 每月 期末 = 期初 + 收入 − 支出。"},
    "en": {"balance": "closing balance (yuan)", "mor": "months of reserve", "alert": "alert",
           "fund_title": "Fund {f}: closing balance and months of reserve by month",
           "cash_title": "Fund {f}: hospitals' cash position (cumulative received − "
           "entitlement, yuan)", "mc_title": "Monte Carlo: lowest months of reserve",
           "h1": "Fund cash flow by month", "money": "Yuan to the cent, each amount rounded "
           "half-up once; every month closing = opening + income − outflows."},
}


def cashflow_tables(res: CashflowResult, lang: str = "en") -> dict[str, pd.DataFrame]:
    """The run's tables by name (English column names, yuan; reasons in ``lang``)."""
    t = {"summary": res.summary(lang), "ledger": res.table("ledger"),
         "accounts": res.table("accounts"), "cash": res.table("cash"),
         "alerts": res.table("alerts")}
    if len(res.whatifs):
        t["whatifs"] = res.whatifs
    if len(res.mc_percentiles):
        t["mc_percentiles"] = res.mc_percentiles
        t["mc_draws"] = res.mc_draws
    return t


def _label(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    return df.rename(columns=HEADERS_ZH) if lang == "zh" else df


def write_cashflow_excel(path: Path, res: CashflowResult, lang: str = "zh") -> Path:
    """One sheet per table: Chinese headers, yuan as #,##0.00, header row frozen."""
    from openpyxl.styles import Font

    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in cashflow_tables(res, lang).items():
            sheet = _sheet(name, lang)[:31]
            out = _label(df.replace([np.inf, -np.inf], np.nan), lang)
            out.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            ws.freeze_panes = "A2"
            for i, col in enumerate(df.columns, start=1):
                letter = ws.cell(row=1, column=i).column_letter
                ws.cell(row=1, column=i).font = Font(bold=True)
                fmt = ("#,##0.00" if col in _YUAN else "0.00" if col in (
                    "months_of_reserve", "lowest_months_of_reserve", "mean") or col.startswith(
                    "p") and col[1:2].isdigit() else "0.0%" if col in (
                    "income_growth", "spending_growth", "share_below_alert") else None)
                if fmt:
                    for cell in ws[letter][1:]:
                        cell.number_format = fmt
                width = max([len(str(out.columns[i - 1])) * 2]
                            + [len(str(v)) for v in df[col].head(200)])
                ws.column_dimensions[letter].width = min(max(10, width + 2), 50)
    return path


def _figures(res: CashflowResult, lang: str, alert: float) -> list[go.Figure]:
    tx = _T[lang]
    figs = []
    for fid, fl in res.funds.items():
        led = fl.ledger
        f = make_subplots(specs=[[{"secondary_y": True}]])
        f.add_trace(go.Bar(x=led["month"], y=led["closing"], name=tx["balance"],
                           marker_color="#457b9d"), secondary_y=False)
        f.add_trace(go.Scatter(x=led["month"], y=led["months_of_reserve"], name=tx["mor"],
                               mode="lines+markers", line={"color": "#e76f51"}),
                    secondary_y=True)
        f.add_trace(go.Scatter(x=led["month"], y=[alert] * len(led), name=tx["alert"],
                               mode="lines", line={"dash": "dash", "color": "#9d0208"}),
                    secondary_y=True)
        f.update_layout(title=tx["fund_title"].format(f=fid))
        f.update_yaxes(title_text=tx["balance"], secondary_y=False)
        f.update_yaxes(title_text=tx["mor"], secondary_y=True)
        figs.append(f)
        cash = fl.cash
        f = go.Figure([go.Scatter(x=g["month"], y=g["position"], name=str(h), mode="lines")
                       for h, g in cash.groupby("hospital_id", sort=True)])
        f.update_layout(title=tx["cash_title"].format(f=fid))
        figs.append(f)
    if len(res.mc_draws):
        f = go.Figure([go.Histogram(x=g["lowest_months_of_reserve"], name=str(fid),
                                    opacity=0.7, nbinsx=40)
                       for fid, g in res.mc_draws.groupby("fund", sort=False)])
        f.update_layout(barmode="overlay", title=tx["mc_title"], xaxis_title=tx["mor"])
        figs.append(f)
    return figs


def _table_html(df: pd.DataFrame, lang: str, max_rows: int = 300) -> str:
    fmt = {c: "{:,.2f}".format for c in df.columns if pd.api.types.is_float_dtype(df[c])}
    more = f"<p>{max_rows} / {len(df)}</p>" if len(df) > max_rows else ""
    out = df.head(max_rows).to_html(index=False, formatters=fmt, border=0, classes="t",
                                    na_rep="")
    if lang == "zh":
        for k, v in HEADERS_ZH.items():
            out = out.replace(f"<th>{k}</th>", f"<th>{html.escape(v)}</th>")
    return out + more


def write_cashflow_html(path: Path, res: CashflowResult, title: str = "", lang: str = "zh",
                        alert: float = 6.0) -> Path:
    """One self-contained page: plotly.js inline once, the charts, then the tables."""
    tx = _T[lang]
    parts = [fig.to_html(full_html=False, include_plotlyjs=(i == 0),
                         config={"displaylogo": False})
             for i, fig in enumerate(_figures(res, lang, alert))]
    body = "\n".join(f'<div class="fig">{p}</div>' for p in parts)
    tables = cashflow_tables(res, lang)
    tables.pop("mc_draws", None)
    tables.pop("cash", None)  # charted above and in the workbook (one row per hospital-month)
    body += "\n".join(
        f"<h2>{html.escape(_sheet(n, lang))}</h2>"
        f"{_table_html(t, lang)}" for n, t in tables.items())
    page = f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>drgsim: {html.escape(title)}</title>
<style>body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em;}}
table.t{{border-collapse:collapse;font-size:12px}} table.t td,table.t th{{padding:2px 6px;
border-bottom:1px solid #ddd;text-align:right}} .fig{{margin-bottom:2em}}</style></head><body>
<h1>{html.escape(tx['h1'])}: {html.escape(title)}</h1><p>{html.escape(tx['money'])}</p>
{body}
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path


def write_cashflow_report(res: CashflowResult, outdir: str | Path, title: str = "",
                          lang: str = "zh", alert: float = 6.0) -> list[Path]:
    """CSVs (English column names), ``cashflow.html`` and ``cashflow.xlsx`` into ``outdir``."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in cashflow_tables(res).items():
        p = out / f"cashflow_{name}.csv"
        df.to_csv(p, index=False)
        paths.append(p)
    paths.append(write_cashflow_html(out / "cashflow.html", res, title, lang, alert))
    paths.append(write_cashflow_excel(out / "cashflow.xlsx", res, lang))
    return paths
