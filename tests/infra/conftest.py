"""Shared loaders for the infrastructure tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ASL = ROOT / "statemachine" / "inviter.asl.json"
EVENTS = ROOT / "events"
SRC = ROOT / "src"

sys.path.insert(0, str(Path(__file__).resolve().parent))


def plain(value):
    """cfn-lint's decoder returns str/dict subclasses that carry line
    numbers; a JSON round trip makes them plain Python values."""
    return json.loads(json.dumps(value, default=str))


def load_template() -> dict:
    # cfnlint.decode understands the short-form intrinsics (!Ref, !Sub, ...).
    from cfnlint.decode import decode

    template, matches = decode(str(TEMPLATE))
    assert not matches, [str(m) for m in matches]
    return plain(template)


@pytest.fixture(scope="session")
def template() -> dict:
    return load_template()


@pytest.fixture(scope="session")
def resources(template) -> dict:
    return template["Resources"]
