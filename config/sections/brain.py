"""The brain's sections: knowledge base, classifier, semantic embeddings, escalation policy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from config.sections.base import CsvList, PositiveSeconds, Probability, Section, path_not_empty

PACKAGED_KNOWLEDGE_DIR = Path(__file__).parent.parent / "knowledge"
PACKAGED_PLAYBOOK = Path(__file__).parent.parent / "playbook.yaml"


class KnowledgeSettings(Section):
    dir: Path | None = None
    answer_threshold: Probability = 0.45

    _dir_not_empty = field_validator("dir", mode="before")(path_not_empty)

    @property
    def path(self) -> Path:
        return self.dir if self.dir is not None else PACKAGED_KNOWLEDGE_DIR


class ClassifierSettings(Section):
    """Intent classification and language detection."""

    playbook: Path | None = None
    languages: CsvList = ["en", "de", "fr", "es"]
    oos_threshold: Probability = 0.3

    @property
    def playbook_path(self) -> Path:
        return self.playbook if self.playbook is not None else PACKAGED_PLAYBOOK

    _playbook_not_empty = field_validator("playbook", mode="before")(path_not_empty)

    @field_validator("languages")
    @classmethod
    def _iso_codes(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one language (ISO 639-1 code such as en)")
        for code in value:
            if not re.fullmatch(r"[a-z]{2}", code):
                raise ValueError(f"{code!r} is not a two-letter ISO 639-1 code such as en or de")
        return value


DEFAULT_MODEL_DIR = Path.home() / ".cache" / "frontdesk" / "models" / "all-MiniLM-L6-v2"


class EmbeddingsSettings(Section):
    """Optional semantic layer under retrieval (brain/embeddings.py); ``none`` = lexical only."""

    provider: Literal["none", "local", "openai"] = "none"
    model: str | None = None  # default: all-MiniLM-L6-v2 (local), text-embedding-3-small
    model_dir: Path | None = None  # local: a folder with model.onnx + tokenizer.json
    # local: run an int8 copy of model.onnx (made once, kept beside the vectors): about 40% less
    # CPU per query, vectors within 0.9995 cosine of the float model's (brain/quantize.py)
    quantize: bool = True
    base_url: str | None = None  # openai: any OpenAI-compatible /v1 endpoint
    api_key: SecretStr | None = None
    timeout_seconds: PositiveSeconds = 10.0

    @property
    def model_path(self) -> Path:
        """Where ``local`` looks for an ONNX model (``scripts/offline-model`` installs there)."""
        return self.model_dir if self.model_dir is not None else DEFAULT_MODEL_DIR


class EscalationSettings(Section):
    sentiment_threshold: float = Field(-0.6, ge=-1.0, le=1.0)
    max_turns: int = Field(8, ge=1)
    sensitive_keywords: CsvList = ["lawyer", "legal action", "chargeback", "cancel my account"]
    vip_user_ids: CsvList = []
    vip_email_domains: CsvList = []
    vip_always_human: bool = True
    still_waiting_minutes: float = Field(5.0, gt=0)
    """While a ticket waits unclaimed, at most one "still with the team" note per this long."""
