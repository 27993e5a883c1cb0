"""The action registry: every action of the client's union has exactly one spec, and the
engine's modules never test an action's class."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from engage_voice.models import ActionParams
from tasks.actions import SPECS, ActionSpec, spec_for

REPO = Path(__file__).resolve().parents[2]
ACTION_CLASSES = typing.get_args(typing.get_args(ActionParams)[0])


def test_every_action_has_a_spec():
    assert set(ACTION_CLASSES) == set(SPECS)
    for cls, spec in SPECS.items():
        assert issubclass(spec, ActionSpec), cls


def test_an_unknown_parameter_type_has_no_spec():
    import pytest

    with pytest.raises(TypeError, match="no action spec"):
        spec_for(object())


def test_no_isinstance_on_action_classes_outside_the_action_package():
    names = "|".join(cls.__name__ for cls in ACTION_CLASSES)
    pattern = re.compile(rf"isinstance\([^)]*\b({names})\b")
    offenders = []
    for folder in ("tasks", "flows", "leads_cli", "deployments"):
        for path in (REPO / folder).rglob("*.py"):
            if path.parent.name == "actions":
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, offenders
