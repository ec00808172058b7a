"""A DIP catalogue given where weights are expected, and the reverse: clear errors, exit 2."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import grouper
from grouper.dip import DipConfig, build_catalogue
from grouper.dip.synth import synthetic_history

try:
    from drgsim.cli import app
except ModuleNotFoundError as e:  # a sibling command module of drgsim.cli not written yet
    if not str(e.name or "").startswith("drgsim.cli."):
        raise
    pytest.skip(f"drgsim.cli cannot be imported yet: {e}", allow_module_level=True)

runner = CliRunner()


def _flat(text: str) -> str:
    """The output as one line: the error box wraps and frames long messages."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    d = tmp_path_factory.mktemp("mixups")
    scheme = grouper.load_scheme(grouper.demo_scheme_path())
    h = synthetic_history(scheme, 600, n_templates=60, seed=5)
    cat = build_catalogue(h, DipConfig(core_threshold=5), scheme)
    cat.save(d / "cat")
    grouped = grouper.group(h, scheme, keep_columns=True)
    grouped.to_csv(d / "grouped.csv", index=False)
    res = runner.invoke(app, ["weights", str(d / "grouped.csv"), "-p", "national_drg", "-o", str(d / "w"), "-q"])
    assert res.exit_code == 0, res.output
    return d


@pytest.mark.parametrize("policy", ["national_drg", "national_dip"])
def test_price_with_a_catalogue_folder_names_both(dirs, policy):
    res = runner.invoke(app, ["price", str(dirs / "grouped.csv"), "-w", str(dirs / "cat"), "-p", policy,
                              "-o", str(dirs / "out.csv"), "-q"])
    out = _flat(res.output)
    assert res.exit_code == 2, res.output
    assert "'tables'" not in out.replace("with 'kind' and 'tables'", "")
    assert "DIP catalogue folder" in out and "weights directory was expected" in out
    assert "drgsim weights" in out


def test_dip_group_with_a_weights_directory_names_both(dirs):
    res = runner.invoke(app, ["dip", "group", str(dirs / "grouped.csv"), "--catalogue", str(dirs / "w"),
                              "-o", str(dirs / "dip.csv"), "--scheme", str(grouper.demo_scheme_path())])
    out = _flat(res.output)
    assert res.exit_code == 2, res.output
    assert "this is a weights directory (kind 'drg'" in out
    assert "DIP catalogue folder was expected" in out


def test_drg_weights_with_a_dip_policy(dirs):
    res = runner.invoke(app, ["price", str(dirs / "grouped.csv"), "-w", str(dirs / "w"), "-p", "national_dip",
                              "-o", str(dirs / "out.csv"), "-q"])
    out = _flat(res.output)
    assert res.exit_code == 2, res.output
    assert "weights of kind 'drg'" in out and "is of kind 'dip'" in out
