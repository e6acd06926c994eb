"""What a person does to an activity in Clio's UI (scenario steps clio_edit, clio_bill, clio_delete; and a restore from
the Recovery Bin, which no step names), each change announced to the firm's webhooks as Clio would."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devstack.sims.clio.errors import ApiError
from devstack.sims.clio.records import JSONDict
from devstack.sims.clio.seeds import SEED_KEYS
from devstack.sims.clio.store import Store
from devstack.sims.clio.webhooks import WebhookBook

# What a person can change on an activity in Clio's UI (scenario step clio_edit), in the output shape's names:
# everything a seed may give but its id and whether it is billed.
EDITABLE_ACTIVITY_FIELDS = SEED_KEYS["activity"] - {"id", "billed"}


class ActivityActions:
    """Mixed into ``ClioSimulator``, whose store and webhooks these are."""

    _store: Store
    _webhooks: WebhookBook

    def edit_activity(self, account_id: str, where: Mapping[str, Any], set_fields: Mapping[str, Any]) -> JSONDict:
        """Someone edits the one live activity ``where`` matches, e.g. set {"matter": {"id": 101}}."""
        store = self._store
        with store.lock:
            activity = store.find_activity(account_id, where)
            if activity.billed:
                raise ValueError(f"activity {activity.id} is billed; Clio does not let anyone edit it")
            unknown = set(set_fields) - EDITABLE_ACTIVITY_FIELDS
            if unknown:
                raise ValueError(f"cannot set {sorted(unknown)}; editable: {sorted(EDITABLE_ACTIVITY_FIELDS)}")
            data = dict(set_fields)
            unlink_matter = "matter" in data and data["matter"] is None
            if unlink_matter:
                # The UI can clear the matter even though the API refuses "matter": null.
                del data["matter"]
            try:
                changes = store.activity_changes(
                    account_id, data, creating=False, default_user_id=None, existing=activity
                )
            except ApiError as error:
                raise ValueError(f"Clio would refuse this edit: {error.message}") from None
            if unlink_matter:
                changes["matter_id"] = None
            with self._webhooks.updating("activity", activity):
                store.update_activity(activity, changes)
            return activity.summary(store)

    def bill_activity(self, account_id: str, where: Mapping[str, Any]) -> JSONDict:
        """The firm bills the activity: billed and on a bill; the API then refuses to change or delete it."""
        store = self._store
        with store.lock:
            activity = store.find_activity(account_id, where)
            with self._webhooks.updating("activity", activity):
                store.bill(activity)
            return activity.summary(store)

    def delete_activity(self, account_id: str, where: Mapping[str, Any]) -> JSONDict:
        """Someone deletes the activity in Clio: gone from the API, and not in ``recovery_bin`` (API deletes only)."""
        store = self._store
        with store.lock:
            activity = store.find_activity(account_id, where)
            if activity.billed:
                raise ValueError(f"activity {activity.id} is billed; Clio does not let anyone delete it")
            store.delete_activity_in_ui(activity)
            self._webhooks.deleted("activity", activity)
            return activity.summary(store)

    def restore_activity(self, account_id: str, activity_id: int, *, event: str = "created") -> JSONDict:
        """Someone restores a deleted activity from the Recovery Bin: live again under its id.

        Clio documents neither the Recovery Bin in its API nor the webhook event a restore sends
        (reference/clio-api.md); the record reappears, so ``created`` is announced unless ``event`` says ``updated``.
        """
        if event not in ("created", "updated"):
            raise ValueError(f"event must be 'created' or 'updated', not {event!r}")
        store = self._store
        with store.lock:
            store.account(account_id)
            activity = store.restore_activity(account_id, activity_id)
            self._webhooks.announce_restored("activity", activity, event)
            return activity.summary(store)
