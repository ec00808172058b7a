"""Service settings: what to load at start-up and the request limits (env prefix ``DRGSIM_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Everything :func:`drgsim.service.create_app` needs; nothing is read at import time.

    ``policy`` is a preset name (``zhejiang_drg`` ...) or a TOML path; ``weights`` a directory
    written by ``payment.Weights.save``. Without weights the service groups but does not price.
    A DIP policy also needs ``catalogue``: a DIP catalogue folder (``drgsim dip build``).
    """

    model_config = SettingsConfigDict(env_prefix="DRGSIM_", extra="forbid")

    scheme: Path
    policy: str | None = None
    weights: Path | None = None
    catalogue: Path | None = None
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    batch_limit: int = Field(default=10_000, gt=0)
    #: numba threads per request; the service's parallelism comes from its workers, and a
    #: parallel region on a busy machine waits milliseconds for a core (worse than 1 thread)
    kernel_threads: int = Field(default=1, gt=0)
