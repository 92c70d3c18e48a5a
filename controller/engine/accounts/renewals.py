"""The dry-run BundleRenewals a ComplianceAccount creates for its uncovered bundles
(`renewals.create: DryRun`). Pure: what to create; the daemon creates it.

Each is named after its account and bundle, so a second attempt (after a crash in the middle of
creating them, or from another replica) finds the first (409) instead of making a duplicate. It
always has `dryRun: true` and the account's own credentials Secret: the operator never creates
a renewal that writes at Twilio; a person turns dryRun off.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from controller.core.models import API_GROUP, API_VERSION, KIND, BundleRenewalSpec
from controller.core.models.account import ComplianceAccountSpec

#: Labels of every BundleRenewal a ComplianceAccount created (whose, and by what).
CREATED_BY = f"{API_GROUP}/compliance-account"
MANAGED_BY = "app.kubernetes.io/managed-by"
OPERATOR = "bundle-renewal-operator"
_MAX_NAME = 253
_MAX_LABEL = 63


class TemplateInvalid(ValueError):
    """The template does not make a valid BundleRenewal (message: the fields, no values)."""


def renewal_name(account_name: str, bundle_sid: str) -> str:
    """`<account>-<bundle SID in lower case>`, within a Kubernetes name's length."""
    suffix = f"-{bundle_sid.lower()}"
    return account_name[: _MAX_NAME - len(suffix)].rstrip("-.") + suffix


def renewal_body(account_name: str, spec: ComplianceAccountSpec, bundle_sid: str) -> dict[str, Any]:
    """The BundleRenewal to create for `bundle_sid`, checked against the BundleRenewal model."""
    renewal_spec = {
        **spec.renewals.template.spec,
        "bundleSid": bundle_sid,
        "credentialsSecretRef": {"name": spec.credentials_secret_ref.name},
        "dryRun": True,
    }
    try:
        BundleRenewalSpec.model_validate(renewal_spec)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "spec" for e in exc.errors()})
        raise TemplateInvalid(
            f"renewals.template.spec does not make a valid BundleRenewal: {', '.join(fields)}"
        ) from None
    owner = account_name[:_MAX_LABEL].rstrip("-._")
    labels = {**spec.renewals.template.labels, CREATED_BY: owner, MANAGED_BY: OPERATOR}
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": KIND,
        "metadata": {"name": renewal_name(account_name, bundle_sid), "labels": labels},
        "spec": renewal_spec,
    }
