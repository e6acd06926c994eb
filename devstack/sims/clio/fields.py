"""The ``fields`` query parameter: parsing, checking against the spec, and shaping records with it.

Rules from https://docs.developers.clio.com/api-docs/fields (quoted in clio-api.md §1):
- without ``fields`` a record shows only ``id`` and ``etag``;
- ``matter{id,description}`` picks fields of an association; ``matter`` alone gives its default fields;
- inside the braces a further association (``matter{client}``) shows only its default fields, and asking for its
  fields (``matter{client{date_of_birth}}``) is a 400, as is any name the endpoint does not have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from devstack.sims.clio.errors import bad_request
from devstack.sims.clio.records import FieldKinds, JSONDict, Lookup, Stored
from devstack.sims.clio.spec_fields import ASSOCIATED_SCHEMAS, RESOURCE_SCHEMAS


@dataclass(frozen=True)
class FieldRequest:
    name: str
    # None when no braces were given: the association's default fields.
    nested: tuple[FieldRequest, ...] | None = None


def parse_fields(raw: str | None) -> tuple[FieldRequest, ...] | None:
    """``"id,matter{id,display_number}"`` -> requests; None when the parameter is absent."""
    if raw is None:
        return None
    requests, position = _parse_list(raw, 0, depth=0)
    if position != len(raw):
        raise bad_request(f"Invalid fields parameter: unexpected '{raw[position]}' at position {position}")
    return requests


def _parse_list(raw: str, position: int, *, depth: int) -> tuple[tuple[FieldRequest, ...], int]:
    requests: list[FieldRequest] = []
    while True:
        start = position
        while position < len(raw) and raw[position] not in ",{}":
            position += 1
        name = raw[start:position].strip()
        if not name:
            raise bad_request(f"Invalid fields parameter: empty field name at position {start}")
        nested: tuple[FieldRequest, ...] | None = None
        if position < len(raw) and raw[position] == "{":
            if depth >= 1:
                raise bad_request(
                    f"Invalid fields parameter: fields of a second-level nested resource ('{name}{{...}}') "
                    "cannot be requested"
                )
            nested, position = _parse_list(raw, position + 1, depth=depth + 1)
            if position >= len(raw) or raw[position] != "}":
                raise bad_request(f"Invalid fields parameter: '{name}{{' is not closed")
            position += 1
        requests.append(FieldRequest(name, nested))
        if position < len(raw) and raw[position] == ",":
            position += 1
            continue
        return tuple(requests), position


def nested_field_kinds(target_schema: str) -> FieldKinds:
    """The names allowed inside ``assoc{...}`` for an association whose spec schema is ``target_schema``."""
    full = target_schema.removesuffix("[]").removesuffix("_base")
    if full in RESOURCE_SCHEMAS:
        # The documented example matter{id,description,client} asks for an association of the nested Matter, which
        # Matter_base lacks, so the full schema's names are allowed for the resources the simulator serves.
        return RESOURCE_SCHEMAS[full]
    return dict.fromkeys(ASSOCIATED_SCHEMAS[target_schema.removesuffix("[]")])


def check_fields(resource: str, requests: tuple[FieldRequest, ...] | None) -> None:
    """400 for any name the resource's schema (or a nested association's schema) does not have."""
    if requests is None:
        return
    field_kinds = RESOURCE_SCHEMAS[resource]
    for request in requests:
        if request.name not in field_kinds:
            raise bad_request(f"Invalid fields parameter: {resource} has no field '{request.name}'")
        target = field_kinds[request.name]
        if request.nested is None:
            continue
        if target is None:
            raise bad_request(f"Invalid fields parameter: '{request.name}' is not a nested resource")
        allowed = nested_field_kinds(target)
        for inner in request.nested:
            if inner.name not in allowed:
                raise bad_request(f"Invalid fields parameter: {request.name} has no field '{inner.name}'")


def render(record: Stored, requests: tuple[FieldRequest, ...] | None, lookup: Lookup) -> JSONDict:
    """The record as the API shows it for this ``fields`` request."""

    def nested(linked: Stored, inner: tuple[FieldRequest, ...] | None) -> JSONDict:
        # A second-level association shows only its default fields (Fields documentation).
        return _shown(linked, inner, lookup, lambda second, _: _defaults(second))

    return _shown(record, requests, lookup, nested)


def _shown(
    record: Stored,
    requests: tuple[FieldRequest, ...] | None,
    lookup: Lookup,
    associated: Callable[[Stored, tuple[FieldRequest, ...] | None], JSONDict],
) -> JSONDict:
    """The requested fields of ``record``; each association shown by ``associated`` with its nested request."""
    if requests is None:
        return _defaults(record)
    values = record.values(lookup)
    shown: JSONDict = {}
    for request in requests:
        target = record.field_kinds[request.name]
        if target is None:
            shown[request.name] = values[request.name]
            continue
        linked = record.linked(request.name, lookup)
        if target.endswith("[]"):
            items = linked if isinstance(linked, list) else []
            shown[request.name] = [associated(item, request.nested) for item in items]
        elif isinstance(linked, Stored):
            shown[request.name] = associated(linked, request.nested)
        else:
            shown[request.name] = None
    return shown


def _defaults(record: Stored) -> JSONDict:
    # "For most endpoints, the id and etag fields are the only default fields returned" (Fields documentation).
    return {"id": record.id, "etag": record.etag()}
