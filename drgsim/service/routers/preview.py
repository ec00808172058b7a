"""``POST /v1/preview`` (one case) and ``POST /v1/preview/batch`` (up to the batch limit).

Bodies are read as bytes and validated by pydantic's JSON parser directly (one pass, no
intermediate ``dict``), which also tells malformed JSON (400) from a wrong shape (422).
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..deps import EngineDep, SettingsDep
from ..errors import BadRequest, validation_failure
from ..models import BatchIn, BatchOut, CaseIn, ErrorOut, PreviewOut

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
async def preview(request: Request, engine: EngineDep, explain: Explain = False) -> Response:
    """Group and price one case: group with names, weight, points, payment, case class, the
    cost thresholds to high / low multiple, special-review eligibility and warnings."""
    try:
        case = _CASE.validate_json(await request.body())
    except ValidationError as exc:
        raise validation_failure(exc) from None
    # one case is a few hundred microseconds of work: cheaper inline than a thread hop
    return _json(engine.preview_one(case, case.case_id or "0", explain))


@router.post("/batch", response_model=BatchOut, responses=_ERRORS,
             openapi_extra=_body("BatchIn"))
async def preview_batch(request: Request, engine: EngineDep, settings: SettingsDep,
                        explain: Explain = False) -> Response:
    """Preview up to the batch limit (10,000 by default) of cases, in input order."""
    body = await request.body()
    try:
        batch = _BATCH.validate_json(body)
    except ValidationError as exc:
        raise validation_failure(exc) from None
    if len(batch.cases) > settings.batch_limit:
        raise BadRequest(422, "invalid request", [{
            "field": "cases", "problem": f"at most {settings.batch_limit} cases per request, "
            f"got {len(batch.cases)}"}])
    # a batch is tens of milliseconds: off the event loop so health checks stay answered
    results = await run_in_threadpool(engine.preview_batch, batch.cases, explain)
    return _json({"count": len(results), "results": results})
