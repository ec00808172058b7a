"""``GET /v1/health`` and ``GET /v1/version``."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from ..deps import EngineDep
from ..models import HealthOut, VersionOut

router = APIRouter(prefix="/v1", tags=["meta"])


@router.get("/health", response_model=HealthOut)
async def health(engine: EngineDep) -> Response:
    """Liveness: the engine is loaded (it is loaded before the app accepts requests)."""
    return Response(orjson.dumps({"status": "ok"}), media_type="application/json")


@router.get("/version", response_model=VersionOut)
async def version(engine: EngineDep) -> Response:
    """Scheme id and content hash, policy identity, weights identity."""
    return Response(orjson.dumps(engine.identity()), media_type="application/json")
