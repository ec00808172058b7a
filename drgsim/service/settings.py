"""Service settings: what to load at start-up and the request limits (env prefix ``DRGSIM_``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK_NAMES = frozenset(("localhost", "ip6-localhost"))


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost`` (the binds that need no API key)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServiceSettings(BaseSettings):
    """Everything :func:`drgsim.service.create_app` needs; nothing is read at import time.

    ``policy`` is a preset name (``zhejiang_drg`` ...) or a TOML path; ``weights`` a directory
    written by ``payment.Weights.save`` or a bureau's published table (.csv / .xlsx, then with
    ``coefficient`` and ``point_value``, as ``drgsim price``). Without weights the service groups
    but does not price. A DIP policy also needs ``catalogue``: a DIP catalogue folder
    (``drgsim dip build``). ``benefits``: a benefit policy TOML (§9); the answer then gives the
    patient's share across the insurance layers.

    Security: ``api_key`` (env ``DRGSIM_API_KEY``) is required for a bind that is not loopback;
    requests then need ``Authorization: Bearer <key>`` (or ``X-API-Key``). ``cors_origins`` is
    the explicit list of browser origins allowed to call the service (default: none; a request
    from any other origin gets 403).
    """

    model_config = SettingsConfigDict(env_prefix="DRGSIM_", extra="forbid")

    scheme: Path
    policy: str | None = None
    weights: Path | None = None
    #: published weights only: the hospital's coefficient and the point value (yuan / point)
    coefficient: float | None = Field(default=None, gt=0, le=100, allow_inf_nan=False)
    point_value: float | None = Field(default=None, gt=0, le=1e9, allow_inf_nan=False)
    #: published weights: the hospital ids the coefficient is for
    hospitals: list[str] = Field(default_factory=list)
    catalogue: Path | None = None
    benefits: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_key: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0, le=2**40)
    batch_limit: int = Field(default=10_000, gt=0, le=10_000_000)
    #: cases per request with ``explain=true`` (a trace is ~1 ms a case; 422 above this)
    explain_limit: int = Field(default=200, gt=0, le=1_000_000)
    #: seconds a client has to send a request head (the connection is closed after that) and
    #: again its whole body (408 after that)
    read_timeout_s: float = Field(default=30.0, gt=0, le=3600, allow_inf_nan=False)
    #: seconds an idle keep-alive connection is kept open (uvicorn ``timeout_keep_alive``)
    keepalive_timeout_s: float = Field(default=5.0, gt=0, le=3600, allow_inf_nan=False)
    #: numba threads per request; the service's parallelism comes from its workers, and a
    #: parallel region on a busy machine waits milliseconds for a core (worse than 1 thread)
    kernel_threads: int = Field(default=1, gt=0, le=1024)

    @field_validator("api_key")
    @classmethod
    def _key_not_trivial(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 16:
            raise ValueError("api_key must be at least 16 characters")
        return v

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        for o in v:
            if o == "*" or not o.startswith(("http://", "https://")) or o.endswith("/"):
                raise ValueError(f"cors_origins: {o!r} is not an origin like "
                                 "'https://his.example.org' ('*' is not allowed)")
        return v

    @model_validator(mode="after")
    def _remote_needs_a_key(self) -> ServiceSettings:
        if not is_loopback(self.host) and self.api_key is None:
            raise ValueError(f"host {self.host} is not loopback: set an API key "
                             "(DRGSIM_API_KEY or --api-key-file) so that only callers "
                             "holding it are answered")
        return self
