"""What the mapper needs, passed in (built once per container by ``hardcost.deps.runtime``), and what it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from hardcost.clients.ports import ClioApi, QboApi
from hardcost.clock import Clock
from hardcost.logic.directory import Directory, TenantDirectory
from hardcost.logic.sync.plan import DesiredEntry, same_entry
from hardcost.models.clio import Activity
from hardcost.models.records import ActivityLogRecord, TenantRecord
from hardcost.stores.ports import Queue, Stores

TENANT_CACHE_FOR = timedelta(seconds=60)

OutcomeKind = Literal["imported", "updated", "removed", "unchanged", "ignored", "failed", "held", "skipped"]


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    txn_id: str
    detail: str = ""
    created: int = 0
    updated: int = 0
    deleted: int = 0
    tenant_id: str = ""


@dataclass
class ExistingEntries:
    """The HardCostEntries that were in Clio before the tenant was (re)created: its first import adopts those
    matching an entry exactly, each once, instead of creating them again (§4)."""

    loaded_at: datetime
    tenant_created_at: datetime  # a tenant deleted and created again has other entries before it
    activities: list[Activity]

    def claim(self, want: DesiredEntry) -> Activity | None:
        for index, activity in enumerate(self.activities):
            if same_entry(activity, want):
                return self.activities.pop(index)
        return None


@dataclass
class MapperContext:
    stores: Stores
    clock: Clock
    qbo_for: Callable[[TenantRecord], QboApi]
    clio_for: Callable[[TenantRecord], ClioApi]
    worker_id: str
    queue: Queue | None = None
    max_receive_count: int = 5
    # Kept by the runtime across invocations (per container and tenant); the rest lives for one batch.
    directory_caches: dict[str, TenantDirectory] = field(default_factory=dict)
    tenant_cache: dict[str, tuple[datetime, TenantRecord]] = field(default_factory=dict)
    existing_entries: dict[str, ExistingEntries] = field(default_factory=dict)
    tenants: dict[str, TenantRecord] = field(default_factory=dict)
    directories: dict[str, Directory] = field(default_factory=dict)
    # The firm's activity log, written once per batch (it is a view, not part of the exactly-once protocol).
    activity: list[ActivityLogRecord] = field(default_factory=list)

    def tenant(self, tenant_id: str, version: tuple[datetime, int] | None = None) -> TenantRecord | None:
        """The tenant record, from a copy when that is fresh enough for the message.

        A message the poller sent carries the tenant revision it read (``version``): this container's copy
        serves it if at least that new and read within TENANT_CACHE_FOR, so the import reads the tenant
        about once a minute instead of once per batch. A message without one (a webhook's) is served only
        a copy read during this invocation. An unknown tenant is read again every time.
        """
        held = self.tenants.get(tenant_id)
        if held is None and version is not None and tenant_id in self.tenant_cache:
            read_at, copy = self.tenant_cache[tenant_id]
            held = copy if self.clock.now() - read_at < TENANT_CACHE_FOR else None
        if held is not None and (version is None or (version[0] == held.created_at and version[1] <= held.revision)):
            return held
        tenant = self.stores.tenants.get(tenant_id)
        self.remember_tenant(tenant_id, tenant)
        return tenant

    def remember_tenant(self, tenant_id: str, tenant: TenantRecord | None) -> None:
        if tenant is None:
            self.tenants.pop(tenant_id, None)
            self.tenant_cache.pop(tenant_id, None)
        else:
            self.tenants[tenant_id] = tenant
            self.tenant_cache[tenant_id] = (self.clock.now(), tenant)

    def directory(self, tenant: TenantRecord) -> Directory:
        if tenant.tenant_id not in self.directories:
            cache = self.directory_caches.setdefault(tenant.tenant_id, TenantDirectory())
            self.directories[tenant.tenant_id] = Directory(
                self.qbo_for(tenant),
                self.clio_for(tenant),
                self.clock,
                cache,
                lists=self.stores.qbo_lists,
                tenant_id=tenant.tenant_id,
            )
        return self.directories[tenant.tenant_id]

    def existing(self, tenant: TenantRecord) -> ExistingEntries:
        """Read once per container and tenant (one listing, then claimed from memory, each claim looked up)."""
        pool = self.existing_entries.get(tenant.tenant_id)
        now = self.clock.now()
        # What Clio held before the tenant was created cannot grow, so one listing serves the whole import however
        # long it runs; what the firm deletes or edits meanwhile is caught by looking each entry up before adopting.
        if pool is None or pool.tenant_created_at != tenant.created_at:
            listed = self.clio_for(tenant).hard_cost_entries(dated_from=tenant.settings.start_date)
            # Only what was there before this tenant existed: never an entry this import created itself.
            before = [a for a in listed if a.created_at is not None and a.created_at < tenant.created_at]
            pool = self.existing_entries[tenant.tenant_id] = ExistingEntries(now, tenant.created_at, before)
        return pool

    def log(self, entry: ActivityLogRecord) -> None:
        self.activity.append(entry)

    def flush_activity(self) -> None:
        """Write the batch's activity log lines (the mapper calls it once its batch is done)."""
        pending, self.activity = self.activity, []
        if pending:
            self.stores.activity.append_many(pending)
