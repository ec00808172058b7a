"""Shared fixtures: the demo scheme and the sample cases."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings
from shared_data import ROOT

# CI runs hypothesis derandomized so a green run stays green; locally it explores new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def demo_scheme():
    import grouper

    return grouper.load_scheme(grouper.demo_scheme_path())


@pytest.fixture(scope="session")
def sample_cases():
    import grouper

    return grouper.read_cases(ROOT / "sample_cases" / "cases.csv")
