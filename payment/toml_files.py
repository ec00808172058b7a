"""Reading a policy-like TOML file: one place for the "invalid TOML" error every loader gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomllib

from .policy import PolicyError

__all__ = ["read_toml"]


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed TOML at ``path``; a syntax error is a :class:`PolicyError` naming the file."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(str(path), "", f"invalid TOML: {exc}") from None
