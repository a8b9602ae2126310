"""The playbook: the intents a business handles, with example utterances and handling flags.

Admins edit ``config/playbook.yaml`` (path: ``FRONTDESK_CLASSIFIER__PLAYBOOK``). A bad file is a
``ConfigError`` naming the intent and the field, so a typo never reaches production silently.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.yamlfile import line_of, read_yaml

CATEGORIES = frozenset(
    {
        "billing",
        "account",
        "orders_and_shipping",
        "returns_and_refunds",
        "technical",
        "product_question",
        "feature_request",
        "bug_report",
        "general",
    }
)


class Urgency(enum.IntEnum):
    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class Tier(enum.StrEnum):
    SIMPLE = "simple"
    COMPLEX = "complex"


@dataclass(frozen=True, slots=True)
class Intent:
    name: str
    category: str
    tier: Tier
    examples: tuple[str, ...]
    urgency: Urgency = Urgency.NORMAL
    escalate_always: bool = False
    sensitive: bool = False
    kb: tuple[str, ...] = ()
    reply: str | None = None


OUT_OF_SCOPE = "__out_of_scope__"
"""Training label of the playbook's ``out_of_scope`` examples: never a real intent."""


@dataclass(frozen=True, slots=True)
class Playbook:
    intents: tuple[Intent, ...]
    out_of_scope: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [i.name for i in self.intents]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"playbook: intent {duplicates[0]!r} is defined twice")

    def get(self, name: str) -> Intent | None:
        return next((i for i in self.intents if i.name == name), None)

    @property
    def training_data(self) -> tuple[list[str], list[str]]:
        texts: list[str] = []
        labels: list[str] = []
        for intent in self.intents:
            texts.extend(intent.examples)
            labels.extend([intent.name] * len(intent.examples))
        texts.extend(self.out_of_scope)
        labels.extend([OUT_OF_SCOPE] * len(self.out_of_scope))
        return texts, labels

    @classmethod
    def load(cls, path: Path, known_kb_ids: Sequence[str] | None = None) -> Playbook:
        document = read_yaml(path, "playbook")
        items = document.get("intents") if isinstance(document, dict) else None
        if not isinstance(items, list) or not items:
            raise ConfigError(f"playbook: {path} must hold a non-empty list under 'intents:'")
        intents = tuple(_intent(item, number, path) for number, item in enumerate(items, 1))
        negatives = document.get("out_of_scope") or []
        if not isinstance(negatives, list) or not all(isinstance(n, str) for n in negatives):
            raise ConfigError(f"playbook: {path}: out_of_scope must be a list of messages")
        playbook = cls(intents, tuple(n.strip() for n in negatives if n.strip()))
        if known_kb_ids is not None:
            known = set(known_kb_ids)
            for item, intent in zip(items, intents, strict=True):
                for kb_id in intent.kb:
                    if kb_id not in known:
                        raise ConfigError(
                            f"playbook: {_where(path, item)}intent {intent.name!r}: kb entry "
                            f"{kb_id!r} does not exist in the knowledge base"
                        )
        return playbook


def _where(path: Path, item: Any) -> str:
    line = line_of(item)
    return f"{path}, line {line}: " if line is not None else f"{path}: "


def _intent(item: Any, number: int, path: Path) -> Intent:
    if not isinstance(item, dict):
        raise ConfigError(f"playbook: {path} intent #{number} is not a mapping")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"playbook: {_where(path, item)}intent #{number} has no 'name'")
    where = f"playbook: {_where(path, item)}intent {name!r}"
    unknown = set(item) - {"name", "category", "tier", "urgency", "escalate", "sensitive",
                           "kb", "examples", "reply"}  # fmt: skip
    if unknown:
        raise ConfigError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    category = item.get("category", "general")
    if category not in CATEGORIES:
        raise ConfigError(f"{where}: category {category!r} is not one of {sorted(CATEGORIES)}")
    examples = item.get("examples")
    if not isinstance(examples, list) or len(examples) < 2:
        raise ConfigError(f"{where}: needs a list of at least 2 'examples'")
    if not all(isinstance(e, str) and e.strip() for e in examples):
        raise ConfigError(f"{where}: every example must be non-empty text")
    escalate = item.get("escalate")
    if escalate not in (None, "always", False):
        raise ConfigError(f"{where}: escalate must be 'always' (or left out)")
    kb = item.get("kb") or []
    if not isinstance(kb, list):
        raise ConfigError(f"{where}: kb must be a list of knowledge-base ids")
    return Intent(
        name=name.strip(),
        category=category,
        tier=_enum(Tier, item.get("tier", "simple"), f"{where}: tier"),
        examples=tuple(e.strip() for e in examples),
        urgency=_urgency(item.get("urgency", "normal"), where),
        escalate_always=escalate == "always",
        sensitive=bool(item.get("sensitive", False)),
        kb=tuple(str(k) for k in kb),
        reply=str(item["reply"]).strip() if item.get("reply") else None,
    )


def _enum(kind: type[Tier], value: Any, where: str) -> Tier:
    try:
        return kind(value)
    except ValueError as err:
        allowed = ", ".join(m.value for m in kind)
        raise ConfigError(f"{where} {value!r} is not one of {allowed}") from err


def _urgency(value: Any, where: str) -> Urgency:
    try:
        return Urgency[str(value).upper()]
    except KeyError as err:
        raise ConfigError(f"{where}: urgency {value!r} is not low, normal, high or urgent") from err
