"""Hospital payment preview service (事中提醒): a FastAPI app built over a loaded engine.

``create_app(settings)`` loads the scheme, policy and weights once and returns the app;
nothing is built at import time. ``drgsim serve`` runs it with uvicorn.
"""

from .app import create_app
from .settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
