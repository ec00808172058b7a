"""Dependencies as ``Annotated`` aliases: the loaded engine and settings live on app.state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .engine import PreviewEngine
from .settings import ServiceSettings


def get_engine(request: Request) -> PreviewEngine:
    return request.app.state.engine


def get_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


EngineDep = Annotated[PreviewEngine, Depends(get_engine)]
SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
