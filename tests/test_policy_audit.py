"""Every number a user can write in a policy, scenario or what-if file is strict, finite and
bounded (issue 12 item 4).

The audit walks every pydantic model defined in ``payment`` and the dashboard's levers, so a key
added later without bounds or with lax coercion fails here; then a few files are loaded to show
the refusal names the file, the key and the allowed range.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from pathlib import Path

import annotated_types as at
import pytest
from pydantic import BaseModel
from pydantic.types import Strict

import payment

#: open ends on purpose: ±inf closes a tier table or an assessment table (documented keys)
OPEN_ENDED = {
    ("TierRow", "lower"), ("TierRow", "upper"), ("ReleaseRow", "min_score"),
}


def _models() -> list[type[BaseModel]]:
    mods = [importlib.import_module(f"payment.{m.name}") for m in pkgutil.iter_modules(payment.__path__)]
    mods.append(importlib.import_module("drgsim.dashboard.levers"))
    out: list[type[BaseModel]] = []
    for mod in mods:
        for obj in vars(mod).values():
            if (inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__ == mod.__name__
                    and obj not in out):
                out.append(obj)
    return out


def _leaves(ann: typing.Any, meta: list[typing.Any]):
    """(scalar type, constraints) for each scalar a field's annotation can hold."""
    if typing.get_origin(ann) is typing.Annotated:
        base, *extra = typing.get_args(ann)
        more: list[typing.Any] = []
        for e in extra:
            more.extend(getattr(e, "metadata", [e]))
        yield from _leaves(base, meta + more)
        return
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Literal:
        return
    if not args:
        yield ann, meta
        return
    for i, a in enumerate(args):
        if a is type(None) or a is Ellipsis or (origin is dict and i == 0):
            continue
        yield from _leaves(a, meta)


def _problems(model: type[BaseModel]) -> list[str]:
    cfg = model.model_config
    probs = []
    if cfg.get("extra") != "forbid":
        probs.append("extra keys are not forbidden")
    if cfg.get("allow_inf_nan", True):
        probs.append("inf/nan allowed")
    for name, fi in model.model_fields.items():
        for leaf, meta in _leaves(fi.annotation, list(fi.metadata)):
            if leaf not in (int, float, bool):
                continue
            if not (cfg.get("strict") or any(isinstance(m, Strict) and m.strict for m in meta)):
                probs.append(f"{name}: lax ({leaf.__name__} from a string)")
            if leaf is bool or (model.__name__, name) in OPEN_ENDED:
                continue
            if not any(isinstance(m, (at.Ge, at.Gt)) for m in meta):
                probs.append(f"{name}: no lower bound")
            if not any(isinstance(m, (at.Le, at.Lt)) for m in meta):
                probs.append(f"{name}: no upper bound")
    return probs


def test_the_audit_sees_the_models():
    names = {m.__name__ for m in _models()}
    assert {"Policy", "SettlementPolicy", "BenefitPolicy", "CashflowPolicy", "Scenario",
            "MonteCarloSpec", "Distribution", "LevelShift"} <= names


@pytest.mark.parametrize("model", _models(), ids=lambda m: f"{m.__module__}.{m.__name__}")
def test_every_number_is_strict_finite_and_bounded(model):
    assert _problems(model) == []


def test_the_audit_catches_a_lax_unbounded_key():
    class Lax(BaseModel):
        budget: float = 0.0
        enabled: bool = False

    assert set(_problems(Lax)) == {
        "extra keys are not forbidden", "inf/nan allowed", "budget: lax (float from a string)",
        "budget: no lower bound", "budget: no upper bound", "enabled: lax (bool from a string)"}


SCENARIO = Path(__file__).resolve().parents[1] / "sample_cases" / "scenario_demo.toml"


@pytest.mark.parametrize(("old", "new", "key", "allowed"), [
    ("mean = 0.04, sd = 0.02", 'mean = "0.04", sd = 0.02', "monte_carlo.volume_growth.mean",
     ">= -100 and <= 100"),
    ("draws = 500", "draws = inf", "monte_carlo.draws", ">= 1 and <= 1000000"),
    ("draws = 500", "draws = 500\npercentiles = [5, 150]", "monte_carlo.percentiles.1",
     ">= 0 and <= 100"),
    ("seed = 2025", "seed = -1", "monte_carlo.seed", ">= 0"),
])
def test_a_bad_scenario_number_names_file_key_and_range(tmp_path, old, new, key, allowed):
    from payment.scenario import load_scenario

    text = SCENARIO.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_scenario(bad)
    msg = str(err.value)
    assert str(bad) in msg and key in msg and allowed in msg


def test_an_assessment_score_beyond_the_scale_is_refused():
    from payment.settlement_policy import AssessmentPolicy

    with pytest.raises(ValueError, match="less than or equal to 1000"):
        AssessmentPolicy(scores={"H1": 1e308})
    assert AssessmentPolicy(scores={"H1": 95}).scores == {"H1": 95}
