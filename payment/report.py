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

from .labels import Lang, column_label, localise, sheet_label, text
from .patient_report import patient_figures, patient_tables, shift_tables
from .report_format import CJK_FONTS, ChartSpec, html_table, write_workbook
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
    if sim.benefits is not None:  # the patient side (§9) of the settlement year
        tables |= patient_tables(sim.benefits)
    if sim.tiered_shift is not None:  # the hospital side of the [tiered_shift]
        tables |= shift_tables(sim.tiered_shift)
    if sim.tiered_shift_mc is not None:
        tables["tiered_shift_mc_hospitals"] = sim.tiered_shift_mc[1]
        tables["tiered_shift_mc_draws"] = sim.tiered_shift_mc[0]
    return tables


T = {
    "result": ("各医院结余(+)/超支(−)：年度清算应付 − 按项目统筹支付（元）",
               "Surplus (+) / overspend (−) per hospital: final amount − fee-for-service fund amount (yuan)"),
    "hospital": ("医院", "hospital"),
    "yuan": ("元", "yuan"),
    "draws": ("抽样次数", "draws"),
    "pv_draws": ("各次抽样的结算点值（元/点）", "Settlement point value over draws (yuan/point)"),
    "fb_draws": ("各次抽样的基金结余（元）", "Fund balance over draws (yuan)"),
    "mc": ("蒙特卡洛：{n} 次抽样（种子 {seed}）", "Monte Carlo: {n} draws (seed {seed})"),
    "mc_h": ("各医院结果分布：{mid}，区间 {lo}–{hi}（元）",
             "Hospital result over draws: {mid} with {lo}–{hi} (yuan)"),
    "mix": ("各医院病例类型构成（例）", "Case-class mix per hospital (cases)"),
    "cases": ("病例数", "cases"),
    "cmi": ("CMI 与支付比（年度清算应付 ÷ 按项目支付）",
            "CMI against payment ratio (final amount ÷ fee-for-service amount)"),
    "ratio": ("支付比", "payment ratio"),
    "level": ("等级", "level"),
    "sweep": ("各情景结算点值（元/点）", "Settlement point value per scenario (yuan/point)"),
    "pv": ("点值（元/点）", "yuan/point"),
    "scenario": ("情景", "scenario"),
    "title": ("结算模拟", "Settlement simulation"),
    "policy": ("政策", "Policy"),
    "note": ("金额单位为元，各医院每项金额四舍五入到分一次；预算 = 支付医院 + 留存调节金 + 返还基金。",
             "Money in yuan, each per-hospital amount rounded half-up to the cent once; "
             "budget = paid + reserve kept + returned to the fund."),
}


def _t(key: str, lang: str | None, **kw: object) -> str:
    zh, en = T[key]
    return (zh if lang == "zh" else en).format(**kw)


def write_excel(path: Path, tables: dict[str, pd.DataFrame], lang: Lang | None = None) -> Path:
    """One sheet per table (openpyxl): number formats by column kind, header row frozen and
    bold, columns sized to their content, bar charts of the hospitals' results and of the
    scenarios' point values. ``lang`` None keeps the column names; "zh"/"en" labels them."""
    charts = {
        "statements": ChartSpec("hospital_id", ["result"], _t("result", lang), _t("yuan", lang)),
        "scenarios": ChartSpec("scenario", ["point_value"], _t("sweep", lang), _t("pv", lang)),
    }
    return write_workbook(path, tables, lang, kinds={"mc_percentiles": _MC_KINDS},
                          charts=charts)


_MC_KINDS = {c: "number" for c in ("mean", "p1", "p5", "p10", "p25", "p50", "p75", "p90",
                                   "p95", "p99")}


def _figures(sim: SimulationResult, lang: Lang | None = None) -> list[tuple[str, go.Figure]]:
    st = sim.baseline.statement.sort_values("result")
    figs: list[tuple[str, go.Figure]] = []
    colors = np.where(st["result"] >= 0, "#2a9d8f", "#e76f51")
    f = go.Figure(go.Bar(x=st["hospital_id"], y=st["result"], marker_color=colors,
                         hovertemplate="%{x}: %{y:,.2f}<extra></extra>"))
    f.update_layout(title=_t("result", lang), yaxis_title=_t("yuan", lang),
                    xaxis_title=_t("hospital", lang))
    figs.append(("result", f))
    mc = sim.monte_carlo
    if mc is not None:
        f = make_subplots(rows=1, cols=2, subplot_titles=(_t("pv_draws", lang), _t("fb_draws", lang)))
        f.add_trace(go.Histogram(x=mc.draws["point_value"], nbinsx=40, name="point value"), 1, 1)
        f.add_trace(go.Histogram(x=mc.draws["fund_balance"], nbinsx=40, name="fund balance"), 1, 2)
        f.update_xaxes(title_text=_t("pv", lang), row=1, col=1)
        f.update_xaxes(title_text=_t("yuan", lang), row=1, col=2)
        f.update_yaxes(title_text=_t("draws", lang))
        seed = sim.scenario.monte_carlo.seed if sim.scenario.monte_carlo else ""
        f.update_layout(title=_t("mc", lang, n=len(mc.draws), seed=seed), showlegend=False)
        figs.append(("mc", f))
        h = mc.hospitals.sort_values("mean")
        pcols = [c for c in h.columns if c.startswith("p") and c != "p_loss"]
        mid = "p50" if "p50" in h.columns else "mean"
        f = go.Figure(go.Scatter(
            x=h["hospital_id"], y=h[mid], mode="markers", name=mid,
            error_y={"type": "data", "symmetric": False, "array": h[pcols[-1]] - h[mid],
                     "arrayminus": h[mid] - h[pcols[0]]}))
        f.update_layout(title=_t("mc_h", lang, mid=mid, lo=pcols[0], hi=pcols[-1]),
                        xaxis_title=_t("hospital", lang), yaxis_title=_t("yuan", lang))
        figs.append(("mc_hospitals", f))
    mix = case_class_mix(sim.priced)
    if mix.shape[1] > 1:
        f = go.Figure([go.Bar(x=mix["hospital_id"], y=mix[c],
                              name=column_label(c, lang) if lang else c) for c in mix.columns[1:]])
        f.update_layout(barmode="stack", title=_t("mix", lang), xaxis_title=_t("hospital", lang),
                        yaxis_title=_t("cases", lang))
        figs.append(("mix", f))
    if "cmi" in st.columns:
        # Hospital codes on hover, not as labels: printed labels overlap in a dense region.
        f = go.Figure(go.Scatter(
            x=st["cmi"], y=st["payment_ratio"], mode="markers", text=st["hospital_id"],
            hovertemplate="%{text}: CMI %{x:.4f}, %{y:.1%}<extra></extra>",
            marker={"size": 9, "color": st["hospital_level"], "colorscale": "Viridis",
                    "showscale": True, "colorbar": {"title": _t("level", lang)}}))
        f.update_layout(title=_t("cmi", lang), xaxis_title="CMI", yaxis_title=_t("ratio", lang),
                        yaxis_tickformat=".0%")
        figs.append(("cmi", f))
    if not sim.sweep.empty and len(sim.scenarios) > 1:
        sc = sim.scenarios
        pv = sc["point_value"].astype(float)
        lo, hi = float(pv.min()), float(pv.max())
        pad = max((hi - lo) * 0.25, abs(hi) * 0.002, 1e-4)
        names = [text(v, lang or "en") if lang == "zh" else v for v in sc["scenario"]]
        # The axis starts near the smallest value, not at 0, so 115 vs 122 is visible.
        f = go.Figure(go.Bar(x=names, y=pv, text=[f"{v:.4f}" for v in pv],
                             textposition="outside"))
        f.update_layout(title=_t("sweep", lang), yaxis_title=_t("pv", lang),
                        xaxis_title=_t("scenario", lang), yaxis_range=[lo - pad, hi + pad])
        figs.append(("sweep", f))
    figs += patient_figures(sim.benefits, sim.tiered_shift, lang)
    for _, fig in figs:
        fig.update_layout(font_family=CJK_FONTS.replace('"', "'"))
    return figs


def write_html(path: Path, sim: SimulationResult, lang: Lang | None = None) -> Path:
    """One self-contained page: plotly.js inline once, then every chart and formatted table
    (``lang`` "zh" Chinese, "en" or None English; headers labelled unless None)."""
    parts: list[str] = []
    for i, (_, fig) in enumerate(_figures(sim, lang)):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0),
                                 config={"displaylogo": False}))
    tables = report_tables(sim)
    tables.pop("mc_draws", None)
    tables.pop("tiered_shift_mc_draws", None)
    body = "\n".join(f'<div class="fig">{p}</div>' for p in parts)
    tl = lang or "en"
    body += "\n".join(
        f"<h2>{html.escape(sheet_label(n, tl))}</h2>"
        f"{html_table(t, tl, kinds=_MC_KINDS if n == 'mc_percentiles' else None)}"
        for n, t in tables.items())
    scn = sim.scenario
    page = f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>drgsim: {html.escape(scn.name)}</title>
<style>body{{font-family:{CJK_FONTS};margin:2em;max-width:1400px}}
.tw{{overflow-x:auto;max-width:100%}} table.t{{border-collapse:collapse;font-size:12px}}
table.t td,table.t th{{padding:2px 8px;border-bottom:1px solid #ddd;white-space:nowrap}}
table.t th{{background:#f3f5f7;position:sticky;top:0}} td.n{{text-align:right;
font-variant-numeric:tabular-nums}} td.s{{text-align:left}} .fig{{margin-bottom:2em}}</style>
</head><body>
<h1>{_t("title", lang)}: {html.escape(scn.name)}</h1><p>{html.escape(scn.description)}</p>
<p>{_t("policy", lang)}: {html.escape(scn.policy)}. {_t("note", lang)}</p>
{body}
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path


def write_report(sim: SimulationResult, outdir: str | Path, lang: Lang | None = None,
                 csv_lang: Lang | None = None) -> list[Path]:
    """Write CSVs, ``report.html`` and ``report.xlsx`` into ``outdir``; returns the paths.

    ``lang`` labels the workbook and the page ("zh" / "en"; None keeps column names and an
    English page); ``csv_lang`` the CSV headers (None: column names, for scripts).
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    tables = report_tables(sim)
    paths = []
    for name, df in tables.items():
        p = out / f"{name}.csv"
        # utf-8-sig: Excel opens a Chinese-headed CSV correctly only with the BOM.
        (localise(df, csv_lang) if csv_lang else df).to_csv(
            p, index=False, encoding="utf-8-sig" if csv_lang == "zh" else "utf-8")
        paths.append(p)
    paths.append(write_html(out / "report.html", sim, lang))
    paths.append(write_excel(out / "report.xlsx", tables, lang))
    return paths
