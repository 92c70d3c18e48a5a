"""The preflight through the fake Twilio and the real reconcile loop: a spec naming what the
regulation does not accept stalls before any copy exists, and regulation reads are shared."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from controller.core.models import BundleRenewalSpec, ConditionType, Phase, Reason
from controller.core.plan import RegulationTerms
from controller.core.workflow.preflight import refusals
from controller.engine.regulation_cache import RegulationCache
from tests.fakes.fake_regulations import RegulatedFakeTwilio
from tests.fakes.fake_twilio import T0, reconcile, resource, with_spec
from tests.unit.core.test_workflow_scenarios import seed_spec

SENTINEL = "Sentinel-Value-7731"


def stalled_reason(status: Any) -> str | None:
    stalled = next(c for c in status.conditions if c.type == ConditionType.STALLED)
    return stalled.reason if stalled.status == "True" else None


def typo_spec() -> dict[str, Any]:
    spec = seed_spec(business=SENTINEL)
    spec["endUser"]["attributes"]["busines_name"] = spec["endUser"]["attributes"].pop(
        "business_name"
    )
    return spec


def test_a_typod_end_user_field_stalls_before_any_copy() -> None:
    twilio = RegulatedFakeTwilio.seed()
    run = reconcile(resource(typo_spec(), twilio), twilio, T0)

    status = run.resource.status
    assert twilio.write_count() == 0
    assert twilio.live_copies() == []
    assert status.phase == Phase.FAILED
    assert stalled_reason(status) == Reason.SPEC_NOT_ACCEPTED
    assert status.copy_sid is None
    message = status.message or ""
    assert "spec.endUser.attributes.busines_name" in message
    assert "did you mean business_name?" in message
    assert "accepted: business_name, first_name" in message
    assert [e.reason for e in run.events] == [Reason.SPEC_NOT_ACCEPTED]
    assert SENTINEL not in status.model_dump_json()
    assert all(SENTINEL not in e.message for e in run.events)


def test_a_refusal_is_confirmed_with_a_fresh_read_of_the_regulation() -> None:
    twilio = RegulatedFakeTwilio.seed()
    reconcile(resource(typo_spec(), twilio), twilio, T0)
    # Read through the cache, then past it before refusing: twice in all, both from Twilio.
    assert twilio.calls["read:fetch_regulation"] == 2


def test_a_document_type_the_regulation_does_not_take_is_refused_with_the_accepted_types() -> None:
    twilio = RegulatedFakeTwilio.seed()
    twilio.extra_types = {"utility_bill": ["address_sids"]}
    spec = seed_spec()
    spec["supportingDocuments"][0]["type"] = "commercial_registar_excerpt"
    spec["supportingDocuments"].append({"type": "utility_bill", "attributes": {"address_sids": []}})
    run = reconcile(resource(spec, twilio), twilio, T0)

    message = run.resource.status.message or ""
    assert twilio.write_count() == 0
    assert stalled_reason(run.resource.status) == Reason.SPEC_NOT_ACCEPTED
    refused = (
        "spec.supportingDocuments[0].type: regulation RN11111111111111111111111111111111 "
        "(Fakeland: Mobile - Business) accepts no document type named commercial_registar_excerpt"
    )
    assert refused in message
    assert "did you mean commercial_registrar_excerpt?" in message
    # utility_bill is a type the account knows, yet not one this regulation accepts.
    assert "spec.supportingDocuments[4].type: regulation" in message
    assert "accepts no document type named utility_bill;" in message
    assert (
        "accepted: commercial_registrar_excerpt, government_issued_document, power_of_attorney"
        in message
    )


def test_a_typod_document_field_is_refused_but_removals_are_not_checked() -> None:
    twilio = RegulatedFakeTwilio.seed()
    spec = seed_spec()
    spec["supportingDocuments"][0]["attributes"] = {"document_numbr": "K-1", "old_field": None}
    spec["supportingDocuments"].append({"type": "passport", "remove": True})
    run = reconcile(resource(spec, twilio), twilio, T0)

    message = run.resource.status.message or ""
    assert twilio.write_count() == 0
    assert "spec.supportingDocuments[0].attributes.document_numbr" in message
    assert "accepts no commercial_registrar_excerpt document field named document_numbr" in message
    assert "old_field" not in message
    assert "passport" not in message


def test_an_optional_field_of_the_end_user_type_is_accepted_and_the_renewal_goes_on() -> None:
    twilio = RegulatedFakeTwilio.seed()
    twilio.optional = {"business": ["business_registration_authority"]}
    spec = seed_spec()
    spec["endUser"]["attributes"]["business_registration_authority"] = "RCS Paris"
    run = reconcile(resource(spec, twilio), twilio, T0)

    assert run.resource.status.phase == Phase.IN_REVIEW
    assert twilio.calls["create_bundle_copy"] == 1
    assert twilio.calls["read:fetch_regulation"] == 1  # accepted: no second read


def test_fixing_the_spec_resumes_the_renewal_at_once() -> None:
    twilio = RegulatedFakeTwilio.seed()
    stalled = reconcile(resource(typo_spec(), twilio), twilio, T0).resource
    fixed = with_spec(stalled, seed_spec())
    run = reconcile(fixed, twilio, T0 + timedelta(seconds=5))

    assert run.resource.status.phase == Phase.IN_REVIEW
    assert twilio.calls["create_bundle_copy"] == 1
    assert stalled_reason(run.resource.status) is None


def test_a_field_twilio_added_since_the_cache_was_filled_is_not_refused() -> None:
    """The cache holds the regulation as it was; Twilio then accepts a new field the spec uses:
    the fresh read before a refusal finds it, and the renewal goes on."""
    twilio = RegulatedFakeTwilio.seed()
    cache = RegulationCache()
    done = reconcile(resource(seed_spec(), twilio), twilio, T0, regulations=cache)
    assert done.resource.status.phase == Phase.IN_REVIEW
    twilio.review(approve=True)
    done = reconcile(done.resource, twilio, T0 + timedelta(minutes=5), regulations=cache)
    assert done.resource.status.phase == Phase.COMPLETED

    twilio.optional = {"business": ["business_registration_authority"]}
    spec = seed_spec()
    spec["endUser"]["attributes"]["business_registration_authority"] = "RCS Paris"
    run = reconcile(
        with_spec(done.resource, spec), twilio, T0 + timedelta(minutes=10), regulations=cache
    )

    assert run.resource.status.phase == Phase.IN_REVIEW
    assert twilio.calls["read:fetch_regulation"] == 2  # filled once, refreshed once


def test_many_resources_under_one_regulation_read_it_once() -> None:
    """A fleet: ten accounts' bundles (one fake each, the same credentials' account in the
    cache's key) under one regulation, renewed by one process: one read of the regulation."""
    cache = RegulationCache()
    fakes = [RegulatedFakeTwilio.seed() for _ in range(10)]
    for twilio in fakes:
        run = reconcile(resource(seed_spec(), twilio), twilio, T0, regulations=cache)
        assert run.resource.status.phase == Phase.IN_REVIEW
    assert sum(t.calls["read:fetch_regulation"] for t in fakes) == 1
    assert sum(t.calls["read:list_end_user_types"] for t in fakes) == 1
    assert sum(t.calls["read:list_supporting_document_types"] for t in fakes) == 1
    assert cache.reads == 1


def test_a_resource_at_rest_never_reads_the_regulation() -> None:
    twilio = RegulatedFakeTwilio.seed(valid_until=None)
    first = reconcile(resource(seed_spec(), twilio), twilio, T0)
    twilio.review(approve=True)
    done = reconcile(first.resource, twilio, T0 + timedelta(minutes=5)).resource
    reads = twilio.calls["read:fetch_regulation"]
    light = reconcile(done, twilio, T0 + timedelta(hours=2))
    assert light.resource.status.phase == Phase.COMPLETED
    assert twilio.calls["read:fetch_regulation"] == reads


def test_what_a_regulation_names_nothing_about_is_not_checked() -> None:
    """No end-user fields or no document types known: nothing to refuse with, so those parts of
    the spec pass (Twilio's evaluation stays the authority); what is known is still checked."""
    spec = BundleRenewalSpec.model_validate(
        {
            "bundleSid": "BU" + "a" * 32,
            "credentialsSecretRef": {"name": "c"},
            "endUser": {"attributes": {"anything": "x", "gone": None}},
            "supportingDocuments": [{"type": "whatever", "attributes": {"f": "y"}}],
        }
    )
    assert refusals(spec, RegulationTerms(sid="RN" + "1" * 32)) == []
    documents_only = RegulationTerms(
        sid="RN" + "1" * 32, document_fields={"passport": frozenset({"document_number"})}
    )
    assert [r.path for r in refusals(spec, documents_only)] == ["spec.supportingDocuments[0].type"]
    end_user_only = RegulationTerms(sid="RN" + "1" * 32, end_user_fields=frozenset({"first_name"}))
    assert [r.path for r in refusals(spec, end_user_only)] == ["spec.endUser.attributes.anything"]
