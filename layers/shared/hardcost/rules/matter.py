"""R10: which of a contact's matters an entry goes on, sub-customers' projects first (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hardcost.models.clio import Matter
from hardcost.rules.customers import normalize_name

# --- R10 and sub-customers: which matter --------------------------------------------------------


@dataclass(frozen=True)
class MatterChoice:
    matter_id: int | None
    needs_matter: bool
    has_no_matter: bool
    reason: str


def choose_matter(matters: Sequence[Matter], project_name: str | None = None) -> MatterChoice:
    if not matters:
        return MatterChoice(None, needs_matter=False, has_no_matter=True, reason="the contact has no matter")
    live = [m for m in matters if m.is_open_or_pending]
    if project_name:
        wanted = normalize_name(project_name)
        named = [m for m in live if _matter_matches(m, wanted)]  # a closed matter is never linked (R10)
        if len(named) == 1:
            return MatterChoice(named[0].id, False, False, f'matter named like project "{project_name}"')
    if len(live) == 1:
        return MatterChoice(live[0].id, False, False, "the only open or pending matter")
    reason = f"{len(live)} open or pending matters" if live else "only closed matters"
    return MatterChoice(None, needs_matter=True, has_no_matter=False, reason=reason)


def _matter_matches(matter: Matter, wanted: str) -> bool:
    fields = (normalize_name(matter.display_number), normalize_name(matter.description))
    return any(value == wanted or (wanted and value.endswith(wanted)) for value in fields if value)
