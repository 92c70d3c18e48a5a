"""The pieces of the Kopf wiring that need no cluster: the status merge patch, parsing an object,
and reporting a spec the models refuse without echoing its values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from controller.handlers import (
    describe_validation_error,
    invalid_spec_status,
    parse_for_cleanup,
    parse_resource,
    status_patch,
)
from controller.models import (
    BundleRenewalSpec,
    BundleRenewalStatus,
    ConditionType,
    EvaluationFailure,
    EvaluationStatus,
    Phase,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_status_patch_clears_unset_fields_but_puts_no_null_in_lists() -> None:
    status = BundleRenewalStatus(
        phase=Phase.NEEDS_INPUT,
        evaluation=EvaluationStatus(
            sid="EL" + "1" * 32, failures=[EvaluationFailure(field="first_name")]
        ),
    )
    patch = status_patch(status)
    assert patch["phase"] == "NeedsInput"
    assert patch["copySid"] is None  # a merge patch removes it
    assert patch["evaluation"]["status"] is None
    assert patch["evaluation"]["failures"] == [{"field": "first_name"}]


def test_parse_resource_uses_the_given_status_over_the_stored_one() -> None:
    body = {
        "metadata": {"uid": "u1", "namespace": "ns", "name": "n", "generation": 3},
        "spec": {"bundleSid": "BU" + "a" * 32, "credentialsSecretRef": {"name": "s"}},
        "status": {"phase": "InReview"},
    }
    assert parse_resource(body, None).status.phase == Phase.IN_REVIEW
    newer = BundleRenewalStatus(phase=Phase.COMPLETED)
    resource = parse_resource(body, newer)
    assert resource.status.phase == Phase.COMPLETED
    assert (resource.uid, resource.namespace, resource.name, resource.generation) == (
        "u1",
        "ns",
        "n",
        3,
    )


def test_a_refused_spec_is_described_by_location_not_value() -> None:
    secret_looking = "Jane-Doe-552100554"
    with pytest.raises(ValidationError) as refused:
        BundleRenewalSpec.model_validate(
            {
                "bundleSid": secret_looking,
                "credentialsSecretRef": {"name": "s"},
                "endUser": {"attributes": {}, "unknown": secret_looking},
            }
        )
    message = describe_validation_error(refused.value)
    assert "spec.bundleSid" in message
    assert "spec.endUser.unknown" in message
    assert secret_looking not in message
    status = invalid_spec_status(BundleRenewalStatus(), 4, message, NOW)
    assert status.phase == Phase.FAILED
    stalled = [c for c in status.conditions if c.type == ConditionType.STALLED]
    assert stalled[0].status == "True"
    assert stalled[0].observed_generation == 4


def test_cleanup_of_a_spec_the_models_refuse_still_knows_the_bundle_and_secret() -> None:
    """A copy made before the spec went bad must still be cleaned up (not skipped)."""
    body = {
        "metadata": {"uid": "u1", "namespace": "ns", "name": "n", "generation": 4},
        "spec": {
            "bundleSid": "BU" + "a" * 32,
            "credentialsSecretRef": {"name": "twilio"},
            "endUser": {"attributes": "not a mapping"},
        },
        "status": {"copySid": "BU" + "c" * 32},
    }
    with pytest.raises(ValidationError):
        parse_resource(body, None)
    resource = parse_for_cleanup(body, None)
    assert resource is not None
    assert resource.spec.bundle_sid == "BU" + "a" * 32
    assert resource.spec.credentials_secret_ref.name == "twilio"
    assert resource.status.copy_sid == "BU" + "c" * 32
    assert (resource.uid, resource.namespace, resource.generation) == ("u1", "ns", 4)


def test_cleanup_without_a_bundle_sid_has_nothing_to_clean() -> None:
    body = {"metadata": {"uid": "u1", "namespace": "ns", "name": "n"}, "spec": {}}
    assert parse_for_cleanup(body, None) is None
