"""Where a reconcile's decisions land in the cluster: the status subresource and events.

`KopfSink` writes `.status` with a JSON merge patch (`status_patch`) and posts events on the
object through Kopf; after every status write it refreshes the process's view of the resource
(callback routing, and the per-resource metrics: figures, completed renewals, review times).
"""

from __future__ import annotations

from typing import Any

import kopf
from pydantic import BaseModel

from controller.adapters.cluster import ClusterAccessError
from controller.core.models import BundleRenewalStatus
from controller.core.parsing import RenewalObject
from controller.core.plan import Event
from controller.operator.runtime import Runtime


class StatusWriteFailed(Exception):
    """The API server did not take `status` (no answer, or a refusal); the message says why.
    `transient`: no answer or a server error, worth writing again as it is."""

    def __init__(self, cause: ClusterAccessError, status: BundleRenewalStatus):
        super().__init__(str(cause))
        self.status = status
        self.transient = cause.status is None or cause.status >= 500


class KopfSink:
    """Writes status through the status subresource and posts events on the object."""

    def __init__(self, runtime: Runtime, body: kopf.Body, obj: RenewalObject):
        self.runtime = runtime
        self.body = body
        self.obj = obj

    async def write_status(self, status: BundleRenewalStatus) -> None:
        runtime, obj = self.runtime, self.obj
        if runtime.cluster is None:
            raise RuntimeError("the operator has not started")
        previous = runtime.last_written(obj.uid) or obj.status
        try:
            await runtime.cluster.patch_status(obj.namespace, obj.name, status_patch(status))
        except ClusterAccessError as exc:
            raise StatusWriteFailed(exc, status) from exc
        runtime.status_written(obj.owner, obj.bundle_sid, previous, status)

    def post_event(self, event: Event) -> None:
        kopf.event(self.body, type=event.type.value, reason=event.reason, message=event.message)

    def note(self, status: BundleRenewalStatus) -> None:
        self.runtime.noted(self.obj.owner, self.obj.bundle_sid, status)


def status_patch(status: BaseModel) -> dict[str, Any]:
    """A JSON merge patch that makes `.status` equal `status` (a BundleRenewal's, or a
    ComplianceAccount's): fields that are unset now become null, which removes them. Lists are
    replaced whole by a merge patch, so inside them unset fields are left out instead (a null
    there would be stored, and refused by the schema)."""
    dumped: dict[str, Any] = _without_nulls_in_lists(
        status.model_dump(mode="json", by_alias=True, exclude_none=False), in_list=False
    )
    return dumped


def _without_nulls_in_lists(value: Any, *, in_list: bool) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_nulls_in_lists(item, in_list=in_list)
            for key, item in value.items()
            if not (in_list and item is None)
        }
    if isinstance(value, list):
        return [_without_nulls_in_lists(item, in_list=True) for item in value]
    return value
