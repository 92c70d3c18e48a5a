"""The demo's Twilio side: one approved bundle per example, the regulation changes that make
them due, and examples/ rendered with the seeded bundle SIDs."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from devtools.demo.common import (
    EXAMPLES,
    NAMESPACE,
    say,
)
from twilio_sim import sids
from twilio_sim.admin_client import AdminClient

FR_MOBILE_BUSINESS = sids.stable_sid(sids.REGULATION, "FR/mobile/business")


GB_MOBILE_INDIVIDUAL = sids.stable_sid(sids.REGULATION, "GB/mobile/individual")


DE_LOCAL_BUSINESS = sids.stable_sid(sids.REGULATION, "DE/local/business")


AU_LOCAL_INDIVIDUAL = sids.stable_sid(sids.REGULATION, "AU/local/individual")


@dataclass(frozen=True)
class Example:
    """A BundleRenewal of examples/, the bundle the demo seeds for it, and where it must end."""

    name: str
    regulation_sid: str
    expected_phase: str
    end_user: dict[str, str]


EXAMPLE_RENEWALS = [
    Example("acme-fr-mobile", FR_MOBILE_BUSINESS, "Completed", {}),
    Example("jane-doe-gb-mobile", GB_MOBILE_INDIVIDUAL, "Completed", {}),
    Example(
        "jane-doe-gb-national-id",
        GB_MOBILE_INDIVIDUAL,
        "Completed",
        {"first_name": "Jane", "last_name": "Doe"},
    ),
    Example("acme-de-local", DE_LOCAL_BUSINESS, "Completed", {}),
    Example("sam-lee-au-local", AU_LOCAL_INDIVIDUAL, "Completed", {}),
    Example("acme-fr-landline-paused", FR_MOBILE_BUSINESS, "Suspended", {}),
]


# Regulation changes published after seeding: Twilio sets valid_until on the bundles they affect.
REGULATION_CHANGES: dict[str, dict[str, Any]] = {
    FR_MOBILE_BUSINESS: {},  # the default change: a new end-user field and document field
    GB_MOBILE_INDIVIDUAL: {},
    DE_LOCAL_BUSINESS: {
        "new_requirements": [
            {
                "requirement_name": "power_of_attorney_info",
                "requirement_friendly_name": "Power of Attorney",
                "accepted_types": ["power_of_attorney"],
            }
        ]
    },
    # AU: no change; its example asks for a renewal explicitly (spec.renewalRequest).
}


#: A bundle no example renews, with a deadline: the ComplianceAccount example shows it uncovered.
UNCOVERED = "uncovered"


ACCOUNT_EXAMPLE = "acme-account"


def seed(admin: AdminClient, account_sid: str) -> dict[str, str]:
    """One approved bundle per example, then the regulation changes, then one dated bundle no
    example renews; example name (or UNCOVERED) -> bundle SID."""
    bundles = {}
    for example in EXAMPLE_RENEWALS:
        seeded = admin.seed_approved_bundle(
            account_sid,
            regulation_sid=example.regulation_sid,
            phone_numbers=2,
            friendly_name=f"{example.name} bundle",
            end_user_attributes=example.end_user,
        )
        bundles[example.name] = seeded["bundle_sid"]
    for regulation_sid, change in REGULATION_CHANGES.items():
        result = admin.change_regulation(regulation_sid, **change)
        say(
            f"regulation change on {regulation_sid}: valid_until set on"
            f" {len(result['affected_bundle_sids'])} bundle(s)"
        )
    deadline = datetime.now(UTC) + timedelta(days=45)
    bundles[UNCOVERED] = admin.seed_approved_bundle(
        account_sid,
        regulation_sid=AU_LOCAL_INDIVIDUAL,
        phone_numbers=1,
        friendly_name="bundle nobody renews",
        valid_until=deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )["bundle_sid"]
    return bundles


def example_documents() -> list[dict[str, Any]]:
    """Every object in examples/ except the credentials template (the demo makes the real one)."""
    documents: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        if path.name == "credentials-secret.yaml":
            continue
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def render_examples(bundles: dict[str, str], out_dir: Path) -> Path:
    """examples/ with each BundleRenewal's bundleSid replaced by its seeded bundle's SID."""
    documents = example_documents()
    names = set()
    for doc in documents:
        if doc["kind"] == "BundleRenewal":
            name = doc["metadata"]["name"]
            doc["spec"]["bundleSid"] = bundles[name]
            names.add(name)
    missing = {e.name for e in EXAMPLE_RENEWALS} ^ names
    if missing:
        raise RuntimeError(f"examples/ and the demo's seeding disagree on: {sorted(missing)}")
    # Secrets, ConfigMaps and the RoleBinding first, so that no renewal looks for them too early;
    # the ComplianceAccount last, so that its first scan finds the renewals.
    order = {"BundleRenewal": 1, "ComplianceAccount": 2}
    documents.sort(key=lambda doc: order.get(doc["kind"], 0))
    path = out_dir / "examples.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def credentials_secret(account_sid: str, auth_token: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "twilio-credentials", "namespace": NAMESPACE},
            "type": "Opaque",
            "data": {
                "accountSid": base64.b64encode(account_sid.encode()).decode(),
                "authToken": base64.b64encode(auth_token.encode()).decode(),
            },
        }
    )
