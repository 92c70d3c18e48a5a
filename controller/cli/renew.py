"""`renew`: request a renewal now, as `cmctl renew` does for certificates.

It sets `spec.renewalRequest` to a new value (the time, to the microsecond, and who asked); the
operator renews when that value differs from `status.lastRenewalRequest` (see
controller/core/workflow/at_rest.py, renewal_requested), even if Twilio set no valid_until. A merge
patch of that one field: nothing else in the spec changes. Which resources: names in one
namespace, a label selector, or all, in one namespace or (-A) every namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controller.cli.kube import Kube


@dataclass(frozen=True)
class Touched:
    namespace: str
    name: str
    renewal_request: str
    suspended: bool


def request_value(now: datetime) -> str:
    return f"{now.isoformat(timespec='microseconds')} bundle-renewal renew"


def targets(
    kube: Kube,
    namespace: str | None,
    names: list[str],
    selector: str | None,
) -> list[tuple[str, str, bool]]:
    """(namespace, name, suspended) of each resource to renew; a missing name is an error."""
    if names:
        assert namespace is not None
        found = [kube.get_renewal(namespace, name) for name in names]
    else:
        found = kube.list_renewals(namespace, selector)
    return [
        (
            item["metadata"]["namespace"],
            item["metadata"]["name"],
            bool((item.get("spec") or {}).get("suspend")),
        )
        for item in found
    ]


def renew(kube: Kube, chosen: list[tuple[str, str, bool]], now: datetime) -> list[Touched]:
    value = request_value(now)
    touched = []
    for namespace, name, suspended in chosen:
        kube.patch_renewal_spec(namespace, name, {"renewalRequest": value})
        touched.append(Touched(namespace, name, value, suspended))
    return touched
