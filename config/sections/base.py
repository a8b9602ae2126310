"""What every settings section shares: the base model, field types and their checks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr
from pydantic_settings import NoDecode

ENV_PREFIX = "FRONTDESK_"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return yaml.safe_load(text)
            except yaml.YAMLError as err:
                raise ValueError(
                    'not a valid list: write a,b or a JSON list such as ["a", "b"]'
                ) from err
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(
            "empty: customers would be sent a blank message; set a text or leave it out"
        )
    return value


def _not_empty_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not value.get_secret_value().strip():
        raise ValueError("empty: set a value or leave the variable out")
    return value


def path_not_empty(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        raise ValueError("empty: name a path or leave the variable out for the default")
    return value


CsvList = Annotated[list[str], NoDecode, BeforeValidator(_split_csv)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveSeconds = Annotated[float, Field(gt=0)]
CustomerText = Annotated[str, AfterValidator(_not_blank)]
"""Text a customer may be sent: an empty one would leave them in silence."""
Key = Annotated[SecretStr | None, AfterValidator(_not_empty_secret)]
NonEmptyPath = Annotated[Path, BeforeValidator(path_not_empty)]


class Section(BaseModel):
    # inf and nan pass ``gt=0`` and then break timers (``timedelta(seconds=inf)``) far away.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def require(value: object, name: str, why: str) -> None:
    if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
        raise ValueError(f"{ENV_PREFIX}{name}: required {why}")
