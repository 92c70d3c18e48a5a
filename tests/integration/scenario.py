"""The seed's renewal scenario on the simulator, shared by the operator's integration tests.

A twilio-approved France mobile business bundle with phone numbers; then the default regulation
change, which adds an end-user field (business_registration_authority) and a field to the
commercial register excerpt (issue_date) and gives the bundle a valid_until. The spec below
supplies both; `missing_field_spec` leaves one out (NeedsInput).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.sim_fixtures import Sim, SimAccount

# Values chosen to be recognisable in a log scan (they must never appear in operator output).
END_USER_VALUE = "Registre-Du-Commerce-Paris-7731"
DOCUMENT_VALUE = "2024-02-29-IssueDate-5521"

CREDENTIALS_SECRET = "twilio-credentials"
COPIES_ROUTE = "/v2/RegulatoryCompliance/Bundles/{BundleSid}/Copies"


@dataclass
class RenewalCase:
    account: SimAccount
    bundle_sid: str
    phone_numbers: list[str]
    documents_by_type: dict[str, str]
    end_user_sid: str


def seed_due_bundle(sim: Sim, phone_numbers: int = 2, **change: Any) -> RenewalCase:
    """An approved bundle in a new account that a regulation change (the default one, or
    `change` as the simulator's admin API takes it) made due (valid_until set)."""
    account = sim.new_account()
    seeded = sim.seed_approved_bundle(account.sid, phone_numbers=phone_numbers)
    changed = sim.change_regulation(**change)
    assert seeded["bundle_sid"] in changed["affected_bundle_sids"]
    assert sim.admin.bundle(seeded["bundle_sid"])["valid_until"] is not None
    return RenewalCase(
        account=account,
        bundle_sid=seeded["bundle_sid"],
        phone_numbers=list(seeded["phone_number_sids"]),
        documents_by_type=dict(seeded["documents_by_type"]),
        end_user_sid=seeded["end_user_sid"],
    )


NEW_DOCUMENT_TYPE = "utility_bill"
NEW_DOCUMENT_VALUE = "ACCT-55-Utility-0193"
NEW_DOCUMENT_FILE = b"%PDF-1.4 utility bill scan for the test"
DOCUMENTS_SECRET = "renewal-documents"


def seed_due_bundle_needing_new_document(sim: Sim, phone_numbers: int = 1) -> RenewalCase:
    """As seed_due_bundle, but the regulation change also requires a document type the bundle
    lacks (a utility bill with an account number), so the renewal creates and uploads one."""
    return seed_due_bundle(
        sim,
        phone_numbers,
        end_user_fields=[
            {
                "machine_name": "business_registration_authority",
                "friendly_name": "Business Registration Authority",
            }
        ],
        new_requirements=[
            {
                "requirement_name": "utility_bill_info",
                "accepted_types": [NEW_DOCUMENT_TYPE],
                "fields": [{"machine_name": "account_number", "friendly_name": "Account Number"}],
            }
        ],
    )


def new_document_spec(bundle_sid: str, secret_name: str = CREDENTIALS_SECRET) -> dict[str, Any]:
    return {
        "bundleSid": bundle_sid,
        "credentialsSecretRef": {"name": secret_name},
        "endUser": {"attributes": {"business_registration_authority": END_USER_VALUE}},
        "supportingDocuments": [
            {
                "type": NEW_DOCUMENT_TYPE,
                "attributes": {"account_number": NEW_DOCUMENT_VALUE},
                "file": {
                    "secretKeyRef": {"name": DOCUMENTS_SECRET, "key": "bill.pdf"},
                    "contentType": "application/pdf",
                    "filename": "bill.pdf",
                },
            }
        ],
    }


def assert_new_document_renewed(sim: Sim, case: RenewalCase) -> None:
    """The original now holds exactly one utility bill (with its file), no stray document of the
    renewal is left unassigned, and no copy is left."""
    original = bundle_state(sim, case.bundle_sid)
    assert original["status"] == "twilio-approved"
    assert original["valid_until"] is None
    assert original["phone_number_sids"] == case.phone_numbers
    account = account_state(sim, case.account.sid)
    items = set(original["item_object_sids"])
    bills = [d for d in account["supporting_documents"] if d["type"] == NEW_DOCUMENT_TYPE]
    assert len(bills) == 1, bills
    assert bills[0]["sid"] in items
    assert bills[0]["attributes"]["account_number"] == NEW_DOCUMENT_VALUE
    assert bills[0]["mime_type"] == "application/pdf"
    assert copies_of(sim, case) == []
    assert copies_created(sim, case.account.sid) == 1


def renewal_spec(bundle_sid: str, secret_name: str = CREDENTIALS_SECRET) -> dict[str, Any]:
    return {
        "bundleSid": bundle_sid,
        "credentialsSecretRef": {"name": secret_name},
        "endUser": {"attributes": {"business_registration_authority": END_USER_VALUE}},
        "supportingDocuments": [
            {"type": "commercial_registrar_excerpt", "attributes": {"issue_date": DOCUMENT_VALUE}}
        ],
    }


# renewal_spec's values in Secrets: the end-user's every key an attribute (attributesFrom), the
# document's read by key (valueFrom).
END_USER_SECRET = "acme-end-user"  # every key an end-user attribute (attributesFrom)
DOCUMENT_SECRET = "acme-documents"  # read key by key (valueFrom)
DOCUMENT_KEY = "excerpt-issue-date"


def values_spec(bundle_sid: str) -> dict[str, Any]:
    """renewal_spec with every value in a Secret (`value_secrets` holds their data)."""
    return {
        "bundleSid": bundle_sid,
        "credentialsSecretRef": {"name": CREDENTIALS_SECRET},
        "endUser": {"attributesFrom": [{"secretRef": {"name": END_USER_SECRET}}]},
        "supportingDocuments": [
            {
                "type": "commercial_registrar_excerpt",
                "attributes": {
                    "issue_date": {
                        "valueFrom": {
                            "secretKeyRef": {"name": DOCUMENT_SECRET, "key": DOCUMENT_KEY}
                        }
                    }
                },
            }
        ],
    }


def value_secrets() -> dict[str, dict[str, str]]:
    """The Secrets values_spec reads, by name: their data (renewal_spec's values)."""
    return {
        END_USER_SECRET: {"business_registration_authority": END_USER_VALUE},
        DOCUMENT_SECRET: {DOCUMENT_KEY: DOCUMENT_VALUE},
    }


def missing_field_spec(bundle_sid: str, secret_name: str = CREDENTIALS_SECRET) -> dict[str, Any]:
    """The end-user field the regulation now requires is left out."""
    spec = renewal_spec(bundle_sid, secret_name)
    del spec["endUser"]
    return spec


def secret_data(account: SimAccount) -> dict[str, str]:
    return {"accountSid": account.sid, "authToken": account.auth_token}


def bundle_state(sim: Sim, sid: str) -> dict[str, Any]:
    return sim.admin.bundle(sid)


def account_state(sim: Sim, account_sid: str) -> dict[str, Any]:
    for account in sim.state()["accounts"]:
        if account["account_sid"] == account_sid:
            result: dict[str, Any] = account
            return result
    raise KeyError(account_sid)


def copies_of(sim: Sim, case: RenewalCase) -> list[dict[str, Any]]:
    account = account_state(sim, case.account.sid)
    return [b for b in account["bundles"] if b.get("copy_of") == case.bundle_sid]


def requests_by_route(sim: Sim, account_sid: str) -> Counter[str]:
    """`METHOD route` -> number of requests this account made (any status)."""
    counts: Counter[str] = Counter()
    for row in sim.stats()["requests"]:
        if row["account_sid"] == account_sid:
            counts[f"{row['method']} {row['route']}"] += row["count"]
    return counts


def successful_writes(sim: Sim, account_sid: str) -> int:
    return sum(
        row["count"]
        for row in sim.stats()["requests"]
        if row["account_sid"] == account_sid
        and row["method"] in ("POST", "DELETE")
        and 200 <= row["status"] < 300
    )


def copies_created(sim: Sim, account_sid: str) -> int:
    return sum(
        row["count"]
        for row in sim.stats()["requests"]
        if row["account_sid"] == account_sid
        and row["method"] == "POST"
        and row["route"] == COPIES_ROUTE
        and row["status"] == 201
    )


def assert_renewed(sim: Sim, case: RenewalCase) -> None:
    """The original carries the spec's values, has no valid_until, keeps its numbers; no copy."""
    original = bundle_state(sim, case.bundle_sid)
    assert original["status"] == "twilio-approved"
    assert original["valid_until"] is None
    assert original["phone_number_sids"] == case.phone_numbers
    account = account_state(sim, case.account.sid)
    items = set(original["item_object_sids"])
    end_users = [u for u in account["end_users"] if u["sid"] in items]
    assert len(end_users) == 1
    assert end_users[0]["attributes"]["business_registration_authority"] == END_USER_VALUE
    excerpts = [
        d
        for d in account["supporting_documents"]
        if d["sid"] in items and d["type"] == "commercial_registrar_excerpt"
    ]
    assert len(excerpts) == 1
    assert excerpts[0]["attributes"]["issue_date"] == DOCUMENT_VALUE
    assert copies_of(sim, case) == []
    assert copies_created(sim, case.account.sid) == 1
