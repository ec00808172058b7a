"""``drgsim dip``: build a DIP catalogue from history and group cases into it.

Argument parsing, progress and the summary only; the work is done by :mod:`grouper.dip`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..outputs import staged
from ._app import App, app
from ._app import fail as _fail
from .headers import LANG_HELP, check_lang, effective_lang, write_output

dip_app = App(help="DIP (按病种分值付费): build a disease-score catalogue and group cases into it.", no_args_is_help=True)
app.add_typer(dip_app, name="dip")

_console = Console(stderr=True)


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=_console, disable=quiet, transient=False,
    )


def _scheme_arg(scheme: Path | None) -> str | None:
    """The scheme folder for a ``--scheme`` path or name (``None``: the default)."""
    if scheme is None:
        return None
    import grouper

    return str(grouper.resolve_scheme(scheme))


def _parse_weights(text: str) -> tuple[float, ...]:
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(float(x) for x in text.replace(":", ",").split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r}: give weights oldest→newest like 1:2:7, or 'none'") from None




@dip_app.command("build")
def build(
    history: Annotated[Path, typer.Argument(help="Historical cases (csv / parquet / xlsx) with total_cost and year.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Catalogue folder to write.")],
    scheme: Annotated[Path | None, typer.Option(help="Scheme folder or name (OR list, CC/MCC tables, code maps). Default: the bundled demo scheme.")] = None,
    dx_level: Annotated[int, typer.Option(help="Diagnosis key: ICD-10 characters without the dot (4 = 亚目 K80.1, 3 = K80, 0 = whole code).")] = 4,
    proc_level: Annotated[int, typer.Option(help="Procedure key: ICD-9-CM-3 characters without the dot (0 = whole code, 4 = 38.86).")] = 0,
    procedures: Annotated[str, typer.Option(help="Which procedures form the combination: all, or, non_diagnostic.")] = "all",
    core_threshold: Annotated[int, typer.Option(help="Cases needed for a core group.")] = 15,
    scale: Annotated[int, typer.Option(help="Score scale: 100 or 1000.")] = 100,
    year_weights: Annotated[str, typer.Option(help="Year weights oldest→newest, e.g. 1:2:7, or 'none'.")] = "1:2:7",
    year_weighting: Annotated[str, typer.Option(help="yearly_means or per_case.")] = "yearly_means",
    trim: Annotated[str, typer.Option(help="Trimming before means: none, iqr, sd, percentile.")] = "none",
    trim_k: Annotated[float, typer.Option(help="k of IQR×k or SD×k (the policy's weights.trim_k).")] = 3.0,
    trim_lower: Annotated[float, typer.Option(help="Lower quantile of the percentile cut.")] = 0.025,
    trim_upper: Annotated[float, typer.Option(help="Upper quantile of the percentile cut.")] = 0.975,
    trim_min_cases: Annotated[int, typer.Option(help="A group-year set with fewer cases is not trimmed (the policy's weights.trim_min_cases).")] = 10,
    aux_min_cases: Annotated[int, typer.Option(help="Cases needed in a group × level cell to estimate its coefficient.")] = 30,
    severity_cap: Annotated[int, typer.Option(help="Severity level = min(#CC + 2·#MCC, cap).")] = 3,
    adult_age: Annotated[int, typer.Option(help="Age band child below it.")] = 18,
    elderly_age: Annotated[int, typer.Option(help="Age band elderly from it.")] = 65,
    fmt: Annotated[str, typer.Option("--format", help="Table format: csv or parquet.")] = "csv",
    version: Annotated[str | None, typer.Option(help="Catalogue version label (default: today's date).")] = None,
    strict: Annotated[bool, typer.Option(help="Exact codes only (no repairs of case, spaces, dots), as `drgsim group --strict`.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Build a catalogue folder from historical cases and print a summary."""
    from grouper.dip import DipConfig, build_catalogue

    try:
        config = DipConfig(
            dx_level=dx_level, proc_level=proc_level, procedures=procedures, core_threshold=core_threshold,
            scale=scale, year_weights=_parse_weights(year_weights), year_weighting=year_weighting, trim=trim,
            trim_k=trim_k, trim_lower=trim_lower, trim_upper=trim_upper, trim_min_cases=trim_min_cases,
            aux_min_cases=aux_min_cases, severity_cap=severity_cap, adult_age=adult_age, elderly_age=elderly_age,
        )
    except ValueError as e:
        _fail(e)
    with _progress(quiet) as bar:
        task = bar.add_task("reading history", total=1.0)
        try:
            from grouper.dip.catalogue import as_frame

            df = as_frame(history)
            cat = build_catalogue(
                df, config, _scheme_arg(scheme), version=version, strict=strict,
                progress=lambda stage, frac: bar.update(task, completed=frac, description=f"building: {stage}"),
            )
            with staged(output) as tmp:
                cat.save(tmp, fmt=fmt)
        except Exception as e:  # noqa: BLE001 - shown to the user as one line, exit code 2
            _fail(e)
    s = cat.summary()
    c = cat.manifest["counts"]
    t = Table(title=f"DIP catalogue → {output}", show_header=False)
    t.add_row("history rows", f"{c['history_rows']:,}")
    t.add_row("cases used", f"{c['cases_used']:,} (invalid {c['invalid']:,}, no cost {c['no_positive_cost']:,}, outside years {c['outside_years']:,})")
    t.add_row("groups", f"{s['groups']:,} (core {s['core_groups']:,}, comprehensive {s['comprehensive_groups']:,})")
    t.add_row("core share of cases", f"{s['core_case_share']:.1%}")
    t.add_row("all-case mean (yuan)", f"{cat.all_case_mean:,.2f}")
    t.add_row("years (weights)", ", ".join(f"{y}: {w:g}" for y, w in cat.manifest["year_weights"].items()) or "pooled")
    Console().print(t)


@dip_app.command("group")
def group_cmd(
    cases: Annotated[Path, typer.Argument(help="Cases to group (csv / parquet / xlsx).")],
    catalogue: Annotated[Path, typer.Option("--catalogue", "-c", help="Catalogue folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file (.csv or .parquet).")],
    scheme: Annotated[Path | None, typer.Option(help="Scheme folder or name (default: the one recorded in the catalogue, else the demo scheme).")] = None,
    keep_columns: Annotated[bool, typer.Option(help="Write the input columns before the DIP columns.")] = False,
    strict: Annotated[bool, typer.Option(help="Exact codes only (no repairs of case, spaces, dots), as `drgsim group --strict`.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    lang: Annotated[str | None, typer.Option("--lang", help=LANG_HELP)] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per chunk when streaming Parquet / CSV to Parquet / CSV.")] = 500_000,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Numba threads (default: all cores).")] = None,
) -> None:
    """Group cases into a catalogue; writes one row per case and prints a summary."""
    import pandas as pd

    from drgsim import stream
    from grouper.dip import group, load_catalogue
    from grouper.dip.catalogue import as_frame

    check_lang(lang)
    if threads is not None:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    out_lang = effective_lang(lang, output, cases)
    if out_lang is None and (cases.is_dir() or cases.suffix.lower() in (*stream.PARQUET_SUFFIXES, *stream.CSV_SUFFIXES)) \
            and output.suffix.lower() in (*stream.PARQUET_SUFFIXES, *stream.CSV_SUFFIXES):
        # chunk by chunk with bounded memory; the summary keeps three category columns
        parts: list[pd.DataFrame] = []
        try:
            cat = load_catalogue(catalogue)
            stream.dip_group_file(
                cases, output, cat, _scheme_arg(scheme), strict=strict,
                keep_columns=keep_columns, chunk_rows=chunk_rows, progress=not quiet,
                on_chunk=lambda r: parts.append(r[["status", "dip_type", "dip_group"]].astype("category")))
        except Exception as e:  # noqa: BLE001 - shown to the user as one line, exit code 2
            _fail(e)
        from pandas.api.types import union_categoricals

        out = pd.DataFrame({c: union_categoricals([p[c] for p in parts]) if parts else pd.Series([], dtype=str)
                            for c in ("status", "dip_type", "dip_group")})
    else:
        out = None
    if out is None:
        with _progress(quiet) as bar:
            task = bar.add_task("grouping", total=None)
            try:
                cat = load_catalogue(catalogue)
                df = as_frame(cases)
                out = group(df, cat, _scheme_arg(scheme), strict=strict, chunk_size=250_000,
                            progress=lambda done, total: bar.update(task, completed=done, total=total))
                if keep_columns:
                    from grouper.dip.group import with_inputs

                    out = with_inputs(df, out)
                write_output(out, output, out_lang)
            except Exception as e:  # noqa: BLE001 - shown to the user as one line, exit code 2
                _fail(e)
    n = len(out)
    ok = out["status"] == "SUCCESS"
    t = Table(title=f"DIP grouping → {output}", show_header=False)
    t.add_row("cases", f"{n:,}")
    t.add_row("valid", f"{int(ok.sum()):,}")
    for typ in ("core", "comprehensive", "unmatched"):
        k = int((out["dip_type"] == typ).sum())
        t.add_row(f"{typ}", f"{k:,} ({k / n:.1%} of cases)" if n else "0")
    for status, k in out.loc[~ok, "status"].value_counts().loc[lambda v: v > 0].items():
        t.add_row(str(status), f"{int(k):,}")
    t.add_row("groups used", f"{out.loc[out['dip_group'] != '', 'dip_group'].nunique():,} of {len(cat.groups):,}")
    Console().print(t)
