"""Reading a BundleRenewal object as the API server hands it over: one entry, `read_object`.

The spec is parsed once, into everything the wiring needs: the workflow's `RenewalResource` (or
the reason the models refuse the spec, naming fields, never values), the resource for its
clean-up (a refused spec still names the bundle and the Secret, which the CRD validates: that is
all a clean-up needs), and the owner record that routes Twilio's status callbacks.
Pure: no Kopf, no cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from controller.core.bundle_owners import BundleOwner
from controller.core.models import BundleRenewalSpec, BundleRenewalStatus
from controller.core.plan import RenewalResource


@dataclass(frozen=True)
class RenewalObject:
    """A BundleRenewal object: identity, latest status, and its spec as far as it parses."""

    uid: str
    namespace: str
    name: str
    generation: int
    status: BundleRenewalStatus
    resource: RenewalResource | None
    """The workflow's view; None when the models refuse the spec (`problem` says why)."""
    problem: str | None
    bundle_sid: str | None
    """spec.bundleSid as stored (the CRD validates it), even when the models refuse the spec."""
    secret_name: str | None
    """spec.credentialsSecretRef.name as stored, likewise."""

    @property
    def owner(self) -> BundleOwner:
        return BundleOwner(self.uid, self.namespace, self.name, self.secret_name or "")

    def for_cleanup(self) -> RenewalResource | None:
        """The resource its clean-up works on; None only if not even the bundle and the Secret
        are usable (then there is nothing to clean up with)."""
        if self.resource is not None:
            return self.resource
        minimal = {"bundleSid": self.bundle_sid, "credentialsSecretRef": {"name": self.secret_name}}
        try:
            spec = BundleRenewalSpec.model_validate(minimal)
        except ValidationError:
            return None
        return self._resource(spec)

    def _resource(self, spec: BundleRenewalSpec) -> RenewalResource:
        return RenewalResource(
            uid=self.uid,
            namespace=self.namespace,
            name=self.name,
            generation=self.generation,
            spec=spec,
            status=self.status,
        )


def read_object(
    body: Mapping[str, Any], status: BundleRenewalStatus | None = None
) -> RenewalObject:
    """The object `body`, with `status` (the newest one this process wrote) over the stored one."""
    raw = copy.deepcopy(dict(body))
    metadata = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    if status is None:
        status = stored_status(raw)
    secret_ref = spec.get("credentialsSecretRef") if isinstance(spec, Mapping) else None
    bundle_sid = spec.get("bundleSid") if isinstance(spec, Mapping) else None
    secret_name = secret_ref.get("name") if isinstance(secret_ref, Mapping) else None
    parsed = RenewalObject(
        uid=str(metadata["uid"]),
        namespace=str(metadata["namespace"]),
        name=str(metadata["name"]),
        generation=int(metadata.get("generation") or 1),
        status=status,
        resource=None,
        problem=None,
        bundle_sid=bundle_sid if isinstance(bundle_sid, str) else None,
        secret_name=secret_name if isinstance(secret_name, str) else None,
    )
    try:
        resource = parsed._resource(BundleRenewalSpec.model_validate(spec))
    except ValidationError as exc:
        return replace(parsed, problem=describe_validation_error(exc))
    return replace(parsed, resource=resource)


def stored_status(body: Mapping[str, Any]) -> BundleRenewalStatus:
    """The status stored on the object; an empty one if it does not parse (e.g. written by an
    older version): the next reconcile writes a fresh one."""
    try:
        return BundleRenewalStatus.model_validate(copy.deepcopy(dict(body.get("status") or {})))
    except ValidationError:
        return BundleRenewalStatus()


def describe_validation_error(exc: ValidationError) -> str:
    """Where the spec is wrong and how, without echoing the values (they may be personal data)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "spec"
        problems.append(f"spec.{location}: {error['msg']}")
    return "invalid spec: " + "; ".join(problems)
