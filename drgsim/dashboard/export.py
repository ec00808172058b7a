"""A dashboard setting as a scenario TOML that ``drgsim simulate`` reproduces, and its report.

The exported scenario is the opened scenario (policy, cases, year, prior-year actual) with the
lever overrides merged into its ``[overrides]``; paths are absolute so the file runs from any
folder. What-if levers become a one-value ``[sweep]`` (``drgsim simulate`` reports them as the
second scenario row; its statements are the baseline, as the dashboard's drill-down is).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from payment.report import write_report
from payment.scenario import Scenario
from payment.scenario import simulate as simulate_priced
from payment.whatif import WHATIF_KEYS

from .state import Dashboard, Settings, merged_overrides

__all__ = ["export_scenario", "report_bytes", "scenario_toml", "to_toml"]


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if math.isnan(v):
            raise ValueError("NaN cannot be exported")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _key(k: str) -> str:
    ok = k and all(c.isalnum() or c in "_-" for c in k) and k.isascii()
    return k if ok else json.dumps(k, ensure_ascii=False)


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer: scalars and lists first, then sub-tables (lists of tables inline)."""
    lines: list[str] = []
    tables = []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_scalar(v)}")
    out = "\n".join(lines)
    for k, v in tables:
        name = f"{prefix}.{_key(k)}" if prefix else _key(k)
        body = to_toml(v, name)
        out += f"\n\n[{name}]\n{body}" if body.strip() else f"\n\n[{name}]"
    return out.strip("\n") + "\n"


def _abs(scn: Scenario, rel: str | None) -> str | None:
    return None if rel is None else str(scn.path(rel).resolve())


def export_scenario(dash: Dashboard, s: Settings, name: str) -> Scenario:
    """The setting as a :class:`Scenario` (absolute paths, merged overrides, what-if sweep)."""
    scn = dash.scenario
    pol = scn.policy
    cand = scn.path(pol)
    if cand.suffix == ".toml" and cand.exists():
        pol = str(cand.resolve())
    sweep = {k: [float(v)] for k, v in s.levers.items() if k in WHATIF_KEYS and float(v) != 0.0}
    return Scenario(
        name=name, description=f"exported from the drgsim dashboard ({scn.name})",
        policy=pol, cases=_abs(scn, scn.cases) if scn.priced_cases is None else None,
        priced_cases=_abs(scn, scn.priced_cases), scheme=_abs(scn, scn.scheme), year=scn.year,
        prior_year_actual=scn.prior_year_actual, overrides=merged_overrides(scn, s, dash.alliances),
        sweep=sweep, base_dir=Path("/"),
    )


def scenario_toml(scn: Scenario) -> str:
    """The scenario as TOML text (``load_scenario`` reads it back to the same model)."""
    data = scn.model_dump(exclude={"base_dir", "monte_carlo"}, exclude_none=True)
    head = "# Scenario exported by `drgsim dashboard`; run it with `drgsim simulate FILE -o DIR`.\n"
    return head + to_toml(data)


def report_bytes(dash: Dashboard, s: Settings, name: str, kind: str, lang: str = "zh") -> bytes:
    """The HTML (``kind = "html"``) or Excel (``"xlsx"``) report of the setting."""
    if kind not in ("html", "xlsx"):
        raise ValueError(f"report kind {kind!r}; allowed: html, xlsx")
    scn = export_scenario(dash, s, name)
    pr = dash.priced_for(s.pricing_overrides())
    sim = simulate_priced(scn, priced=pr.priced, policy=dash.policy_for(s))
    with tempfile.TemporaryDirectory() as tmp:
        write_report(sim, tmp, "en" if lang == "en" else "zh")
        return (Path(tmp) / f"report.{kind}").read_bytes()
