"""Writes ``docs/configuration.md`` from the settings model: every setting with its type, its
default and what it is for (the comment beside it in ``.env.example``, which a test keeps
complete). Run ``python -m bot.config_docs > docs/configuration.md``; a test fails when the
committed page is stale.
"""

from __future__ import annotations

import re
import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from config.settings import env_name, setting_fields

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".env.example"
_LINE = re.compile(r"^#?\s*(FRONTDESK_[A-Z0-9_]+)=(\S*)\s*(.*)$")
_SECTION = re.compile(r"^# --- (\w+)(?::\s*(.*?))?\s*-*$")

HEADER = """# Configuration

Every setting is an environment variable `FRONTDESK_<SECTION>__<FIELD>` (also read from `.env`,
and, for non-secret settings, from a YAML file given with `--config`). This page is generated
from the settings model by `python -m bot.config_docs`; `.env.example` has the same settings
with their defaults, ready to copy. `frontdesk check` validates a configuration and shows what
it turns on. Lists are comma-separated (or JSON); secrets are never printed.
"""


def described(example: str) -> tuple[dict[str, str], dict[str, str]]:
    """(setting -> description, section -> description) from ``.env.example``'s comments."""
    settings: dict[str, str] = {}
    sections: dict[str, str] = {}
    for line in example.splitlines():
        header = _SECTION.match(line)
        if header:
            sections[header.group(1)] = (header.group(2) or "").strip()
            continue
        match = _LINE.match(line)
        if match:
            note = match.group(3).strip()
            note = note[1:].strip() if note.startswith("#") else note
            settings[match.group(1)] = note
    return settings, sections


def render(example: str) -> str:
    notes, section_notes = described(example)
    lines = [HEADER]
    current = None
    for section, name, field in setting_fields():
        if section != current:
            current = section
            lines += ["", f"## {section}", ""]
            if section_notes.get(section):
                lines += [_sentence(section_notes[section]), ""]
            lines += ["| setting | type | default | what it is for |", "| --- | --- | --- | --- |"]
        env = env_name((section, name))
        cells = (f"`{env}`", _type(field), _default(field), notes.get(env, ""))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _type(field: FieldInfo) -> str:
    annotation: Any = field.annotation
    if _is_secret(annotation):
        return "secret"
    text = str(annotation).replace("typing.", "")
    if isinstance(annotation, type):
        text = annotation.__name__
    text = re.sub(r"<class '([\w.]+)'>", r"\1", text)
    text = re.sub(r"\b(pathlib|datetime|config(?:\.\w+)+)\.", "", text)
    return text.replace("NoneType", "None")


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def _default(field: FieldInfo) -> str:
    if _is_secret(field.annotation):
        return "not set"
    value = field.get_default(call_default_factory=True)
    if value is PydanticUndefined or value is None:
        return "not set"
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value) or "empty"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "empty"
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value).replace("\n", " ")
    return f"`{text}`" if text else "empty"


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def main() -> int:
    sys.stdout.write(render(EXAMPLE.read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
