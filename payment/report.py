"""Planner reports of a simulation: CSV tables, an HTML page with charts, an Excel workbook.

The HTML embeds plotly.js once, inline, so the page opens with no network. Every figure in the
charts is a column of a table in the same page and in the workbook, so each number ties back.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .scenario import SimulationResult

__all__ = ["case_class_mix", "report_tables", "write_excel", "write_html", "write_report"]


def case_class_mix(priced: pd.DataFrame) -> pd.DataFrame:
    """Cases per hospital × case class (count), hospitals as rows."""
    if "case_class" not in priced.columns:
        return pd.DataFrame({"hospital_id": sorted(priced["hospital_id"].astype(str).unique())})
    mix = pd.crosstab(priced["hospital_id"].astype(str), priced["case_class"].astype(str))
    mix.columns.name = None
    return mix.reset_index()


def report_tables(sim: SimulationResult) -> dict[str, pd.DataFrame]:
    """The tables of a run, by sheet / file name (yuan, points, fractions)."""
    b = sim.baseline
    tables = {
        "scenarios": sim.scenarios,
        "statements": b.statement,
        "advances": b.advances,
        "ledger": b.ledger,
        "case_class_mix": case_class_mix(sim.priced),
    }
    if len(b.alliances):
        tables["alliances"] = b.alliances
    if not sim.sweep.empty:
        tables["sweep"] = sim.sweep
    if sim.monte_carlo is not None:
        tables["mc_percentiles"] = sim.monte_carlo.percentiles
        tables["mc_hospitals"] = sim.monte_carlo.hospitals
        tables["mc_draws"] = sim.monte_carlo.draws
    return tables


def write_excel(path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """One sheet per table (openpyxl); header row frozen, columns sized to their content."""
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in tables.items():
            out = df.replace([np.inf, -np.inf], np.nan)
            out.to_excel(xw, sheet_name=name[:31], index=False)
            ws = xw.sheets[name[:31]]
            ws.freeze_panes = "A2"
            for i, col in enumerate(out.columns, start=1):
                width = max([len(str(col))] + [len(str(v)) for v in out[col].head(200)])
                ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(
                    max(10, width + 2), 60)
    return path


def _figures(sim: SimulationResult) -> list[tuple[str, go.Figure]]:
    st = sim.baseline.statement.sort_values("result")
    figs: list[tuple[str, go.Figure]] = []
    colors = np.where(st["result"] >= 0, "#2a9d8f", "#e76f51")
    f = go.Figure(go.Bar(x=st["hospital_id"], y=st["result"], marker_color=colors,
                         hovertemplate="%{x}: %{y:,.2f} yuan<extra></extra>"))
    f.update_layout(title="Surplus (+) / overspend (−) per hospital: final amount − "
                          "fee-for-service fund amount (yuan)", yaxis_title="yuan")
    figs.append(("result", f))
    mc = sim.monte_carlo
    if mc is not None:
        f = make_subplots(rows=1, cols=2, subplot_titles=(
            "Settlement point value over draws (yuan/point)", "Fund balance over draws (yuan)"))
        f.add_trace(go.Histogram(x=mc.draws["point_value"], nbinsx=40, name="point value"), 1, 1)
        f.add_trace(go.Histogram(x=mc.draws["fund_balance"], nbinsx=40, name="fund balance"), 1, 2)
        f.update_layout(title=f"Monte Carlo: {len(mc.draws)} draws (seed "
                              f"{sim.scenario.monte_carlo.seed if sim.scenario.monte_carlo else ''})",
                        showlegend=False)
        figs.append(("mc", f))
        h = mc.hospitals.sort_values("mean")
        pcols = [c for c in h.columns if c.startswith("p") and c != "p_loss"]
        mid = "p50" if "p50" in h.columns else "mean"
        f = go.Figure(go.Scatter(
            x=h["hospital_id"], y=h[mid], mode="markers", name=mid,
            error_y={"type": "data", "symmetric": False, "array": h[pcols[-1]] - h[mid],
                     "arrayminus": h[mid] - h[pcols[0]]}))
        f.update_layout(title=f"Hospital result over draws: {mid} with {pcols[0]}–{pcols[-1]} "
                              "(yuan)")
        figs.append(("mc_hospitals", f))
    mix = case_class_mix(sim.priced)
    if mix.shape[1] > 1:
        f = go.Figure([go.Bar(x=mix["hospital_id"], y=mix[c], name=c) for c in mix.columns[1:]])
        f.update_layout(barmode="stack", title="Case-class mix per hospital (cases)")
        figs.append(("mix", f))
    if "cmi" in st.columns:
        f = go.Figure(go.Scatter(
            x=st["cmi"], y=st["payment_ratio"], mode="markers+text", text=st["hospital_id"],
            textposition="top center",
            marker={"size": 8, "color": st["hospital_level"], "colorscale": "Viridis",
                    "showscale": True, "colorbar": {"title": "level"}}))
        f.update_layout(title="CMI against payment ratio (final amount ÷ fee-for-service amount)",
                        xaxis_title="CMI", yaxis_title="payment ratio")
        figs.append(("cmi", f))
    if not sim.sweep.empty and len(sim.scenarios) > 1:
        sc = sim.scenarios
        f = go.Figure(go.Bar(x=sc["scenario"], y=sc["point_value"]))
        f.update_layout(title="Settlement point value per scenario (yuan/point)")
        figs.append(("sweep", f))
    return figs


def _table_html(df: pd.DataFrame, max_rows: int = 200) -> str:
    fmt = {c: "{:,.2f}".format for c in df.columns if pd.api.types.is_float_dtype(df[c])}
    more = f"<p>first {max_rows} of {len(df)} rows</p>" if len(df) > max_rows else ""
    return df.head(max_rows).to_html(index=False, formatters=fmt, border=0,
                                     classes="t", na_rep="") + more


def write_html(path: Path, sim: SimulationResult) -> Path:
    """One self-contained page: plotly.js inline once, then every chart and table."""
    parts: list[str] = []
    for i, (_, fig) in enumerate(_figures(sim)):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0),
                                 config={"displaylogo": False}))
    tables = report_tables(sim)
    tables.pop("mc_draws", None)
    body = "\n".join(f'<div class="fig">{p}</div>' for p in parts)
    body += "\n".join(f"<h2>{html.escape(n)}</h2>{_table_html(t)}" for n, t in tables.items())
    scn = sim.scenario
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>drgsim: {html.escape(scn.name)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;}} table.t{{border-collapse:collapse;
font-size:12px}} table.t td,table.t th{{padding:2px 6px;border-bottom:1px solid #ddd;
text-align:right}} .fig{{margin-bottom:2em}}</style></head><body>
<h1>Settlement simulation: {html.escape(scn.name)}</h1><p>{html.escape(scn.description)}</p>
<p>Policy: {html.escape(scn.policy)}. Money in yuan, each per-hospital amount rounded half-up
to the cent once; budget = paid + reserve kept + returned to the fund.</p>
{body}
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path


def write_report(sim: SimulationResult, outdir: str | Path) -> list[Path]:
    """Write CSVs, ``report.html`` and ``report.xlsx`` into ``outdir``; returns the paths."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    tables = report_tables(sim)
    paths = []
    for name, df in tables.items():
        p = out / f"{name}.csv"
        df.to_csv(p, index=False)
        paths.append(p)
    paths.append(write_html(out / "report.html", sim))
    paths.append(write_excel(out / "report.xlsx", tables))
    return paths
