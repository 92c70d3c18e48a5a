"""Values from Secrets through the real reconcile loop against the in-memory Twilio: a missing key
stalls the resource before any Twilio call (no read, no write, no credentials), with a message that
names the Secret and the key; retries follow the failure backoff without an event per attempt;
once the key is there the renewal completes with the Secret's values at Twilio, which never
appear in status or events. A suspended resource and a clean-up read no value Secret."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from controller.core.conditions import get_condition
from controller.core.models import ConditionStatus, ConditionType, Phase, Reason
from controller.core.plan import ErrorKind
from controller.core.twilio_models import EndUser, SupportingDocument
from tests.fakes.fake_twilio import (
    POLICY,
    T0,
    FakeTwilio,
    Objects,
    Run,
    default_secrets,
    reconcile,
    resource,
)

PERSON = "acme-person"  # the documents' values, each by key (valueFrom)
END_USER = "acme-end-user"  # the end-user's, every key an attribute (attributesFrom)
BUSINESS = "ACME-Secret-SAS-7781"
FIRST = "Jeanne-Secret-4410"
LAST = "Durand-Secret-9921"
NUMBER = "K-Secret-552100554"
VALUES = [BUSINESS, FIRST, LAST, NUMBER]


def ref(key: str) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": PERSON, "key": key}}}


def values_spec() -> dict[str, Any]:
    """The seed's compliant spec (test_workflow_scenarios.seed_spec), every value from PERSON."""
    return {
        "endUser": {"attributesFrom": [{"secretRef": {"name": END_USER}}]},
        "supportingDocuments": [
            {
                "type": "commercial_registrar_excerpt",
                "attributes": {"document_number": ref("kbis")},
            },
            {
                "type": "government_issued_document",
                "match": {"friendlyName": "id-rep"},
                "attributes": {"last_name": ref("last")},
            },
            {
                "type": "government_issued_document",
                "match": {"friendlyName": "id-poa"},
                "attributes": {"last_name": ref("last")},
            },
            {
                "type": "power_of_attorney",
                "file": {
                    "secretKeyRef": {"name": "poa", "key": "poa.pdf"},
                    "contentType": "application/pdf",
                    "filename": "poa.pdf",
                },
            },
        ],
    }


@dataclass
class CountingObjects(Objects):
    reads: Counter[str] = field(default_factory=Counter)

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        self.reads[name] += 1
        return await super().read_secret(namespace, name)


def objects(**person: str) -> CountingObjects:
    """The default Secrets, END_USER's values, and PERSON with `person`."""
    secrets = default_secrets()
    secrets[END_USER] = {"business_name": BUSINESS.encode(), "first_name": FIRST.encode()}
    secrets[PERSON] = {key: value.encode() for key, value in person.items()}
    return CountingObjects(secrets=secrets)


def all_person_values() -> dict[str, str]:
    return {"kbis": NUMBER, "last": LAST}


def assert_no_value(run: Run) -> None:
    text = "\n".join(
        [s.model_dump_json() for s in run.statuses]
        + [f"{e.reason} {e.message}" for e in run.events]
    )
    for value in VALUES:
        assert value not in text


def test_a_missing_key_stalls_before_any_twilio_call_and_resumes_once_it_is_there() -> None:
    twilio = FakeTwilio.seed()
    person = all_person_values()
    del person["last"]
    cluster = objects(**person)
    res = resource(values_spec(), twilio)

    first = reconcile(res, twilio, T0, objects=cluster)
    assert first.error is ErrorKind.VALUE_SECRET
    assert twilio.calls == Counter()  # not even a read
    # Each Secret read once (PERSON for three references); the credentials are not read.
    assert cluster.reads == {END_USER: 1, PERSON: 1}
    status = first.resource.status
    assert status.phase == Phase.FAILED
    stalled = get_condition(status, ConditionType.STALLED)
    assert stalled is not None
    assert stalled.status == ConditionStatus.TRUE
    assert stalled.reason == Reason.VALUE_SECRET_MISSING
    assert status.last_failure_kind == "value_secret"
    message = status.message or ""
    assert f"Secret {PERSON} has no key last" in message
    assert "spec.supportingDocuments[1].attributes.last_name" in message
    assert "spec.supportingDocuments[2].attributes.last_name" in message
    assert [(e.type, e.reason) for e in first.events] == [("Warning", "ValueSecretMissing")]
    assert first.last.requeue_after == POLICY.backoff_base
    assert_no_value(first)

    # Retried after the backoff: still missing, one more read, no new event, a longer backoff.
    later = T0 + timedelta(seconds=POLICY.backoff_base)
    second = reconcile(first.resource, twilio, later, objects=cluster)
    assert second.error is ErrorKind.VALUE_SECRET
    assert second.events == []
    assert second.resource.status.failed_attempts == 2
    assert second.last.requeue_after == 2 * POLICY.backoff_base
    assert twilio.calls == Counter()

    # The key appears: the next retry renews with the Secret's values.
    cluster.secrets[PERSON]["last"] = LAST.encode()
    resumed = reconcile(second.resource, twilio, later + timedelta(minutes=1), objects=cluster)
    assert resumed.error is None
    assert resumed.resource.status.phase == Phase.IN_REVIEW, resumed.resource.status.message
    twilio.review(approve=True)
    done = reconcile(resumed.resource, twilio, later + timedelta(minutes=10), objects=cluster)
    assert done.resource.status.phase == Phase.COMPLETED
    assert cluster.reads[PERSON] == cluster.reads[END_USER] == 4  # once a reconcile

    objs = twilio.objects_of(twilio.original_sid)
    end_user = next(o for o in objs if isinstance(o, EndUser))
    assert end_user.attributes == {"business_name": BUSINESS, "first_name": FIRST}
    docs = {d.friendly_name: d for d in objs if isinstance(d, SupportingDocument)}
    assert docs["kbis"].attributes["document_number"] == NUMBER
    assert docs["id-rep"].attributes["last_name"] == LAST
    assert docs["id-poa"].attributes["last_name"] == LAST
    applied = done.resource.status.applied
    assert applied is not None
    assert applied.end_user_fields == ["business_name", "first_name"]
    for run in (resumed, done):
        assert_no_value(run)


def test_a_suspended_resource_reads_no_value_secret() -> None:
    twilio = FakeTwilio.seed()
    cluster = objects()  # PERSON has none of the keys
    res = resource({**values_spec(), "suspend": True}, twilio)
    run = reconcile(res, twilio, T0, objects=cluster)
    assert run.error is None
    assert run.resource.status.phase == Phase.SUSPENDED
    assert cluster.reads == Counter()


def test_the_clean_up_needs_no_value_secret() -> None:
    twilio = FakeTwilio.seed()
    cluster = objects(**all_person_values())
    res = resource(values_spec(), twilio)
    in_review = reconcile(res, twilio, T0, objects=cluster).resource
    twilio.review(approve=False)
    del cluster.secrets[PERSON], cluster.secrets[END_USER]  # e.g. the namespace is going
    reads = cluster.reads.copy()

    run = reconcile(in_review, twilio, T0 + timedelta(minutes=5), cleanup=True, objects=cluster)
    assert run.error is None
    assert twilio.live_copies() == []
    assert cluster.reads[PERSON] == reads[PERSON]
    assert cluster.reads[END_USER] == reads[END_USER]
