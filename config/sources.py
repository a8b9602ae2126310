"""Where settings come from besides the environment: the ``.env`` file and the YAML file.

``config/settings.py`` reads them (``read_env_file``, ``read_yaml``) and puts them, for the
duration of one ``Settings()``, under the environment as pydantic-settings sources
(``layered``): environment, then ``.env``, then YAML, then the defaults.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic_settings import EnvSettingsSource, PydanticBaseSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from config.errors import ConfigError
from config.sections.base import ENV_PREFIX

_yaml_layer: ContextVar[dict[str, Any]] = ContextVar("frontdesk_yaml_layer", default={})  # noqa: B039
_dotenv_layer: ContextVar[dict[str, str]] = ContextVar("frontdesk_dotenv", default={})  # noqa: B039


class DotEnvLayer(EnvSettingsSource):
    """The ``FRONTDESK_*`` lines of the ``.env`` file (read by ``load_settings``), below the
    environment. Other tools' variables in a shared ``.env`` never reach validation."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(_dotenv_layer.get(), self.case_sensitive, self.env_ignore_empty,
                              self.env_parse_none_str)  # fmt: skip


class YamlLayer(PydanticBaseSettingsSource):
    """The parsed YAML file, below environment and ``.env`` in priority."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_yaml_layer.get())


@contextmanager
def layered(yaml_layer: dict[str, Any], dotenv: dict[str, str]) -> Iterator[None]:
    """The YAML file's and the ``.env`` file's values as the sources of ``Settings()`` inside."""
    tokens = (_yaml_layer.set(yaml_layer), _dotenv_layer.set(dotenv))
    try:
        yield
    finally:
        _yaml_layer.reset(tokens[0])
        _dotenv_layer.reset(tokens[1])


def read_env_file(path: Path) -> dict[str, str]:
    """The ``FRONTDESK_*`` variables of a ``.env`` file; lines of other tools are left alone."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"--env-file: cannot read {path}: {err.strerror or err}") from err
    lines = []
    for number, line in enumerate(raw.splitlines(), start=1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError as err:
            name = re.match(rb"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
            key = name.group(1).decode().upper() if name else ""
            if not name or key.startswith(ENV_PREFIX):
                where = f"{key} in {path}" if key else str(path)
                raise ConfigError(f"{where}, line {number}: not valid UTF-8 text") from err
            lines.append("")  # another tool's line: not ours to judge
    values = dotenv_values(stream=io.StringIO("\n".join(lines)))
    return {
        key: value
        for key, value in values.items()
        if value is not None and key.upper().startswith(ENV_PREFIX)
    }
