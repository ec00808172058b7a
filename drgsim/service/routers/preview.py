"""``POST /v1/preview`` (one case) and ``POST /v1/preview/batch`` (up to the batch limit).

Bodies are read as bytes and validated by pydantic's JSON parser directly (one pass, no
intermediate ``dict``), which also tells malformed JSON (400) from a wrong shape (422).
"""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..columnar import NotPlain, TooMany, parse_batch
from ..engine import PreviewEngine, cases_frame
from ..errors import BadRequest, validation_failure
from ..models import BatchIn, BatchOut, CaseIn, ErrorOut, PreviewOut
from ..patient import PatientPreviewIn, patient_share
from ..settings import ServiceSettings

router = APIRouter(prefix="/v1/preview", tags=["preview"])

_CASE = TypeAdapter(CaseIn)
_BATCH = TypeAdapter(BatchIn)
Explain = Annotated[bool, Query(description="add the grouper's trace of each case")]
_ERRORS = {400: {"model": ErrorOut, "description": "malformed JSON"},
           413: {"model": ErrorOut, "description": "body too large"},
           422: {"model": ErrorOut, "description": "invalid case: field and problem"}}


def _body(schema: str) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema}"}}}}}


def _json(obj: object) -> Response:
    return Response(orjson.dumps(obj), media_type="application/json")


@router.post("", response_model=PreviewOut, responses=_ERRORS, openapi_extra=_body("CaseIn"))
async def preview(request: Request, explain: Explain = False) -> Response:
    """Group and price one case: group with names, weight, points, payment, case class, the
    cost thresholds to high / low multiple, special-review eligibility and warnings."""
    engine: PreviewEngine = request.app.state.engine  # no Depends: nothing to solve per request
    try:
        case = _CASE.validate_json(await request.body())
    except ValidationError as exc:
        raise validation_failure(exc) from None
    # one case is a few hundred microseconds of work: cheaper inline than a thread hop
    return _json(engine.preview_one(case, case.case_id or "0", explain))


Format = Annotated[Literal["rows", "columns"], Query(
    description="rows (default): one answer object per case; columns: one array per field")]


@router.post("/batch", response_model=BatchOut, responses=_ERRORS,
             openapi_extra=_body("BatchIn"))
async def preview_batch(request: Request, explain: Explain = False,
                        format: Format = "rows") -> Response:
    """Preview up to the batch limit (10,000 by default) of cases, in input order.

    ``?format=columns`` answers ``{"count": n, "columns": {"case_id": [...], "group.drg":
    [...], "payment.points": [...], ...}}``: the same values, one array per (dotted) field."""
    engine: PreviewEngine = request.app.state.engine
    settings: ServiceSettings = request.app.state.settings
    body = await request.body()
    # a batch is tens of milliseconds: off the event loop so health checks stay answered
    limit = settings.explain_limit if explain else settings.batch_limit
    return await run_in_threadpool(_batch, body, engine, limit, explain, format == "columns")


def _too_many(limit: int, n: int, explain: bool) -> BadRequest:
    what = "with explain=true " if explain else ""
    return BadRequest(422, "invalid request", [{
        "field": "cases", "problem": f"at most {limit} cases per request {what}(got {n})"}])


def _batch(body: bytes, engine: PreviewEngine, limit: int, explain: bool,
           columns: bool) -> Response:
    cases = None
    try:
        if explain:  # the trace needs each case's model
            raise NotPlain
        frame = parse_batch(body, limit)
    except NotPlain:
        try:
            cases = _BATCH.validate_json(body).cases
        except ValidationError as exc:
            raise validation_failure(exc) from None
        if len(cases) > limit:
            raise _too_many(limit, len(cases), explain) from None
        frame = cases_frame(cases)
    except TooMany as exc:
        raise _too_many(limit, exc.count, explain) from None
    if columns:  # one array per field, serialised once (float fields straight from numpy)
        cols = engine.preview_columns(frame, arrays=True)
        if explain and cases is not None:
            cols["explanation"] = [engine.explain(c) for c in cases]
        return Response(orjson.dumps({"count": len(frame), "columns": cols},
                                     option=orjson.OPT_SERIALIZE_NUMPY),
                        media_type="application/json")
    cols = engine.preview_columns(frame)
    results = engine.rows(cols)
    if explain and cases is not None:
        for res, case in zip(results, cases, strict=True):
            res["explanation"] = engine.explain(case)
    return _json({"count": len(results), "results": results})


_PATIENT = TypeAdapter(PatientPreviewIn)


@router.post("/patient", response_model=PreviewOut, responses=_ERRORS,
             openapi_extra=_body("PatientPreviewIn"))
async def preview_patient(request: Request) -> Response:
    """The preview of one case plus the patient's share across the insurance layers (basic
    fund, critical illness, medical assistance, safety net, out-of-pocket) under the service's
    benefit policy, with the person-year's earlier stays in ``history``. Needs a service
    started with ``--benefits``."""
    engine: PreviewEngine = request.app.state.engine
    if engine.benefits is None:
        raise BadRequest(404, "this service has no benefit policy (start it with --benefits)")
    try:
        req = _PATIENT.validate_json(await request.body())
    except ValidationError as exc:
        raise validation_failure(exc) from None
    try:
        share = patient_share(engine.benefits, req)
    except ValueError as exc:  # PatientInputError, payment.CostSharingInputError
        raise BadRequest(422, "invalid request", [{"field": "case", "problem": str(exc)}]
                         ) from None
    out = engine.preview_one(req.case, req.case.case_id or "0")
    out["patient_share"] = share
    return _json(out)
