"""``drgsim weights`` and ``drgsim price``: fit weights from history, price cases.

Argument parsing, reading/writing files and a summary only; the work is done by
:func:`payment.compute_weights` and :func:`payment.price`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

import grouper

from ..chunks import step_progress
from ..outputs import check_table_suffix, staged
from ._app import app
from ._app import fail as _fail
from .headers import (
    LANG_HELP,
    check_lang,
    effective_lang,
    labelled,
    read_output,
    reverse_headers,
    write_output,
)

_console = Console(stderr=True)

PolicyOpt = Annotated[str, typer.Option("--policy", "-p", help="Policy TOML path or preset name "
                                        "(national_drg, zhejiang_drg, jinhua_drg, national_dip).")]
SchemeOpt = Annotated[Path | None, typer.Option("--scheme", "-s", help="Scheme folder or name: group the cases first when "
                                                "the file has no group column (DRG only).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No summary table.")]
LangOpt = Annotated[str | None, typer.Option("--lang", help=LANG_HELP)]




def _load_cases(path: Path, group_col: str, scheme: Path | None) -> pd.DataFrame:
    """Read cases with the one reader; group them with ``grouper`` when they lack the group column."""
    from payment.columns import PRICED_BY_NAME

    df = read_output(path, kinds=PRICED_BY_NAME)
    if group_col in df.columns:
        return df
    if scheme is None:
        raise ValueError(f"{path}: no {group_col!r} column; pass --scheme to group the cases first")
    from grouper.schema import COLUMNS_BY_NAME, GROUPER_REQUIRED

    for c in GROUPER_REQUIRED:
        if c not in df.columns:
            raise grouper.CaseFileError(str(path), c, None, "required column missing (accepted "
                                        f"headers: {[c, *COLUMNS_BY_NAME[c].aliases]})")
    return grouper.group(df, grouper.load_scheme(grouper.resolve_scheme(scheme)), keep_columns=True)


def load_any_weights(weights: Path, cases: Path | pd.DataFrame, pol, coefficient: float | None,
                     point_value: float | None, base_rate: float | None):
    """A weights folder, or a published table made into weights for the hospitals of ``cases``
    (a case file, whose hospital_id column alone is read, or the frame already read from it)."""
    import payment
    from payment.published import published_weights

    if weights.is_dir() or weights.suffix == "":
        if coefficient is not None or point_value is not None or base_rate is not None:
            raise ValueError("--coefficient / --point-value / --base-rate go with a published "
                             "table as --weights, not a weights folder")
        return payment.load_weights(weights)
    from grouper.cases import read_raw

    from ..priced_output import hospital_ids

    table = read_raw(weights)  # the bureau's headers as written; published_weights maps them
    ids = hospital_ids(cases)  # a file: its hospital_id column only, in chunks
    return published_weights(table, coefficients=1.0 if coefficient is None else coefficient,
                             hospitals=ids, point_value=point_value, base_rate=base_rate,
                             kind=pol.kind, points_scale=pol.weights.points_scale,
                             source=str(weights))


def _check_years(hist: pd.DataFrame, path: Path, pol) -> None:
    """A history without a year column is one undated year: said, or refused when the policy
    names the years to weigh (its ``history_years`` could not be applied)."""
    if "year" in hist.columns:
        return
    from grouper.schema import COLUMNS_BY_NAME

    heads = ["year", *COLUMNS_BY_NAME["year"].aliases]
    if pol.weights.history_years is not None:
        raise grouper.CaseFileError(str(path), "year", None, "column missing, but the policy weighs "
                                    f"the years {pol.weights.history_years} (accepted headers: {heads})")
    _console.print(f"[yellow]warning:[/yellow] {path}: no year column (accepted headers: {heads}): "
                   f"its {len(hist):,} cases are fitted as one undated year, with no year weighting",
                   soft_wrap=True, highlight=False)


def _weights_workbook(w, path: Path, lang: str) -> None:
    """The weights tables as one workbook with ``lang`` headers (for people; price reads the CSVs)."""
    names = {"groups": ("病组权重", "groups"), "hospital_groups": ("医院病组系数", "hospital × group"),
             "level_groups": ("等级病组系数", "level × group"), "hospitals": ("医院", "hospitals")}
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, (zh, en) in names.items():
            table = getattr(w, name)
            labelled(table, lang).to_excel(xw, sheet_name=zh if lang == "zh" else en, index=False)


@app.command("weights")
def weights_cmd(
    history: Annotated[Path, typer.Argument(help="Grouped historical cases (csv / parquet / "
                                            "xlsx) with total_cost, year, hospital_id, los.")],
    policy: PolicyOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Weights directory to write.")],
    scheme: SchemeOpt = None,
    quiet: QuietOpt = False,
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en: also write weights.xlsx "
                                             "in the folder, its headers in that language (the "
                                             "CSVs keep the column names `drgsim price` reads).")] = None,
) -> None:
    """Compute weights (RW / DIP scores), coefficients and CMI from history."""
    import payment

    check_lang(lang)
    try:
        pol = payment.load_policy(policy)
        with step_progress(quiet) as step:
            step("reading")
            hist = _load_cases(history, pol.group_col, scheme)
            if len(hist) == 0:
                raise grouper.CaseFileError(str(history), None, None,
                                            "no cases (header only): weights need history")
            _check_years(hist, history, pol)
            step("fitting", len(hist))
            w = payment.compute_weights(hist, pol)
            step("writing")
            with staged(output) as tmp:
                w.save(tmp)
                if lang is not None:
                    _weights_workbook(w, tmp / "weights.xlsx", lang)
    except (payment.PolicyError, ValueError, KeyError, OSError) as e:
        _fail(e)
        return
    if not quiet:
        _console.print(
            f"{len(w.groups)} groups from {w.meta['used_rows']:,} cases (years {w.years}); "
            f"region mean cost {w.region_mean_cost:,.2f} yuan; budget point value "
            f"{w.budget_point_value:,.4f} yuan/point -> {output}"
        )


@app.command("price")
def price_cmd(
    cases: Annotated[Path, typer.Argument(help="Cases to price (grouped, or with --scheme).")],
    weights: Annotated[Path, typer.Option("--weights", "-w", help="Weights directory.")],
    policy: PolicyOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Priced cases (.csv / "
                                         ".xlsx / .parquet, by extension).")],
    scheme: SchemeOpt = None,
    special_review: Annotated[bool, typer.Option(help="Run special case review.")] = True,
    quiet: QuietOpt = False,
    lang: LangOpt = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per chunk when "
                                            "streaming Parquet / CSV to Parquet / CSV.")] = 500_000,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Cores for grouping "
                                                "(default: all).")] = None,
    coefficient: Annotated[float | None, typer.Option(
        "--coefficient", help="With a published table as --weights: the hospital's coefficient "
        "(医院系数), for every hospital of the file.")] = None,
    point_value: Annotated[float | None, typer.Option(
        "--point-value", help="With a published table: the published point value (yuan per "
        "point).")] = None,
    base_rate: Annotated[float | None, typer.Option(
        "--base-rate", help="With a published table: the base rate (费率, yuan per RW) instead "
        "of a point value.")] = None,
) -> None:
    """Price every case: class, points, yuan, gain, special case review.

    ``--weights`` is a weights folder (``drgsim weights``) or a bureau's published table
    (.csv / .xlsx: DRG code, RW or base points, average cost, average LOS) with
    ``--coefficient`` and ``--point-value`` or ``--base-rate``.
    """
    import payment
    from drgsim import stream

    from ..priced_output import (
        HospitalIds,
        finish_priced,
        missing_hospitals,
        missing_hospitals_warning,
    )

    check_lang(lang)
    out_lang = effective_lang(lang, output, cases)
    try:
        check_table_suffix(output, folder=True)
        pol = payment.load_policy(policy)
        streamable = (cases.is_dir() or cases.suffix.lower() in (*stream.PARQUET_SUFFIXES,
                                                                  *stream.CSV_SUFFIXES)) \
            and output.suffix.lower() in ("", *stream.PARQUET_SUFFIXES, *stream.CSV_SUFFIXES)
        # streaming shows its own progress per pass
        with step_progress(quiet or streamable) as step:
            # in memory the cases are read once: a published table takes its hospitals from them
            step("reading")
            df = None if streamable else _load_cases(cases, pol.group_col, scheme)
            w = load_any_weights(weights, cases if df is None else df, pol, coefficient, point_value,
                                 base_rate)
            if w.kind != pol.kind:
                raise ValueError(f"{weights}: weights of kind {w.kind!r} (computed with a {w.kind.upper()} "
                                 f"policy), but the policy {policy} is of kind {pol.kind!r}; compute "
                                 f"weights with a {pol.kind.upper()} policy (`drgsim weights -p`) or "
                                 f"price with a {w.kind.upper()} policy")
            if streamable:
                # chunk by chunk, bounded memory; exact (readmission, a budget point value and
                # special review as extra passes over compact facts); each written chunk gets
                # what the in-memory path adds (final amount, headers), its sums kept for the summary
                src = stream.CaseSource(cases, chunk_rows=1)
                cols = src.schema.names if src.kind == "parquet" else src.header
                # a table drgsim wrote may carry its Chinese or English headers (read back as names)
                rev = reverse_headers()
                grouped = pol.group_col in {rev.get(c, c) for c in cols}
                if not grouped and scheme is None:
                    raise ValueError(f"{cases}: no {pol.group_col!r} column; pass --scheme to group "
                                     "the cases first")
                sch = grouper.resolve_scheme(scheme) if scheme is not None else None
                ids, sums = HospitalIds(), _Sums()

                def finish(part: pd.DataFrame) -> pd.DataFrame:
                    ids.add(part)
                    sums.add(part)
                    return labelled(finish_priced(part), out_lang)

                st = stream.group_price_file(cases, output, sch, w, pol, grouped=grouped,
                                             special_review=special_review, chunk_rows=chunk_rows,
                                             threads=threads, progress=not quiet, finish=finish)
                warning = missing_hospitals_warning(missing_hospitals(ids.sorted(), w, pol), cases,
                                                    weights, pol)
                if warning:
                    _console.print(warning, soft_wrap=True, highlight=False)
                if not quiet:
                    _print_summary(sums, f"{st.rows:,} cases priced in {st.seconds:.1f} s "
                                   f"({st.rate:,.0f} cases/s) -> {output}", [])
                return
            assert df is not None
            warning = missing_hospitals_warning(missing_hospitals(df, w, pol), cases, weights, pol)
            step("pricing", len(df))
            priced = payment.price(df, w, pol, special_review=special_review)
            step("writing")
            write_output(finish_priced(priced), output, out_lang)
        if warning:  # after the progress lines
            _console.print(warning, soft_wrap=True, highlight=False)
    except (payment.PolicyError, ValueError, KeyError, OSError) as e:
        _fail(e)
        return
    if quiet:
        return
    sums = _Sums()
    sums.add(priced)
    _print_summary(sums, f"{len(priced):,} cases priced at "
                   f"{priced.attrs['yuan_per_point']:,.4f} yuan/point -> {output}",
                   priced.attrs.get("notes", []))


class _Sums:
    """Per case class: cases, points, payment, gain; and the special-review counts (of chunks)."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []
        self.sr = [0, 0, 0, 0.0]

    def add(self, priced: pd.DataFrame) -> None:
        self.parts.append(priced.groupby("case_class", observed=True).agg(
            cases=("case_id", "size"), points=("points", "sum"), payment=("payment", "sum"),
            gain=("gain", "sum")))
        self.sr = [self.sr[0] + int(priced["sr_candidate"].sum()),
                   self.sr[1] + int(priced["sr_applied"].sum()),
                   self.sr[2] + int(priced["sr_approved"].sum()),
                   self.sr[3] + float(priced["sr_amount"].sum())]


def _print_summary(sums: _Sums, title: str, notes: list[str]) -> None:
    table = Table(title=title)
    for col in ("class", "cases", "points", "payment (yuan)", "gain (yuan)"):
        table.add_column(col, justify="left" if col == "class" else "right")
    if sums.parts:
        summary = pd.concat(sums.parts).groupby(level=0, observed=True, sort=True).sum()
        for cls, row in summary.iterrows():
            table.add_row(str(cls), f"{int(row.cases):,}", f"{row.points:,.2f}",
                          f"{row.payment:,.2f}", f"{row.gain:,.2f}")
    _console.print(table)
    cand, applied, approved, amount = sums.sr
    _console.print(f"special review: {cand:,} candidates, {applied:,} applied, {approved:,} "
                   f"approved, {amount:,.2f} yuan re-priced")
    for note in notes:
        _console.print(f"[yellow]note:[/yellow] {note}")
