"""``drgsim group``, ``drgsim explain`` and ``drgsim demo``.

Argument parsing, file I/O and a one-screen summary; the work is :func:`grouper.group`,
:func:`grouper.explain` and, for the demo, :mod:`payment`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..outputs import check_table_suffix, staged, write_table
from ._app import app
from ._app import fail as _fail
from .headers import LANG_HELP, check_lang, effective_lang, write_output

_err = Console(stderr=True)
_out = Console()

SchemeOpt = Annotated[Path, typer.Option("--scheme", "-s", help="Scheme folder (or its scheme.json), or a scheme name (see `drgsim schemes`).")]
CHUNK = 200_000






def group_summary(result: pd.DataFrame, seconds: float, title: str = "drgsim group") -> Table:
    """One-screen summary: cases, grouped share, statuses, top DRGs."""
    n = len(result)
    st = result["status"].astype(str).value_counts()
    t = Table(title=f"{title}: {n:,} cases in {seconds:.2f} s", show_header=True)
    t.add_column("status")
    t.add_column("cases", justify="right")
    t.add_column("share", justify="right")
    for k, v in st.items():
        t.add_row(str(k), f"{v:,}", f"{v / max(n, 1):.1%}")
    ok = result["status"].astype(str).isin(["SUCCESS", "QY"])
    top = result.loc[ok, "drg"].astype(str).value_counts().head(10)
    if len(top):
        t.add_section()
        t.add_row("[bold]top DRGs[/bold]", "", "")
        for k, v in top.items():
            t.add_row(str(k), f"{v:,}", f"{v / max(n, 1):.1%}")
    warned = int((result["warnings"].astype(str) != "").sum()) if "warnings" in result else 0
    t.caption = f"grouped {ok.mean() if n else 0:.1%}; {warned:,} cases with normalisation warnings"
    return t


def group_frame(cases: pd.DataFrame, scheme, *, strict: bool, mapping: bool, keep: bool,
                quiet: bool) -> pd.DataFrame:
    """Group in chunks behind a progress bar (identical to one call: cases are independent)."""
    import grouper

    if len(cases) <= CHUNK or quiet:
        return grouper.group(cases, scheme, strict=strict, mapping=mapping, keep_columns=keep)
    parts = []
    with Progress(TextColumn("grouping"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} cases"),
                  TimeRemainingColumn(), console=_err) as bar:
        task = bar.add_task("group", total=len(cases))
        for lo in range(0, len(cases), CHUNK):
            chunk = cases.iloc[lo:lo + CHUNK]
            parts.append(grouper.group(chunk, scheme, strict=strict, mapping=mapping, keep_columns=keep))
            bar.advance(task, len(chunk))
    return pd.concat(parts, ignore_index=True)


@app.command("group")
def group_cmd(
    input: Annotated[Path, typer.Argument(help="Cases: .csv, .parquet or .xlsx (canonical or Chinese headers).")],
    scheme: SchemeOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .csv, .parquet or .xlsx.")],
    strict: Annotated[bool, typer.Option("--strict", help="Reproduce the reference grouper exactly (no normalisation).")] = False,
    no_mapping: Annotated[bool, typer.Option("--no-mapping", help="Skip code mapping: codes used as given.")] = False,
    keep_columns: Annotated[bool, typer.Option(
        "--keep-columns/--no-keep-columns", help="Write the input columns too (default: yes, "
        "so `drgsim price` can price the output).")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
    lang: Annotated[str | None, typer.Option("--lang", help=LANG_HELP)] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per chunk when streaming Parquet / CSV input to Parquet / CSV output (memory is bounded by this).")] = 500_000,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Cores for the grouping kernel (default: all).")] = None,
) -> None:
    """Group cases into MDC / ADRG / DRG with a scheme.

    A Parquet file, a directory of Parquet files or a CSV written to .parquet, .csv or a
    directory streams chunk by chunk (drgsim.stream), so inputs larger than memory work.
    """
    import grouper
    from drgsim import stream

    check_lang(lang)
    try:
        t0 = time.perf_counter()
        check_table_suffix(output, folder=True)
        sch = grouper.load_scheme(grouper.resolve_scheme(scheme))
        out_lang = effective_lang(lang, output, input)
        # the stream writes column names: any other header language is written in memory
        streamable = (input.is_dir() or input.suffix.lower() in (*stream.PARQUET_SUFFIXES, *stream.CSV_SUFFIXES)) \
            and output.suffix.lower() != ".xlsx" and out_lang is None
        if streamable:
            # only the summary's columns are kept (about 4 bytes a case), as category codes
            parts: list[pd.DataFrame] = []

            def keep(r: pd.DataFrame) -> None:
                parts.append(pd.DataFrame({
                    "status": r["status"], "drg": r["drg"].astype("category"),
                    "warnings": (r["warnings"].astype(str) != "").map({True: "w", False: ""}).astype("category"),
                }))

            stream.group_file(input, output, sch, strict=strict, mapping=not no_mapping,
                              keep_columns=keep_columns, chunk_rows=chunk_rows, threads=threads,
                              progress=not quiet, on_chunk=None if quiet else keep)
            from pandas.api.types import union_categoricals

            res = pd.DataFrame({c: union_categoricals([p[c] for p in parts]) if parts else pd.Series([], dtype=str)
                                for c in ("status", "drg", "warnings")})
        else:
            if threads is not None:
                import numba

                numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            cases = grouper.read_cases(input)
            res = group_frame(cases, sch, strict=strict, mapping=not no_mapping, keep=keep_columns, quiet=quiet)
        secs = time.perf_counter() - t0
        if not streamable:
            write_output(res, output, out_lang)
    except grouper.DrgsimError as e:
        _fail(e)
    if not quiet:
        _out.print(group_summary(res, secs))
        _out.print(f"written: {output}")


@app.command("explain")
def explain_cmd(
    input: Annotated[Path, typer.Argument(help="Case file (.csv / .parquet / .xlsx).")],
    scheme: SchemeOpt,
    case_id: Annotated[list[str] | None, typer.Option("--case", "-c", help="Case id(s) to explain (default: the first case).")] = None,
    strict: Annotated[bool, typer.Option("--strict")] = False,
    no_mapping: Annotated[bool, typer.Option("--no-mapping")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trace as JSON.")] = False,
) -> None:
    """Show why a case landed where it did: MDCs tried, rule matched, branches, MCC/CC."""
    import grouper
    from grouper.explain import explain_all

    try:
        sch = grouper.load_scheme(grouper.resolve_scheme(scheme))
        cases = grouper.read_cases(input)
        if case_id:
            sel = cases[cases["case_id"].astype(str).isin(case_id)]
            missing = sorted(set(case_id) - set(sel["case_id"].astype(str)))
            if missing:
                raise grouper.DrgsimError(f"{input}: no case with case_id {missing}")
        else:
            sel = cases.iloc[:1]
        xs = explain_all(sel, sch, strict=strict, mapping=not no_mapping)
    except grouper.DrgsimError as e:
        _fail(e)
    for x in xs:
        if as_json:
            _out.print_json(json.dumps(x.to_dict(), ensure_ascii=False))
        else:
            _out.print(x.to_text(), markup=False, highlight=False)


def sample_cases_path() -> Path:
    """The bundled sample cases (repository checkout) ."""
    return Path(__file__).resolve().parents[2] / "sample_cases" / "cases.csv"


@app.command("demo")
def demo_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the demo outputs.")] = Path("demo_output"),
    policy: Annotated[str, typer.Option("--policy", "-p", help="Policy preset or TOML for the payment part.")] = "zhejiang_drg",
    benefits: Annotated[str, typer.Option("--benefits", "-b", help="Benefit policy preset or "
                                          "TOML for the patients' side (§9).")] = "benefits_example",
) -> None:
    """Group the bundled sample cases with the demo scheme, price them and run a small what-if."""
    import grouper
    import payment
    from payment.scenario import demo_whatif

    from ..pipeline import price_grouped

    path = sample_cases_path()
    if not path.exists():
        _fail(FileNotFoundError(f"{path}: sample cases not found (run from a checkout of drgsim)"))
    ben_pol = payment.load_benefit_policy(benefits)  # a bad one fails before any work
    t0 = time.perf_counter()
    sch = grouper.load_scheme(grouper.demo_scheme_path())
    cases = grouper.read_cases(path)
    grouped = grouper.group(cases, sch, keep_columns=True)
    secs = time.perf_counter() - t0
    _out.print(group_summary(grouped, secs, title=f"drgsim demo ({sch.id})"))
    output.mkdir(parents=True, exist_ok=True)
    write_table(grouped, output / "grouped.csv")

    # Weights from the years before the newest, then price the newest year.
    pol = payment.load_policy(policy)
    if pol.point_value.reimbursement_ratio == 1.0:
        # The demo's budget is the prior year's fund amount and the cases record what patients
        # paid: the pool adds those payments back (§13 option), else a ratio of 1.0 would read
        # a fund-basis budget as total cost and every hospital would overspend.
        pol = pol.with_overrides({"point_value": {"pool": "fund_plus_patient_paid"}})
    py = price_grouped(grouped, pol, label=str(path))
    year, priced = py.year, py.priced
    with staged(output / "weights") as tmp:
        py.weights.save(tmp)
    write_table(priced, output / "priced.csv")
    t = Table(title=f"{year} priced under {policy}: {len(priced):,} cases")
    t.add_column("case class")
    t.add_column("cases", justify="right")
    t.add_column("points", justify="right")
    t.add_column("payment (yuan)", justify="right")
    agg = priced.groupby("case_class", observed=True).agg(cases=("case_id", "size"), points=("points", "sum"),
                                                          pay=("payment", "sum"))
    for k, r in agg.iterrows():
        t.add_row(str(k), f"{int(r.cases):,}", f"{r.points:,.1f}", f"{r.pay:,.2f}")
    _out.print(t)
    summary = demo_whatif(priced, pol)
    write_table(summary, output / "whatif.csv")
    wt = Table(title="what-if (settlement of the newest year)")
    labels = {"scenario": "scenario", "point_value": "yuan/point", "paid": "paid (yuan)",
              "hospitals_surplus": "surplus", "hospitals_overspend": "overspend"}
    cols = [c for c in labels if c in summary.columns]
    for c in cols:
        wt.add_column(labels[c], justify="right" if c != "scenario" else "left")
    for _, r in summary.iterrows():
        wt.add_row(*[f"{r[c]:,.4f}" if c == "point_value" else f"{r[c]:,.2f}" if isinstance(r[c], float) else str(r[c]) for c in cols])
    _out.print(wt)
    from .benefits import demo_patient_side

    demo_patient_side(path.with_name("benefits.csv"), output, benefits, ben_pol)  # §9 patient side
    _out.print(f"outputs in {output}/ (grouped.csv, weights/, priced.csv, whatif.csv, "
               "patients.csv, patients_by_level.csv)")
