"""``drgsim analyse``: a hospital's profit and loss per DRG, department and doctor, and the
settlement-list quality check, as Excel and HTML a director can read.

Argument parsing and I/O only; the rules are :mod:`payment.hospital_analysis` and the
grouper/pricing they call.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..chunks import step_progress
from ..outputs import staged
from ._app import app
from ._app import fail as _fail
from .payment import PolicyOpt, SchemeOpt, _load_cases

_out = Console()

ANALYSIS_LABELS = {
    "mean_cost": ("例均费用(元)", "mean cost (yuan)"),
    "mean_final": ("例均支付(元)", "mean payment (yuan)"),
    "final_amount": ("支付合计(元)", "payment (yuan)"),
    "profit": ("盈亏(元)", "profit / loss (yuan)"),
    "profit_rate": ("盈亏率", "profit rate"),
    "cost_index": ("费用消耗指数", "cost index"),
    "time_index": ("时间消耗指数", "time index"),
    "drg": ("DRG", "DRG"),
    "drg_name": ("DRG名称", "DRG name"),
    "dept": ("科室", "department"),
    "doctor": ("主诊医师", "doctor"),
    "status": ("分组状态", "status"),
    "reason": ("原因", "reason"),
    "warnings": ("编码修正/警告", "code repairs / warnings"),
}


def _labelled(df, lang: str):
    from payment.labels import column_label

    cols = []
    for c in df.columns:
        lab = ANALYSIS_LABELS.get(c)
        cols.append(lab[0 if lang == "zh" else 1] if lab else column_label(c, lang))
    return df.set_axis(cols, axis=1)


@app.command("analyse")
def analyse_cmd(
    cases: Annotated[Path, typer.Argument(help="The hospital's cases: `drgsim group` output, or "
                                          "raw cases with --scheme.", exists=True)],
    weights: Annotated[Path, typer.Option("--weights", "-w", help="Weights directory.")],
    policy: PolicyOpt = "national_drg",
    scheme: SchemeOpt = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for analysis.xlsx, "
                      "analysis.html and the CSV tables.")] = Path("analysis"),
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    top: Annotated[int, typer.Option("--top", min=1, help="DRGs in the terminal and the "
                                     "chart (largest losses first).")] = 15,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
) -> None:
    """Profit and loss (盈亏) per DRG / department / doctor with CMI and cost/time indices, and
    the settlement-list quality check (结算清单质控)."""
    import grouper
    import payment
    from payment.hospital_analysis import profit_and_loss, quality_check
    from payment.report_format import CJK_FONTS, ChartSpec, format_value, html_table, write_workbook

    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"{lang!r}; allowed: zh, en", param_hint="--lang")
    pol = payment.load_policy(policy)
    w = payment.load_weights(weights)
    with step_progress(quiet) as step:
        try:
            step("reading")
            df = _load_cases(cases, pol.group_col, scheme)
            step("pricing", len(df))
            priced = payment.price(df, w, pol)
            step("profit/loss")
            tables = {"by_drg": profit_and_loss(df, priced, w, [pol.group_col], pol.group_col)}
            for col in ("dept", "doctor"):
                if col in df.columns and df[col].notna().any():
                    tables[f"by_{col}"] = profit_and_loss(df, priced, w, [col], pol.group_col)
            step("quality")
            tables["quality"] = quality_check(df, lang)
        except (ValueError, KeyError) as exc:
            text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            _fail(ValueError(text if text.startswith(f"{cases}:") else f"{cases}: {text}"))
        step("reports")
        if scheme is not None:
            names = grouper.load_scheme(grouper.resolve_scheme(scheme)).drg_names()
            d = tables["by_drg"]
            d.insert(1, "drg_name", d[pol.group_col].map(names).fillna(""))
        worst = tables["by_drg"].sort_values("profit").head(top)
        with staged(output) as tmp:
            tmp.mkdir(parents=True)
            for name, t in tables.items():
                t.to_csv(tmp / f"{name}.csv", index=False)
            sheets = {name: _labelled(t, lang) for name, t in tables.items()}
            first = _labelled(tables["by_drg"], lang).columns
            chart = ChartSpec(first[0], [_labelled(tables["by_drg"][["profit"]], lang).columns[0]],
                              "各DRG盈亏（元）" if lang == "zh" else "Profit / loss per DRG (yuan)")
            write_workbook(tmp / "analysis.xlsx", sheets, lang, charts={"by_drg": chart},  # type: ignore[arg-type]
                           kinds={n: _kinds(t, lang) for n, t in tables.items()})
            titles = {"by_drg": ("按DRG", "By DRG"), "by_dept": ("按科室", "By department"),
                      "by_doctor": ("按主诊医师", "By doctor"), "quality": ("结算清单质控", "Quality check")}
            body = "".join(f"<h2>{titles[n][0 if lang == 'zh' else 1]}</h2>"
                           f"{html_table(_labelled(t, lang), lang, max_rows=2000, kinds=_kinds(t, lang))}"
                           for n, t in tables.items())
            head = "医院DRG运行分析" if lang == "zh" else "Hospital DRG analysis"
            (tmp / "analysis.html").write_text(
                f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
                f'<meta charset="utf-8"><title>{head}</title><style>body{{font-family:{CJK_FONTS};'
                "margin:2em}} .tw{overflow-x:auto} table.t{border-collapse:collapse;font-size:13px}"
                " table.t td,table.t th{padding:3px 8px;border-bottom:1px solid #ddd;white-space:"
                "nowrap} td.n{text-align:right;font-variant-numeric:tabular-nums}</style></head>"
                f"<body><h1>{head}</h1><p>{html.escape(str(cases))}</p>{body}</body></html>",
                encoding="utf-8")
    if quiet:
        return
    t = Table(title=("盈亏最大的DRG" if lang == "zh" else "DRGs with the largest losses"),
              title_justify="left")
    for h in ("DRG", "cases", "mean cost", "mean paid", "profit", "rate"):
        t.add_column(h, justify="left" if h == "DRG" else "right")
    for r in worst.itertuples(index=False):
        t.add_row(str(getattr(r, pol.group_col)), f"{r.cases:,}", format_value(r.mean_cost, "yuan"),
                  format_value(r.mean_final, "yuan"), format_value(r.profit, "yuan"),
                  format_value(r.profit_rate, "ratio"))
    _out.print(t)
    _out.print(f"{len(tables['quality']):,} cases in the quality check; wrote {output}/")


def _kinds(t, lang: str) -> dict[str, str]:
    lab = _labelled(t, lang)
    raw = {"mean_cost": "yuan", "mean_final": "yuan", "final_amount": "yuan", "profit": "yuan",
           "profit_rate": "ratio", "cost_index": "index", "time_index": "index", "cmi": "index",
           "cases": "count", "total_cost": "yuan"}
    return {new: raw[old] for old, new in zip(t.columns, lab.columns, strict=True) if old in raw}
