"""``drgsim supervise``: §10 indices and supervision signals of a period's cases.

Argument parsing and file writing only; the work is :func:`drgsim.supervision_run.run_supervision`
(payment's indices and signals over grouper's groups) and :mod:`payment.supervision_report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import grouper

from ..chunks import step_progress
from ..outputs import staged
from ._app import app
from ._app import fail as _fail

_console = Console(stderr=True)

INDEX_CSV_COLUMNS = ("hospital_id", "cases", "grouping_rate", "drg_count", "cmi", "cost_index",
                     "time_index", "low_risk_mortality")


@app.command("supervise")
def supervise_cmd(
    cases: Annotated[Path, typer.Argument(help="Cases of the period (csv / parquet / xlsx).")],
    scheme: Annotated[Path, typer.Option("--scheme", "-s", help="Scheme folder or name.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")],
    history: Annotated[Path | None, typer.Option("--history", help="Previous period's cases: "
                                                 "RW and the own-previous-year terms.")] = None,
    weights: Annotated[Path | None, typer.Option("--weights", "-w", help="Weights directory "
                                                 "(RW); default: §10 RW from the history.")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", "-p", help="TOML with a "
                                                "[supervision] table (defaults otherwise).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Report language: zh or en.")] = "zh",
    max_explained: Annotated[int, typer.Option("--max-explained", min=0, help="Flagged cases "
                                               "explained in the report (shared out across "
                                               "the signals).")] = 300,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Indices (CMI, cost/time index, low-risk mortality) and the five supervision signals."""
    import payment
    from payment.supervision_report import write_supervision_html, write_supervision_xlsx

    from ..supervision_run import explanations, run_supervision

    try:
        if lang not in ("zh", "en"):
            raise ValueError(f"--lang {lang!r}; allowed: zh, en")
        pol = payment.load_supervision_policy(policy)
        sch = grouper.load_scheme(grouper.resolve_scheme(scheme))
        with step_progress(quiet) as step:
            step("reading")
            df = grouper.read_cases(cases)
            hist = grouper.read_cases(history) if history is not None else None
            w = payment.load_weights(weights) if weights is not None else None
            step("reading", len(df))  # the count known now
            res = run_supervision(df, sch, history=hist, weights=w, policy=pol, progress=step)
            idx = res.indices
            idx = idx[[*INDEX_CSV_COLUMNS, *[c for c in idx.columns if c not in INDEX_CSV_COLUMNS]]]
            # explain up to max_explained cases, shared out evenly across the signals
            per = max(max_explained // 5, 1) if max_explained else 0
            flagged_ids = res.case_flags.groupby("signal", sort=False).head(per)[
                "case_id"].astype(str).tolist()
            step("explaining")
            expl = explanations(res.grouped, sch, flagged_ids, limit=max_explained)
            step("reports")
            with staged(output) as tmp:
                tmp.mkdir(parents=True)
                idx.to_csv(tmp / "indices.csv", index=False)
                hs = res.hospital_signals.copy()
                hs["flagged"] = hs["flagged"].map({True: "true", False: "false"})
                hs.to_csv(tmp / "hospital_signals.csv", index=False)
                res.case_flags.to_csv(tmp / "case_flags.csv", index=False)
                for name, table in (("indices_dept", res.by_dept), ("indices_doctor", res.by_doctor)):
                    if table is not None:
                        table.to_csv(tmp / f"{name}.csv", index=False)
                write_supervision_html(tmp / "report.html", idx, res.hospital_signals,
                                       res.case_flags, expl, lang)  # type: ignore[arg-type]
                write_supervision_xlsx(tmp / "report.xlsx", idx, res.hospital_signals,
                                       res.case_flags, expl, lang,  # type: ignore[arg-type]
                                       extra={"indices_dept": res.by_dept,
                                              "indices_doctor": res.by_doctor})
    except (payment.PolicyError, grouper.DrgsimError, ValueError, KeyError, OSError) as e:
        _fail(e)
        return
    if quiet:
        return
    hs = res.hospital_signals
    counts = hs.groupby("signal", sort=False)["flagged"].sum()
    per = ", ".join(f"{s} {int(n)}" for s, n in counts.items())
    _console.print(f"{len(res.grouped):,} cases, {hs['hospital_id'].nunique()} hospitals; "
                   f"flagged hospitals: {per}; {len(res.case_flags):,} case flags -> {output}")
    for note in res.notes:
        _console.print(f"[yellow]note:[/yellow] {note}")
