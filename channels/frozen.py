"""A fast constructor for the hottest frozen value objects (issue 13: CPU per message).

A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__``: a call of a
slot wrapper that builds two argument tuples and looks the name up again, about 1,400 CPU
instructions a field on Python 3.11 (a plain attribute store is under 100), on top of the
class call itself (``type.__call__`` -> ``__init__``). A few values are built several times for
every message (turns, references, the policy's facts, passages), which made these ``__init__``s
about 4% of the bench's time.

``builder(cls)`` returns a function taking every field positionally, in declaration order,
that makes the same instance without the class call: as an instance of a twin class with the
same slots, whose fields are plain attribute stores, which then becomes a ``cls``
(``_twin``). A reference costs 2,500 instructions so, where ``ConversationRef(...)`` takes
8,700 (and writing each slot through its descriptor, the way taken where no twin fits, 5,000).
The value is exactly what ``cls(*values)`` makes: same type, equal, same hash, still frozen
(assignment raises ``FrozenInstanceError``). It refuses a class it could not build faithfully
(not a frozen slots dataclass, or one with ``__post_init__`` or ``InitVar``/``init=False``
fields), and, taking no defaults, a field added to the class breaks every caller that does not
pass it instead of leaving a slot unset.
Use it only where a value is built on every message; everywhere else call the class.

``constructor(cls)`` takes the fields the way the class does instead: the same parameters
with the same defaults (a ``default_factory`` called for each value built), by position or by
name, and typed as the class's own call; for a class with many defaulted fields, where a call
that names the few it sets reads better than every field in order. Its values are equally
exactly what ``cls(...)`` makes with the same arguments.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

T = TypeVar("T")
P = ParamSpec("P")

_UNSET = object()  # a ``default_factory`` field's parameter default: make a new value


def builder(cls: type[T]) -> Callable[..., T]:
    """Every field positionally, in order, none defaulted (see the module's docstring)."""
    return _compile(cls, defaults=False)


def constructor(cls: Callable[P, T]) -> Callable[P, T]:
    """The class's own parameters and defaults (see the module's docstring)."""
    return _compile(cast(type[T], cls), defaults=True)


def _compile(cls: type[T], *, defaults: bool) -> Callable[..., T]:
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen slots dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__ that a builder would skip")
    # ``fields`` leaves out InitVars and ClassVars, which ``__dataclass_fields__`` also lists.
    fields: tuple[dataclasses.Field[Any], ...] = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = [f.name for f in fields]
    declared: dict[str, Any] = cls.__dict__["__dataclass_fields__"]
    if not all(f.init for f in fields) or len(names) != len(declared):
        raise TypeError(f"{cls.__name__} has fields its __init__ does not take as they are")
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_unset": _UNSET}
    params, body = list(names), []
    if defaults:
        if any(f.kw_only for f in fields):
            raise TypeError(f"{cls.__name__} has keyword-only fields")
        for i, f in enumerate(fields):
            if f.default is not dataclasses.MISSING:
                scope[f"_default{i}"] = f.default
                params[i] = f"{f.name}=_default{i}"
            elif f.default_factory is not dataclasses.MISSING:
                scope[f"_factory{i}"] = f.default_factory
                params[i] = f"{f.name}=_unset"
                body.append(f"    if {f.name} is _unset: {f.name} = _factory{i}()")
    lines = [f"def build_{cls.__name__}({', '.join(params)}):", *body]
    slots = [next(k.__dict__[name] for k in cls.__mro__ if name in k.__dict__) for name in names]
    if not all(isinstance(slot, types.MemberDescriptorType) for slot in slots):
        raise TypeError(f"{cls.__name__} has a field that is not a slot")
    twin = _twin(cls, names)
    if twin is not None:
        scope["_twin"] = twin
        lines.append("    self = _twin()")
        lines += [f"    self.{name} = {name}" for name in names]
        lines.append("    self.__class__ = _cls")
    else:
        lines.append("    self = _new(_cls)")
        for i, (name, slot) in enumerate(zip(names, slots, strict=True)):
            scope[f"_set{i}"] = slot.__set__  # writes the slot, whatever the __setattr__
            lines.append(f"    _set{i}(self, {name})")
    lines.append("    return self")
    exec("\n".join(lines), scope)  # our own text, made from the field names
    built: Callable[..., T] = scope[f"build_{cls.__name__}"]
    return built


def _twin(cls: type, names: list[str]) -> type | None:
    """A plain class with the very layout of ``cls`` (same base, same slots) but no frozen
    ``__setattr__``: its instance takes plain attribute stores (a specialised ``STORE_ATTR``,
    a few dozen instructions a field, where a slot's ``__set__`` costs some 700), then becomes
    a ``cls`` by ``__class__`` assignment, which Python allows between classes of one layout.
    None where that does not hold (inherited or name-mangled slots): then each slot is written
    through its descriptor."""
    own = cls.__dict__["__slots__"]
    if cls.__bases__ != (object,) or not set(names) <= set(own):
        return None
    if any(name.startswith("__") for name in own if name != "__weakref__"):
        return None
    twin = type(f"_{cls.__name__}Builder", (object,), {"__slots__": own})
    try:
        twin().__class__ = cls  # Python's own layout check, once (the probe is dropped)
    except TypeError:
        return None
    return twin
