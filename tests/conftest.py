"""Shared fixtures: the demo scheme and the sample cases."""

from __future__ import annotations

import pytest
from shared_data import ROOT


@pytest.fixture(scope="session")
def demo_scheme():
    import grouper

    return grouper.load_scheme(grouper.demo_scheme_path())


@pytest.fixture(scope="session")
def sample_cases():
    import grouper

    return grouper.read_cases(ROOT / "sample_cases" / "cases.csv")
