"""A broken knowledge-base file is one line naming the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.knowledge import KnowledgeBase
from config.errors import ConfigError

ENTRY = "---\nid: {id}\ntitle: Opening hours\nquestions: ['When are you open?']\n---\n{body}\n"


def _kb(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _refused(tmp_path: Path, *needles: str) -> str:
    with pytest.raises(ConfigError) as caught:
        KnowledgeBase.load(tmp_path)
    text = str(caught.value)
    assert "\n" not in text, text
    for needle in needles:
        assert needle in text, text
    return text


def test_numeric_id_is_an_id(tmp_path: Path) -> None:
    _kb(tmp_path, "hours.md", ENTRY.format(id=42, body="We are open 9 to 5."))
    _kb(tmp_path, "more.yaml", "entries:\n  - id: 7\n    answer: Seven.\n")
    assert sorted(e.id for e in KnowledgeBase.load(tmp_path).entries) == ["42", "7"]


def test_boolean_id_is_refused_as_such(tmp_path: Path) -> None:
    path = _kb(tmp_path, "hours.md", ENTRY.format(id="yes", body="Open."))
    text = _refused(tmp_path, str(path), "line 2", "'id'")
    assert "missing" not in text


def test_broken_front_matter_names_file_and_line(tmp_path: Path) -> None:
    path = _kb(
        tmp_path, "hours.md", "---\nid: hours\ntitle: [unclosed\nquestions: []\n---\nOpen.\n"
    )
    _refused(tmp_path, str(path), "line 4", "not valid YAML")


def test_broken_yaml_file_names_file_and_line(tmp_path: Path) -> None:
    path = _kb(tmp_path, "faq.yaml", "entries:\n  - id: a\n    answer: A\n  - id: [b\n")
    _refused(tmp_path, str(path), "line 5", "not valid YAML")


def test_yaml_entry_problem_names_its_line(tmp_path: Path) -> None:
    path = _kb(
        tmp_path, "faq.yaml", "entries:\n  - id: a\n    answer: A\n  - id: b\n    category: x\n"
    )
    _refused(tmp_path, str(path), "line 4", "entry 'b'", "answer is empty")


def test_missing_id_in_yaml(tmp_path: Path) -> None:
    path = _kb(tmp_path, "faq.yaml", "entries:\n  - answer: A\n")
    _refused(tmp_path, str(path), "line 2", "missing 'id'")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = _kb(tmp_path, "hours.md", b"---\nid: hours\n---\nOpen \xff.\n")
    _refused(tmp_path, str(path), "line 4", "UTF-8")


def test_sexagesimal_looking_values_stay_text(tmp_path: Path) -> None:
    _kb(tmp_path, "hours.md", "---\nid: hours\ntags: [10:30]\n---\nOpen from 10:30.\n")
    assert KnowledgeBase.load(tmp_path).entries[0].tags == ("10:30",)
