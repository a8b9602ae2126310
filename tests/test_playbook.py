"""The playbook file admins edit: a bad entry is refused with its name and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.playbook import OUT_OF_SCOPE, Playbook, Tier, Urgency
from config.errors import ConfigError
from config.settings import PACKAGED_PLAYBOOK

GOOD = """intents:
  - name: track_order
    category: orders_and_shipping
    tier: simple
    urgency: high
    kb: [track-an-order]
    examples: [where is my order, track my parcel]
out_of_scope: [tell me a joke]
"""
TWICE = GOOD.split("intents:\n")[1].split("out_of_scope", maxsplit=1)[0] + "out_of_scope:"


def load(tmp_path: Path, text: str, kb: list[str] | None = None) -> Playbook:
    path = tmp_path / "playbook.yaml"
    path.write_text(text)
    return Playbook.load(path, known_kb_ids=kb)


def test_sample_playbook_loads() -> None:
    playbook = Playbook.load(PACKAGED_PLAYBOOK)
    assert len(playbook.intents) >= 25
    assert all(len(i.examples) >= 10 for i in playbook.intents)
    assert playbook.get("talk_to_human") is not None


def test_fields_are_read(tmp_path: Path) -> None:
    playbook = load(tmp_path, GOOD, kb=["track-an-order"])
    intent = playbook.intents[0]
    assert (intent.tier, intent.urgency, intent.kb) == (Tier.SIMPLE, Urgency.HIGH,
                                                        ("track-an-order",))  # fmt: skip
    texts, labels = playbook.training_data
    assert labels[-1] == OUT_OF_SCOPE and texts[-1] == "tell me a joke"


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (GOOD.replace("tier: simple", "tier: hard"), "intent 'track_order': tier 'hard'"),
        (GOOD.replace("urgency: high", "urgency: soon"), "intent 'track_order': urgency 'soon'"),
        (GOOD.replace("orders_and_shipping", "logistics"), "category 'logistics'"),
        (GOOD.replace("examples: [where is my order, track my parcel]", "examples: [one]"),
         "needs a list of at least 2 'examples'"),
        (GOOD.replace("    kb:", "    colour: red\n    kb:"), "unknown field 'colour'"),
        (GOOD.replace("out_of_scope:", TWICE), "is defined twice"),
        ("intents: [", "not valid YAML"),
        ("intents: []", "non-empty list"),
        (GOOD.replace("  - name: track_order\n", "  - nme: track_order\n"), "has no 'name'"),
    ],
)  # fmt: skip
def test_bad_entries_are_named(tmp_path: Path, broken: str, message: str) -> None:
    with pytest.raises(ConfigError, match="playbook") as caught:
        load(tmp_path, broken)
    assert message in str(caught.value)


def test_unknown_kb_reference_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'track_order': kb entry 'track-an-order' does not"):
        load(tmp_path, GOOD, kb=["something-else"])


def test_errors_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, GOOD.replace("tier: simple", "tier: hard"))
    assert f"{tmp_path / 'playbook.yaml'}, line 2: intent 'track_order'" in str(caught.value)
    (tmp_path / "playbook.yaml").write_bytes(GOOD.encode() + b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="line 9: not valid UTF-8"):
        Playbook.load(tmp_path / "playbook.yaml")
