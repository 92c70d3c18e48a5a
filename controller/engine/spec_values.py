"""Attribute values given by reference, read from Secrets before the workflow decides.

An attribute value in the spec is a literal or a reference, `{valueFrom: {secretKeyRef: {name,
key}}}`; `endUser` and each `supportingDocuments` entry may also list `attributesFrom: [{secretRef:
{name}}]`, a Secret whose every key is an attribute. Precedence is a container's envFrom/env:
attributesFrom entries in order (a later one wins), then `attributes` over them all.

Why here and not in the workflow: the workflow compares the spec's values with Twilio's and must
see plain values, but reading a Secret is I/O, which the pure core never does. `resolve_spec`
turns a spec into one without references (`attributesFrom` emptied, every reference replaced by its
text), reading each Secret it names once, so a reconcile reads each Secret once however many
values come from it. GitOps tools that encrypt Secrets (Sealed Secrets, SOPS, External Secrets)
all end in a plain Secret, which is all this reads.

A value from a Secret is always a string: the key's data decoded as UTF-8, exactly as stored (as
Kubernetes does for env; a trailing newline stays). JSON is not parsed: every Twilio attribute
holding personal data is a string, the list-valued ones (address_sids) hold SIDs, which are not
personal and stay literal, and no text is ever guessed to be a number or a list.

A missing Secret or key, a key that is not UTF-8, or a Secret the operator may not read (HTTP
403) raises `ValueSecretError`: the resource stalls (reason ValueSecretMissing) and is retried
with the failure backoff, so that it resumes once the Secret is there (the operator does not
watch Secrets). An API server failure (5xx, no answer) stays a `ClusterAccessError` (transient).
Messages name the spec field, the Secret and the key, never a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from controller.adapters.cluster import ClusterAccessError, ObjectNotFound
from controller.core.models import (
    AttributesSource,
    AttributeValueRef,
    BundleRenewalSpec,
    EndUserSpec,
    SupportingDocumentSpec,
)
from controller.core.plan import RenewalResource
from controller.engine.credentials import SecretSource

# A Secret's data as read, or None when the Secret does not exist.
SecretData = Mapping[str, bytes] | None
Holder = TypeVar("Holder", EndUserSpec, SupportingDocumentSpec)


class ValueSecretError(Exception):
    """A Secret or key that attribute values come from is missing or unusable; the user's to fix.
    The message names spec fields, Secrets and keys only."""


def has_references(spec: BundleRenewalSpec) -> bool:
    """Whether any attribute value of `spec` comes from a Secret."""
    return bool(referenced_secrets(spec))


def referenced_secrets(spec: BundleRenewalSpec) -> list[str]:
    """The names of the Secrets `spec` reads attribute values from, each once, in spec order."""
    names: list[str] = []
    for holder in _holders(spec):
        names += [source.secret_ref.name for source in holder.attributes_from]
        for value in holder.attributes.values():
            if isinstance(value, AttributeValueRef):
                names.append(value.value_from.secret_key_ref.name)
    return list(dict.fromkeys(names))


async def resolve_spec(
    spec: BundleRenewalSpec, namespace: str, source: SecretSource
) -> BundleRenewalSpec:
    """`spec` with every reference replaced by its value, reading each Secret once in
    `namespace`. No reference, no read (and `spec` itself is returned)."""
    names = referenced_secrets(spec)
    if not names:
        return spec
    secrets: dict[str, SecretData] = {}
    for name in names:
        try:
            secrets[name] = await source.read_secret(namespace, name)
        except ObjectNotFound:
            secrets[name] = None
        except ClusterAccessError as exc:
            if exc.status is None or exc.status >= 500:
                raise  # the API server failed: transient, retried as such
            raise ValueSecretError(
                f"{exc}: the operator may not read Secret {name} (bind the credentials reader"
                " ClusterRole in this namespace)"
            ) from None
    return resolve_with(spec, secrets, namespace)


async def resolve_resource(resource: RenewalResource, source: SecretSource) -> RenewalResource:
    """`resource` with its spec resolved (itself when nothing is referenced)."""
    spec = await resolve_spec(resource.spec, resource.namespace, source)
    return resource if spec is resource.spec else resource.model_copy(update={"spec": spec})


def resolve_with(
    spec: BundleRenewalSpec, secrets: Mapping[str, SecretData], namespace: str
) -> BundleRenewalSpec:
    """`spec` with every reference replaced from `secrets` (name -> data, None: not found), or
    `ValueSecretError` listing every reference that cannot be resolved. Pure."""
    problems: list[str] = []
    end_user = spec.end_user
    if end_user is not None:
        end_user = _resolved(end_user, "spec.endUser", secrets, namespace, problems)
    documents = [
        _resolved(entry, f"spec.supportingDocuments[{index}]", secrets, namespace, problems)
        for index, entry in enumerate(spec.supporting_documents)
    ]
    if problems:
        raise ValueSecretError("; ".join(problems))
    return spec.model_copy(update={"end_user": end_user, "supporting_documents": documents})


def _holders(spec: BundleRenewalSpec) -> list[EndUserSpec | SupportingDocumentSpec]:
    holders: list[EndUserSpec | SupportingDocumentSpec] = []
    if spec.end_user is not None:
        holders.append(spec.end_user)
    return holders + list(spec.supporting_documents)


def _resolved(
    holder: Holder,
    where: str,
    secrets: Mapping[str, SecretData],
    namespace: str,
    problems: list[str],
) -> Holder:
    """The holder's attributes with references resolved and attributesFrom merged in (emptied);
    what cannot be resolved is appended to `problems`."""
    if not holder.attributes_from and not any(
        isinstance(v, AttributeValueRef) for v in holder.attributes.values()
    ):
        return holder
    attributes: dict[str, Any] = {}
    for index, source in enumerate(holder.attributes_from):
        attributes.update(
            _all_keys(source, f"{where}.attributesFrom[{index}]", secrets, namespace, problems)
        )
    for name, value in holder.attributes.items():
        if isinstance(value, AttributeValueRef):
            ref = value.value_from.secret_key_ref
            data = secrets.get(ref.name)
            at = f"{where}.attributes.{name}"
            if data is None:
                problems.append(f"{at}: Secret {ref.name} not found in namespace {namespace}")
                continue
            if ref.key not in data:
                problems.append(f"{at}: Secret {ref.name} has no key {ref.key}")
                continue
            value = _text(data[ref.key], at, ref.name, ref.key, problems)
        attributes[name] = value
    return holder.model_copy(update={"attributes": attributes, "attributes_from": []})


def _all_keys(
    source: AttributesSource,
    at: str,
    secrets: Mapping[str, SecretData],
    namespace: str,
    problems: list[str],
) -> dict[str, Any]:
    name = source.secret_ref.name
    data = secrets.get(name)
    if data is None:
        problems.append(f"{at}: Secret {name} not found in namespace {namespace}")
        return {}
    return {key: _text(raw, at, name, key, problems) for key, raw in data.items()}


def _text(raw: bytes, at: str, secret: str, key: str, problems: list[str]) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(f"{at}: Secret {secret} key {key} is not UTF-8 text")
        return None
