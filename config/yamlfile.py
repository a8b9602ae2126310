"""One YAML reader for every file an operator edits: settings, knowledge base, playbook.

Two things differ from ``yaml.safe_load``:

- YAML 1.1 reads ``10:30`` as the base-60 number 630 (and ``1:30:00`` as 5400), so a digest time
  or an opening hour silently becomes seconds. This loader keeps such plain scalars as text;
  the field's own validator decides what they mean.
- Every problem is one line, ``<what>: <file>, line <n>: <problem>``, and mappings remember the
  line they start on (``line_of``), so a validator further on can point at the right place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError

_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


class _Mapping(dict[Any, Any]):
    """A YAML mapping that knows the (1-based) line it starts on."""

    line: int = 0


# libyaml's parser (when PyYAML was built with it) is faster and, unlike the pure-Python one,
# accepts a "?" inside a flow list (``questions: [Can I return it?]``), which people write.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """A safe loader without YAML 1.1's base-60 numbers, with line numbers on mappings."""

    first_line = 1


def _without_sexagesimal() -> None:
    # PyYAML keeps the implicit resolvers in a class-level dict keyed by first character (shared
    # with SafeLoader: copy it) and the first matching resolver wins, so a string resolver
    # placed first for the digits keeps base-60-looking scalars as text.
    resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    for first in "-+0123456789":
        resolvers[first] = [("tag:yaml.org,2002:str", _SEXAGESIMAL), *resolvers.get(first, [])]
    _Loader.yaml_implicit_resolvers = resolvers


_without_sexagesimal()


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Iterator[_Mapping]:
    mapping = _Mapping()
    mapping.line = node.start_mark.line + loader.first_line
    yield mapping
    mapping.update(loader.construct_mapping(node, deep=False))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def line_of(value: object) -> int | None:
    """The line a mapping read by this module starts on (None for anything else)."""
    return value.line if isinstance(value, _Mapping) else None


def parse_yaml(text: str, source: str, what: str, first_line: int = 1) -> Any:
    """Parse ``text`` (from ``source``, starting at ``first_line`` of that file)."""
    loader = _Loader(text)
    loader.first_line = first_line
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f", line {mark.line + first_line}" if mark is not None else ""
        problem = err.problem or err.context or "not valid YAML"
        raise ConfigError(f"{what}: {source}{line}: not valid YAML ({problem})") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{what}: {source}: not valid YAML") from err
    finally:
        loader.dispose()


def read_text(path: Path, what: str) -> str:
    """The file as UTF-8 text, or one ``ConfigError`` line saying why not."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{what}: cannot read {path}: {err.strerror or err}") from err
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError(f"{what}: {path}, line {line}: not valid UTF-8 text") from err


def read_yaml(path: Path, what: str) -> Any:
    return parse_yaml(read_text(path, what), str(path), what)
