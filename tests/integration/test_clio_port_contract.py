"""One contract for the Clio port, held by the HTTP client against the Clio simulator and by the fake the unit
tests of the mapper use: creates, updates under an ETag, deletions, billed entries and the listing of entries
created since a moment (crash recovery, R15) behave the same in both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from devstack.clock import SimClock
from devstack.sims.clio.simulator import ClioSimulator
from hardcost.clients.clio import ClioClient
from hardcost.clients.ports import ClioApi
from hardcost.errors import ConflictError, EntryBilledError, NotFoundError
from hardcost.models.clio import ActivityPatch, HardCostEntryWrite, IdRef
from hardcost.rules.recognition import recognise, sent_entry
from tests.fakes.clients import FakeClio

pytestmark = pytest.mark.integration

ACCOUNT = "firm-a"
CONTACT, MATTER, OTHER_MATTER, CATEGORY = 1000, 10, 11, 5


@dataclass
class Side:
    clio: ClioApi
    bill: Callable[[int], None]
    edit_note: Callable[[int, str], None]
    now: Callable[[], datetime]
    advance: Callable[[timedelta], None]


@pytest.fixture(params=["memory", "simulator"])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    if request.param == "memory":
        fake = FakeClio()
        fake.add_contact(CONTACT, "Red Rock Diner", (MATTER, "Open"), (OTHER_MATTER, "Open"))

        def advance_fake(delta: timedelta) -> None:
            fake.now += delta

        yield Side(fake, fake.firm_bills, lambda i, note: fake.firm_edits(i, note=note), lambda: fake.now, advance_fake)
        return
    clock = SimClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    with ClioSimulator(clock) as sim, httpx.Client(timeout=2) as http:
        sim.add_account(
            ACCOUNT,
            users=[
                {"id": 1, "name": "Pat Owner", "account_owner": True, "enabled": True},
                {"id": 2, "name": "Sam Clerk", "account_owner": False, "enabled": True},
            ],
            contacts=[{"id": CONTACT, "name": "Red Rock Diner", "type": "Company"}],
            matters=[
                {"id": MATTER, "client": {"id": CONTACT}, "display_number": "00010-Lease"},
                {"id": OTHER_MATTER, "client": {"id": CONTACT}, "display_number": "00011-Permits"},
            ],
            expense_categories=[{"id": CATEGORY, "name": "Court fees", "entry_type": "hard_cost"}],
        )
        token = str(sim.issue_tokens(ACCOUNT)["access_token"])
        client = ClioClient(http, base_url=sim.base_url, token=lambda _: token)
        yield Side(
            client,
            lambda i: sim.bill_activity(ACCOUNT, {"id": i}),
            lambda i, note: sim.edit_activity(ACCOUNT, {"id": i}, {"note": note}),
            clock.now,
            lambda delta: _advance(clock, delta),
        )


def _advance(clock: SimClock, delta: timedelta) -> None:
    clock.advance(delta)


def entry(note: str = "Red Rock Diner: Filing fee (QuickBooks Check 1001)", price: str = "40.00") -> HardCostEntryWrite:
    return HardCostEntryWrite(
        date=date(2026, 2, 20), price=Decimal(price), note=note, reference="1001", matter=IdRef(id=MATTER),
        user=IdRef(id=1),
    )  # fmt: skip


def patch(price: str, note: str = "Red Rock Diner: Filing fee (QuickBooks Check 1001)") -> ActivityPatch:
    return ActivityPatch(date=date(2026, 2, 21), price=Decimal(price), note=note, reference="1001")


def test_a_created_entry_is_read_back_with_what_was_written(side: Side) -> None:
    created = side.clio.create_hard_cost(entry())
    read = side.clio.get_activity(created.id)
    assert read is not None
    assert (read.date, read.price, read.note, read.reference) == (
        date(2026, 2, 20),
        Decimal("40.00"),
        entry().note,
        "1001",
    )
    assert read.matter is not None and read.matter.id == MATTER
    assert [a.id for a in side.clio.hard_cost_entries()] == [created.id]


def test_an_update_needs_the_current_etag(side: Side) -> None:
    created = side.clio.create_hard_cost(entry())
    updated = side.clio.update_activity(created.id, patch("41.00"), created.etag)
    assert updated.price == Decimal("41.00") and updated.etag != created.etag
    with pytest.raises(ConflictError):
        side.clio.update_activity(created.id, patch("42.00"), created.etag)


def test_an_edit_by_the_firm_changes_the_etag(side: Side) -> None:
    created = side.clio.create_hard_cost(entry())
    side.edit_note(created.id, "the firm's own words")
    with pytest.raises(ConflictError):
        side.clio.update_activity(created.id, patch("41.00"), created.etag)


def test_a_deleted_entry_is_gone_once_and_cannot_be_updated(side: Side) -> None:
    created = side.clio.create_hard_cost(entry())
    assert side.clio.delete_activity(created.id) is True
    assert side.clio.delete_activity(created.id) is False
    assert side.clio.get_activity(created.id) is None
    with pytest.raises(NotFoundError):
        side.clio.update_activity(created.id, patch("41.00"), None)


def test_a_billed_entry_can_be_neither_changed_nor_deleted(side: Side) -> None:
    created = side.clio.create_hard_cost(entry())
    side.bill(created.id)
    with pytest.raises(EntryBilledError):
        side.clio.update_activity(created.id, patch("41.00"), None)
    with pytest.raises(EntryBilledError):
        side.clio.delete_activity(created.id)
    read = side.clio.get_activity(created.id)
    assert read is not None and read.billed


def test_entries_created_since_a_moment_are_listed_by_day_matter_and_user_with_every_field_written(
    side: Side,
) -> None:
    # Given an entry created before a moment, and after it ours and three that differ in day, matter or user
    side.clio.create_hard_cost(entry(note="Before"))
    moment = side.now()
    side.advance(timedelta(seconds=5))
    write = entry().model_copy(update={"vendor": IdRef(id=CONTACT), "expense_category": IdRef(id=CATEGORY)})
    ours = side.clio.create_hard_cost(write)
    other_day = side.clio.create_hard_cost(entry().model_copy(update={"date": date(2026, 2, 21)}))
    other_matter = side.clio.create_hard_cost(entry().model_copy(update={"matter": IdRef(id=OTHER_MATTER)}))
    other_user = side.clio.create_hard_cost(entry().model_copy(update={"user": IdRef(id=2)}))
    # When the entries created since the moment are listed, narrowed to our day, matter and user
    narrowed = side.clio.hard_costs_created_since(moment, dated=write.date, matter_id=MATTER, user_id=1)
    # Then ours alone is there, with every field its create wrote (so it is recognised by them)
    assert [a.id for a in narrowed] == [ours.id]
    assert recognise(narrowed, sent_entry(write), moment).activity == narrowed[0]
    # And without the narrowing every entry created since is listed, none before
    listed = side.clio.hard_costs_created_since(moment)
    assert [a.id for a in listed] == [ours.id, other_day.id, other_matter.id, other_user.id]


def test_a_contacts_matters_are_listed(side: Side) -> None:
    assert [m.id for m in side.clio.matters_of(CONTACT)] == [MATTER, OTHER_MATTER]
    contact = side.clio.contact(CONTACT)
    assert contact is not None and contact.name == "Red Rock Diner"


def test_contacts_are_searched_by_part_of_their_name(side: Side) -> None:
    assert [c.id for c in side.clio.search_contacts("rock")] == [CONTACT]
    assert side.clio.search_contacts("nobody by that name") == []


def test_the_firms_choice_of_matter_is_set_on_an_entry_but_never_on_a_billed_one(side: Side) -> None:
    created = side.clio.create_hard_cost(entry().model_copy(update={"matter": None}))
    assert created.matter is None
    chosen = side.clio.set_activity_matter(created.id, MATTER)
    assert chosen.matter is not None and chosen.matter.id == MATTER
    side.bill(created.id)
    with pytest.raises(EntryBilledError):
        side.clio.set_activity_matter(created.id, MATTER)
