"""DynamoDB's item values written to the response as they are, for ``faster_moto`` (benchmarks only).

moto 5.2 serialises every response through its generic, shape-driven serializer: for each ``AttributeValue`` of
every item it asks its attribute picker for each of the ten members (``S``, ``N``, ``B``, ... each tried under two
spellings), which is most of what a ``Query`` or a ``GetItem`` costs it — about a third of a ``make bench-month``.
A value moto holds for an item is already in the wire's form (``{"S": "..."}``, maps of such, lists of such), so
the generic walk only copies it. ``attribute_value_copy`` makes that copy directly when the value is one of the
forms whose generic result is exactly that copy; anything else (binary, a set of binaries, a number moto holds as
a number, a member the picker would find under another spelling) is left to the generic serializer, so the
response is the same byte for byte (``tests/unit/test_moto_speedups.py`` compares the two).
"""

from __future__ import annotations

from typing import Any

_STRINGS = frozenset({"S", "N"})
_STRING_SETS = frozenset({"SS", "NS"})
_BOOLEANS = frozenset({"BOOL", "NULL"})


class NotPlain(Exception):
    """The value is not one the direct copy is known to serialise as the generic walk does."""


def attribute_value_copy(value: Any) -> dict[str, Any]:
    """The serialised form of one ``AttributeValue`` (a fresh copy), or ``NotPlain``."""
    if type(value) is not dict or len(value) != 1:
        raise NotPlain
    ((kind, inner),) = value.items()
    if kind in _STRINGS:
        if type(inner) is not str:
            raise NotPlain
        return {kind: inner}
    if kind in _BOOLEANS:
        if type(inner) is not bool:
            raise NotPlain
        return {kind: inner}
    if kind in _STRING_SETS:
        if type(inner) is not list or any(type(member) is not str for member in inner):
            raise NotPlain
        return {kind: list(inner)}
    if kind == "M":
        if type(inner) is not dict or any(type(name) is not str for name in inner):
            raise NotPlain
        return {"M": {name: attribute_value_copy(member) for name, member in inner.items()}}
    if kind == "L":
        if type(inner) is not list:
            raise NotPlain
        return {"L": [attribute_value_copy(member) for member in inner]}
    raise NotPlain  # B, BS, or a member the picker would look for under another name


def direct_attribute_values(generic: Any) -> Any:
    """A replacement for the JSON serializer's ``_serialize_type_structure`` that copies plain ``AttributeValue``s
    and hands everything else to ``generic`` (the method it replaces)."""

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and self.service_model.service_name == "dynamodb":
            try:
                copied = attribute_value_copy(value)
            except NotPlain:
                pass
            else:
                self._default_serialize(serialized, copied, shape, key)
                return
        generic(self, serialized, value, shape, key)

    return serialize_structure
