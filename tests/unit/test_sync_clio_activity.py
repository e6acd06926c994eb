"""What Clio's activity webhook tells the mapper (``logic.sync.clio_activity``, R11-R13): the service's own change is
recognised by its ETag and changes nothing (no lock taken); a deletion by the firm is kept, so a later QBO edit does
not re-create the entry; a restore resumes syncing; a billed entry is known locked; a matter the firm linked takes
the entry off the needs-matter list."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hardcost.models.records import EntryRecord
from tests.fakes.mapper import TENANT, Firm, purchase
from tests.unit.test_sync_work import deliver, snapshot


def change(activity_id: int, event: str, **fields: Any) -> str:
    return json.dumps(
        {"kind": "clio_activity", "tenant_id": TENANT, "activity_id": activity_id, "event": event, **fields}
    )


def _imported(firm: Firm, *lines: tuple[str, str]) -> EntryRecord:
    deliver(firm, snapshot(purchase("501", *(lines or (("20", "40.00"),)))))
    mapping = firm.stores.mappings.get(TENANT, "501")
    assert mapping is not None
    return next(iter(mapping.entries.values()))


def _entry(firm: Firm) -> EntryRecord:
    mapping = firm.stores.mappings.get(TENANT, "501")
    assert mapping is not None
    return next(iter(mapping.entries.values()))


def test_the_services_own_change_is_recognised_by_its_etag_and_takes_no_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    firm = Firm()
    entry = _imported(firm)

    def no_lock(*_: object, **__: object) -> None:
        raise AssertionError("an event that changes nothing takes no lock")

    monkeypatch.setattr(firm.stores.mappings, "lock", no_lock)
    outcome = deliver(
        firm, change(entry.activity_id or 0, "created", etag=entry.etag, matter_known=True, matter_id=100)
    )
    assert (outcome.kind, outcome.detail) == ("unchanged", "the service's own change")
    assert _entry(firm) == entry


def test_an_event_about_an_entry_not_the_services_is_ignored() -> None:
    firm = Firm()
    _imported(firm)
    assert deliver(firm, change(99_999, "deleted")).kind == "ignored"


def test_a_deletion_by_the_firm_is_kept_and_a_later_qbo_edit_does_not_recreate_it() -> None:
    firm = Firm()
    entry = _imported(firm)
    firm.clio.delete_activity(entry.activity_id or 0)
    outcome = deliver(firm, change(entry.activity_id or 0, "deleted", etag='"gone"'))
    assert outcome.kind == "updated"
    assert _entry(firm).state == "gone"
    assert any("deleted in Clio by the firm" in line.detail for line in firm.stores.activity.lines)
    # A later edit in QBO: nothing is created again
    deliver(firm, snapshot(purchase("501", ("20", "55.00"), version=1)))
    assert firm.clio.activities == {}


def test_a_restore_from_the_recovery_bin_resumes_syncing() -> None:
    firm = Firm()
    entry = _imported(firm)
    deliver(firm, change(entry.activity_id or 0, "deleted", etag='"gone"'))
    outcome = deliver(firm, change(entry.activity_id or 0, "created", etag='"back"'))
    assert outcome.kind == "updated"
    assert _entry(firm).state == "live"


def test_a_billed_entry_is_known_locked_until_unbilled() -> None:
    firm = Firm()
    entry = _imported(firm)
    deliver(firm, change(entry.activity_id or 0, "updated", etag='"b"', billed=True))
    assert _entry(firm).billed
    deliver(firm, change(entry.activity_id or 0, "updated", etag='"u"', billed=False))
    assert not _entry(firm).billed


def test_a_matter_the_firm_links_takes_the_entry_off_the_needs_matter_list() -> None:
    firm = Firm()
    firm.clio.add_contact(11, "Blue Lantern LLC", (110, "Open"), (111, "Open"))
    firm.qbo.add_customer("21", "Blue Lantern LLC")
    entry = _imported(firm, ("21", "30.00"))
    assert entry.needs_matter and len(firm.stores.needs_matter.list(TENANT)) == 1
    outcome = deliver(firm, change(entry.activity_id or 0, "updated", etag='"m"', matter_known=True, matter_id=111))
    assert outcome.kind == "updated"
    assert firm.stores.needs_matter.list(TENANT) == []
    assert not _entry(firm).needs_matter
