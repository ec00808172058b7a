"""The dashboard's FastAPI app: one page, local assets, a small JSON API over :class:`Dashboard`.

Routes (JSON bodies are ``{"levers": {key: value}, "tiers": [[lower, upper, share], ...]}``):

* ``GET /`` the page; ``GET /static/...`` its JS/CSS; ``GET /static/plotly.min.js`` plotly.js
  from the installed plotly package (nothing is fetched from the internet);
* ``GET /api/meta`` levers, groups, the base tier table, whether re-pricing is available;
* ``POST /api/answer`` headline, ledger, per-hospital amounts and the time taken (ms);
* ``POST /api/hospital/{id}`` a hospital's statement, advances and case-class mix;
* ``GET /api/hospital/{id}/supervision?cases=N`` its supervision signals (value, peer value,
  score, flag, flagged cases) and up to N flagged cases per signal, the signals the data cannot
  give and why (computed once per region on the first call; no lever moves them);
* ``POST /api/cashflow`` the fund month by month per fund (body ``{"levers": {prepayment_months,
  recovery, income_growth, spending_growth}}``; 404 without a cash-flow scenario);
* ``POST /api/montecarlo`` percentile bands (body adds ``"spec"``: a Monte Carlo spec);
* ``POST /api/scenarios/{name}`` save, ``GET /api/scenarios`` list,
  ``GET /api/compare?a=&b=`` two saved scenarios side by side (``payment.comparison``),
  ``GET /api/scenarios/{name}/toml`` the scenario TOML, ``.../report.html|report.xlsx``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Body, FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from payment.labels import COLUMNS, TEXT
from payment.monte_carlo import MonteCarloSpec
from payment.report_format import CJK_FONTS
from payment.settlement import resolve_policy
from payment.supervision_report import SIGNAL_NAMES

from .cashflow import CASHFLOW_LEVERS
from .export import export_scenario, report_bytes, scenario_toml
from .levers import ALLIANCE_FIELDS, ALLIANCE_PREFIX, GROUPS, lever_table
from .state import Dashboard, Settings

__all__ = ["create_app", "plotly_js_path"]

STATIC = Path(__file__).resolve().parent / "static"
MAX_DRAWS = 5000


def plotly_js_path() -> Path:
    """plotly.min.js shipped inside the installed plotly package."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def _bad(exc: Exception) -> HTTPException:
    return HTTPException(status_code=422, detail=str(exc))


def _settings(body: dict[str, Any] | None) -> Settings:
    try:
        return Settings.parse(body or {})
    except ValueError as exc:
        raise _bad(exc) from None


def _base_levers(dash: Dashboard) -> dict[str, Any]:
    spol, pvk = resolve_policy(dash.base_policy)
    pol = dash.base_policy
    out: dict[str, Any] = {
        "settlement.budget.mode": spol.budget.mode,
        "settlement.budget.growth": spol.budget.growth,
        "settlement.budget.amount": spol.budget.amount,
        "settlement.reserve_rate": spol.reserve_rate if spol.reserve_rate is not None
        else pvk.reserve_rate,
        "point_value.reimbursement_ratio": pvk.reimbursement_ratio,
        "settlement.point_value_mode": spol.point_value_mode,
        "settlement.advance_ratio": spol.advance_ratio,
        "point_value.decimals": pvk.decimals,
        "settlement.tier_ratio_base": spol.tier_ratio_base,
        "settlement.assessment.deposit_rate": spol.assessment.deposit_rate,
        "settlement.assessment.mapping": spol.assessment.mapping,
        "settlement.assessment.zero_score": spol.assessment.zero_score,
        "settlement.assessment.full_score": spol.assessment.full_score,
        "settlement.assessment.default_score": spol.assessment.default_score,
        "whatif.volume_growth": 0.0, "whatif.cost_growth": 0.0,
        "whatif.upcoding_share": 0.0, "whatif.level_shift_share": 0.0,
    }
    if dash.patients is not None:
        out.update(dash.patients.base_levers())
    sr = getattr(pol, "special_review", None)
    if sr is not None:
        out["special_review.quota_rate"] = sr.quota_rate
        out["special_review.cost_multiple"] = sr.cost_multiple
    ol = getattr(pol, "outliers", None)
    if ol is not None:
        out["outliers.low_multiple"] = ol.low_multiple
    ex = getattr(pol, "exclusions", None)
    if ex is not None:
        out["exclusions.los_min"] = ex.los_min
        out["exclusions.los_max"] = ex.los_max
    for a in dash.alliances:
        for fld in ALLIANCE_FIELDS:
            out[f"{ALLIANCE_PREFIX}{a['id']}.{fld}"] = a[fld]
    return out


def _tiers_json(dash: Dashboard) -> list[list[Any]]:
    spol, _ = resolve_policy(dash.base_policy)
    out = []
    for t in spol.tiers:
        out.append([x if np.isfinite(x) else ("inf" if x > 0 else "-inf")
                    for x in (t.lower, t.upper, t.fund_share)])
    return out


def create_app(dash: Dashboard) -> FastAPI:
    """The dashboard app over a loaded :class:`Dashboard`."""
    app = FastAPI(title="drgsim dashboard", docs_url=None, redoc_url=None)
    app.state.dashboard = dash
    index = (STATIC / "index.html").read_text(encoding="utf-8").replace(
        "__CJK_FONTS__", CJK_FONTS)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return index

    @app.get("/static/plotly.min.js")
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_js_path(), media_type="application/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/meta")
    def meta() -> dict[str, Any]:
        return {"name": dash.scenario.name, "groups": [list(g) for g in GROUPS],
                "levers": lever_table([a["id"] for a in dash.alliances]),
                "base": _base_levers(dash),
                "tiers": _tiers_json(dash), "can_reprice": dash.can_reprice,
                "hospitals": [str(h) for h in dash.base.cells.inputs.hospital_ids],
                "n_cases": len(dash.base.priced),
                "monte_carlo": dash.mc_spec.model_dump(), "fonts": CJK_FONTS,
                "columns": {k: list(v) for k, v in COLUMNS.items()}, "phrases": TEXT,
                "signal_names": {k: list(v) for k, v in SIGNAL_NAMES.items()},
                "patients": dash.patients is not None, "patients_note": dash.patients_note,
                "cashflow": None if dash.cashflow is None else {
                    "name": dash.cashflow.name, "levers": list(CASHFLOW_LEVERS),
                    "base": dash.cashflow.base_levers()},
                "cashflow_note": dash.cashflow_note}

    @app.post("/api/cashflow")
    def cashflow(body: dict[str, Any] | None = Body(None)) -> dict[str, Any]:
        if dash.cashflow is None:
            raise HTTPException(404, f"no cash-flow view: {dash.cashflow_note}")
        body = dict(body or {})
        extra = set(body) - {"levers"}
        if extra:
            raise _bad(ValueError(f"unknown fields {sorted(extra)}; allowed: levers"))
        levers = body.get("levers") or {}
        if not isinstance(levers, dict):
            raise _bad(ValueError("levers must be an object {key: value}"))
        try:
            return dash.cashflow.answer(levers)
        except ValueError as exc:
            raise _bad(exc) from None

    @app.post("/api/answer")
    def answer(body: dict[str, Any] | None = Body(None)) -> dict[str, Any]:
        s = _settings(body)
        try:
            return dash.answer(s)
        except (ValueError, ValidationError) as exc:
            raise _bad(exc) from None

    @app.post("/api/hospital/{hospital_id}")
    def hospital(hospital_id: str, body: dict[str, Any] | None = Body(None)) -> dict[str, Any]:
        s = _settings(body)
        try:
            return dash.statement(hospital_id, s)
        except KeyError:
            raise HTTPException(404, f"no hospital {hospital_id!r}") from None
        except (ValueError, ValidationError) as exc:
            raise _bad(exc) from None

    @app.get("/api/hospital/{hospital_id}/supervision")
    def supervision(hospital_id: str, cases: int = Query(10, ge=0, le=500)) -> dict[str, Any]:
        if hospital_id not in {str(h) for h in dash.base.cells.inputs.hospital_ids}:
            raise HTTPException(404, f"no hospital {hospital_id!r}")
        return dash.supervision().hospital(hospital_id, cases)

    @app.post("/api/montecarlo")
    def mc(body: dict[str, Any] | None = Body(None)) -> dict[str, Any]:
        body = dict(body or {})
        spec_raw = body.pop("spec", None)
        s = _settings(body)
        try:
            spec = MonteCarloSpec.model_validate(spec_raw) if spec_raw else dash.mc_spec
        except ValidationError as exc:
            raise _bad(exc) from None
        if spec.draws > MAX_DRAWS:
            raise _bad(ValueError(f"draws = {spec.draws}: at most {MAX_DRAWS} on the dashboard"))
        try:
            return dash.monte_carlo(s, spec)
        except (ValueError, ValidationError) as exc:
            raise _bad(exc) from None

    @app.post("/api/scenarios/{name}")
    def save(name: str, body: dict[str, Any] | None = Body(None)) -> dict[str, Any]:
        s = _settings(body)
        try:
            dash.policy_for(s)
        except (ValueError, ValidationError) as exc:
            raise _bad(exc) from None
        dash.saved[name] = s
        return {"saved": name, "scenarios": list(dash.saved)}

    @app.get("/api/scenarios")
    def listing() -> dict[str, Any]:
        return {"scenarios": [{"name": k, **v.as_json()} for k, v in dash.saved.items()]}

    def saved(name: str) -> Settings:
        if name not in dash.saved:
            raise HTTPException(404, f"no saved scenario {name!r}; saved: {list(dash.saved)}")
        return dash.saved[name]

    @app.get("/api/compare")
    def compare(a: str = Query(...), b: str = Query(...)) -> dict[str, Any]:
        saved(a)
        saved(b)
        return dash.compare(a, b)

    @app.get("/api/scenarios/{name}/toml")
    def toml(name: str) -> Response:
        text = scenario_toml(export_scenario(dash, saved(name), name))
        return Response(text, media_type="application/toml", headers={
            "Content-Disposition": f'attachment; filename="{_safe(name)}.toml"'})

    @app.get("/api/scenarios/{name}/report.{kind}")
    def report(name: str, kind: str, lang: str = "zh") -> Response:
        try:
            data = report_bytes(dash, saved(name), name, kind, lang)
        except ValueError as exc:
            raise _bad(exc) from None
        media = ("text/html; charset=utf-8" if kind == "html" else
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        return Response(data, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="{_safe(name)}.{kind}"'})

    return app


def _safe(name: str) -> str:
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_" else "_" for c in name) or "scenario"
