"""Where the shared conformance data is (importable from tests as ``shared_data``)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMES = ("chs-drg-1.1", "beijing-2022", "zhejiang-2022")


def shared_dir() -> Path | None:
    """``$DRGSIM_SHARED`` or ``../shared`` beside the repository root, if present."""
    env = os.environ.get("DRGSIM_SHARED")
    p = Path(env) if env else ROOT.parent / "shared"
    return p if (p / "schemes").is_dir() else None


def require_shared() -> Path:
    """The shared folder; skip when absent, except under CI=true where absence fails."""
    p = shared_dir()
    if p is None:
        msg = "../shared (or $DRGSIM_SHARED) with schemes/ is not present: conformance corpora unavailable"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " (CI=true requires it)")
        pytest.skip(msg)
    return p


def read_corpus(path: Path) -> pd.DataFrame:
    """A conformance CSV exactly as written: text cells, empty cell = missing."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
