"""What Clio should hold for one transaction (R8-R11, §5): pure, from the purchase, its plan (R4-R9) and
what the directory answered about each customer. No I/O: ``resolve`` asks, ``transaction`` acts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hardcost.codes import FailureCode
from hardcost.models.clio import Activity, HardCostEntryWrite, IdRef, Matter
from hardcost.models.qbo import Purchase
from hardcost.models.records import TenantSettings
from hardcost.rules import CustomerGroup, PlannedFailure, build_note, choose_matter, content_hash, legacy_note


@dataclass(frozen=True)
class Resolution:
    """What the directory said about one customer of the transaction: its Clio contact and that contact's
    matters, or why there is none (``failure``)."""

    customer_id: str
    contact_id: int | None = None
    contact_name: str | None = None
    matters: tuple[Matter, ...] = ()
    project_name: str | None = None
    failure: PlannedFailure | None = None


@dataclass(frozen=True)
class DesiredEntry:
    """One Clio entry as it should be: what to write, for which contact, and whether it lacks a matter."""

    group: CustomerGroup
    contact_id: int
    write: HardCostEntryWrite
    needs_matter: bool
    contact_name: str | None = None
    # The note the service wrote for this entry while notes carried a marker (``rules.legacy_note``).
    legacy_note: str = ""

    @property
    def hash(self) -> str:
        """The fields the service keeps in step; matter and user are the firm's once created (R11)."""
        return content_hash(self.write.model_dump(mode="json", exclude={"matter", "user"}))

    @property
    def legacy_hash(self) -> str:
        """The hash of the same fields as the service wrote them while notes carried a marker."""
        legacy = self.write.model_copy(update={"note": self.legacy_note})
        return content_hash(legacy.model_dump(mode="json", exclude={"matter", "user"}))

    def in_step(self, content_hash: str | None) -> bool:
        """Whether the entry recorded under ``content_hash`` holds what this one would write. An entry created while
        notes carried a marker is in step too: it is rewritten when its transaction changes, not for the note's form."""
        return content_hash is not None and content_hash in (self.hash, self.legacy_hash)


def same_entry(activity: Activity, want: DesiredEntry) -> bool:
    """An entry already in Clio is this one (§4, a first import after the firm's data was deleted) when its date,
    amount, reference and note are exactly those the import would write, or, for an entry created while notes
    carried a marker, exactly the note it wrote then; its matter and user may be the firm's."""
    write = want.write
    return (
        activity.date == write.date
        and activity.price == write.price
        and (activity.reference or None) == (write.reference or None)
        and (activity.note or "") in (write.note, want.legacy_note)
    )


def desired_entries(
    purchase: Purchase,
    groups: tuple[CustomerGroup, ...],
    resolutions: Mapping[str, Resolution],
    settings: TenantSettings,
    *,
    owner_id: Callable[[], int | None],
    vendor_id: int | None,
) -> tuple[dict[str, DesiredEntry], dict[str, PlannedFailure]]:
    """One entry per resolved customer (R9); each unresolved one becomes its failure (R8). ``owner_id`` gives
    Clio's account owner (R11), asked only when an entry is planned and the firm set no default user."""
    assert purchase.TxnDate is not None  # plan_purchase refuses a purchase without a date
    desired: dict[str, DesiredEntry] = {}
    failures: dict[str, PlannedFailure] = {}
    for group in groups:
        found = resolutions[group.customer_id]
        if found.failure is not None or found.contact_id is None:
            failures[group.customer_id] = found.failure or PlannedFailure.of_group(
                FailureCode.NO_CLIO_CONTACT, group, "no Clio contact"
            )
            continue
        choice = choose_matter(found.matters, found.project_name)
        if choice.has_no_matter:
            failures[group.customer_id] = PlannedFailure.of_group(
                FailureCode.CONTACT_HAS_NO_MATTER,
                group,
                f'contact "{found.contact_name}" has no matter',
                contact_id=found.contact_id,
                contact_name=found.contact_name,
            )
            continue
        user_id = settings.default_user_id or owner_id()
        currency = purchase.CurrencyRef.value if purchase.CurrencyRef else None
        category = settings.clio_expense_category_id
        write = HardCostEntryWrite(
            date=purchase.TxnDate,
            price=group.amount,
            note=build_note(purchase, group, currency, include_memo=settings.include_memo_in_note),
            reference=purchase.DocNumber,
            non_billable=group.non_billable,
            vendor=IdRef(id=vendor_id) if vendor_id else None,
            expense_category=IdRef(id=category) if category else None,
            matter=IdRef(id=choice.matter_id) if choice.matter_id else None,
            user=IdRef(id=user_id) if user_id else None,
        )
        desired[group.customer_id] = DesiredEntry(
            group,
            found.contact_id,
            write,
            choice.needs_matter,
            contact_name=found.contact_name,
            legacy_note=legacy_note(purchase, group, currency),
        )
    return desired, failures
