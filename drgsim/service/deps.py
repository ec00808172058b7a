"""Dependencies as ``Annotated`` aliases: the loaded engine and settings live on app.state.

They are ``async`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, a
thread hop per request for what is one attribute read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .engine import PreviewEngine
from .settings import ServiceSettings


async def get_engine(request: Request) -> PreviewEngine:
    return request.app.state.engine


async def get_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


EngineDep = Annotated[PreviewEngine, Depends(get_engine)]
SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
