"""``drgsim benefits``: patients' cost-sharing through the insurance layers, per case and summed.

Argument parsing, reading and writing only; the rules are :func:`payment.cost_sharing` and
:mod:`payment.benefit_summary`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..chunks import step_progress
from ..outputs import staged
from ._app import app
from ._app import fail as _fail

_out = Console()


@app.command("benefits")
def benefits_cmd(
    cases: Annotated[Path, typer.Argument(help="Cases (csv / xlsx / parquet) with case_id, "
                                          "patient_id, hospital_level, total_cost, insurance, "
                                          "discharge_date or year; Chinese headers accepted.",
                                          exists=True, dir_okay=False)],
    policy: Annotated[str, typer.Option("--policy", "-p", help="Benefit policy TOML or preset "
                                        "name (benefits_example).")] = "benefits_example",
    output: Annotated[Path, typer.Option("--output", "-o", help="An .xlsx workbook (cases and "
                      "every summary as sheets) or a folder (cases.csv / .parquet and the "
                      "summaries as CSV).")] = Path("benefits"),
    fmt: Annotated[str, typer.Option("--format", help="Folder output: csv or parquet for the "
                                     "per-case table.")] = "csv",
    lang: Annotated[str, typer.Option("--lang", help="zh or en: headers of the workbook, and "
                                      "of the CSVs with --labelled-csv.")] = "zh",
    labelled_csv: Annotated[bool, typer.Option("--labelled-csv", help="CSV headers in --lang "
                                               "instead of column names.")] = False,
    whatif: Annotated[Path | None, typer.Option(
        "--whatif", help="Tiered-care what-if TOML ([overrides] of benefit keys, [shift] of "
        "cases between levels): adds baseline-vs-variant tables.", exists=True,
        dir_okay=False)] = None,
    threshold: Annotated[list[float] | None, typer.Option(
        "--threshold", help="Out-of-pocket thresholds (yuan) for the share of person-years "
        "above; repeat the option.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
) -> None:
    """Cost-sharing per case (basic fund, 大病保险, 医疗救助, 兜底, out-of-pocket) and summaries."""
    import pandas as pd

    from payment import CostSharingInputError, cost_sharing, load_benefit_policy
    from payment.benefit_summary import benefit_inputs, summaries
    from payment.labels import localise
    from payment.report_format import write_workbook

    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"{lang!r}; allowed: zh, en", param_hint="--lang")
    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter(f"{fmt!r}; allowed: csv, parquet", param_hint="--format")
    pol = load_benefit_policy(policy)  # a bad policy names its own file and key
    with step_progress(quiet) as step:
        try:
            from grouper.cases import read_raw

            # headers and codes as the export has them; benefit_inputs maps both
            step("reading")
            raw = read_raw(cases)
            df = benefit_inputs(raw)
            step("cost sharing", len(df))
            shares = cost_sharing(df, pol)
            step("summaries")
            tables = summaries(df, shares, tuple(threshold) if threshold else (3_000.0, 5_000.0,
                                                                                10_000.0, 20_000.0))
        except CostSharingInputError as exc:
            _fail(ValueError(_in_file(cases, exc, raw, df)))
        except ValueError as exc:
            _fail(ValueError(f"{cases}: {exc}"))
        if whatif is not None:
            from payment.tiered_care import load_tiered_care, tiered_care

            step("tiered-care what-if")
            wi = load_tiered_care(whatif)  # a bad file names itself and the key
            try:
                tc = tiered_care(df, pol, wi.overrides, wi.shift)
            except ValueError as exc:
                _fail(ValueError(f"{whatif}: {exc}"))
            tables |= {"tiered_layers": tc.layers, "tiered_by_level": tc.by_level,
                       "tiered_by_category": tc.by_category, "tiered_volumes": tc.volumes}
        per_case = shares.copy()
        for col in reversed(("patient_id", "hospital_id", "hospital_level", "insurance", "category")):
            if col in df.columns:
                per_case.insert(1, col, df[col].to_numpy())
        per_case.insert(per_case.columns.get_loc("compliant"), "total_cost",
                        pd.to_numeric(df["total_cost"], errors="coerce").round(2))
        suffix = output.suffix.lower()
        if suffix and suffix != ".xlsx":
            _fail(ValueError(f"{output}: give an .xlsx file or a folder (no extension)"))
        step("writing")
        with staged(output) as tmp:
            if suffix == ".xlsx":
                write_workbook(tmp, {"cases": per_case, **tables}, lang)  # type: ignore[arg-type]
            else:
                tmp.mkdir(parents=True)
                head = (lambda t: localise(t, lang)) if labelled_csv else (lambda t: t)  # type: ignore[arg-type]
                enc = "utf-8-sig" if labelled_csv and lang == "zh" else "utf-8"
                if fmt == "parquet":
                    head(per_case).to_parquet(tmp / "cases.parquet", index=False)
                else:
                    head(per_case).to_csv(tmp / "cases.csv", index=False, encoding=enc)
                for name, t in tables.items():
                    head(t).to_csv(tmp / f"{name}.csv", index=False, encoding=enc)
    if quiet:
        return
    if len(tables["overall"]) == 0:  # a header-only file: empty tables with their columns
        _out.print(f"0 cases; wrote {output}")
        return
    _out.print(layers_table(tables["overall"].iloc[0], f"{len(df):,} cases, "
                            f"{len(tables['person_years']):,} person-years ({policy})", lang))
    _out.print(f"wrote {output}")


def _in_file(path: Path, exc, raw, df) -> str:
    """A cost-sharing refusal of a bad value as the file shows it: the user's header (the one
    ``benefit_inputs`` renamed) and the spreadsheet row of the first bad case (header = row 1)."""
    if exc.column is None or exc.position is None:
        return f"{path}: {exc}"
    header = {new: old for old, new in zip(raw.columns, df.columns, strict=True)}.get(exc.column, exc.column)
    return f"{path}: column {str(header)!r}: {exc.problem} (first in row {exc.position + 2})"


def layers_table(ov: object, title: str, lang: str = "en") -> Table:
    """A console table of one summary row: costs, each layer and out-of-pocket (yuan), the
    actual and policy-scope ratios."""
    from payment.labels import column_label
    from payment.report_format import format_value

    t = Table(title=title, title_justify="left")
    t.add_column("")
    t.add_column("yuan", justify="right")
    for c in ("total_cost", "compliant", "basic", "critical", "assistance", "safety_net", "oop"):
        t.add_row(column_label(c, lang), format_value(ov[c], "yuan"))  # type: ignore[index, arg-type]
    for c in ("actual_ratio", "policy_ratio"):
        t.add_row(column_label(c, lang), format_value(ov[c], "ratio"))  # type: ignore[index, arg-type]
    return t


#: §12 calibration: county B's fund share of inpatient cost; the poor population's all-layer
#: reimbursement (a county, 2020) and a tiered-care county's (2017)
COUNTY_ACTUAL_RATIO = 0.492
COUNTY_POOR_RATIOS = (0.8315, 0.8766)
ASSISTANCE = ("tekun", "dibao", "dibian", "fanpin")


def demo_patient_side(path: Path, output: Path, policy: str = "benefits_example",
                      loaded: object = None) -> None:
    """The demo's patient side: cost-sharing of the sample region's benefit inputs (``path``,
    sample_cases/benefits.csv) under ``policy``; writes ``patients.csv`` (per case) and
    ``patients_by_level.csv``, prints the layers and the ratios against §12's county figures
    (``loaded``: ``policy`` already loaded)."""
    from grouper.cases import read_raw
    from payment import cost_sharing, load_benefit_policy
    from payment.benefit_summary import benefit_inputs, summaries, summarise

    df = benefit_inputs(read_raw(path))
    shares = cost_sharing(df, loaded if loaded is not None else load_benefit_policy(policy))  # type: ignore[arg-type]
    tables = summaries(df, shares)
    per_case = shares.copy()
    for col in ("category", "insurance", "hospital_level", "hospital_id", "patient_id"):
        per_case.insert(1, col, df[col].to_numpy())
    per_case.to_csv(output / "patients.csv", index=False)
    tables["by_hospital_level"].to_csv(output / "patients_by_level.csv", index=False)
    ov = tables["overall"].iloc[0]
    _out.print(layers_table(ov, f"patients' side ({policy}): {len(df):,} cases, "
                            f"{len(tables['person_years']):,} person-years"))
    poor = df["category"].isin(ASSISTANCE).to_numpy()
    pr = summarise(df[poor].reset_index(drop=True), shares[poor].reset_index(drop=True)).iloc[0]
    _out.print(f"actual reimbursement ratio {ov['actual_ratio']:.1%} (§12 county B: "
               f"{COUNTY_ACTUAL_RATIO:.1%}); policy-scope ratio {ov['policy_ratio']:.1%}; "
               f"assistance categories ({int(poor.sum())} cases) {pr['actual_ratio']:.1%} "
               f"(§12 poor population: {COUNTY_POOR_RATIOS[0]:.2%} / "
               f"{COUNTY_POOR_RATIOS[1]:.2%})")
