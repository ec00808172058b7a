"""``create_app(settings)``: FastAPI over a loaded :class:`~drgsim.service.engine.PreviewEngine`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from . import errors
from .engine import PreviewEngine
from .guard import Guard
from .models import BatchIn, CaseIn
from .patient import PatientPreviewIn
from .routers import meta, preview
from .settings import ServiceSettings


def create_app(settings: ServiceSettings, engine: PreviewEngine | None = None) -> FastAPI:
    """Load the scheme, policy and weights named by ``settings`` (once) and build the app.

    ``engine`` lets tests and the CLI share one loaded engine between apps. Raises
    :class:`~drgsim.service.engine.StartupError` when something cannot be loaded.
    """
    from drgsim import __version__

    engine = engine or PreviewEngine.load(settings)
    app = FastAPI(
        title="drgsim payment preview",
        version=__version__,
        description="Group a case, price it under the regional policy and say how far it is "
                    "from the high / low multiple thresholds and special review (事中提醒).",
    )
    app.state.engine = engine
    app.state.settings = settings
    errors.install(app)
    app.include_router(preview.router)
    app.include_router(meta.router)
    app.add_middleware(Guard, settings=settings)

    def openapi() -> dict[str, Any]:
        # request bodies are validated by hand (one pydantic JSON pass), so their schemas are
        # added to the components here
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            comps = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (CaseIn, BatchIn, PatientPreviewIn):
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                comps.update(js.pop("$defs", {}))
                comps[model.__name__] = js
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
