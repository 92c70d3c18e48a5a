"""The pieces of the Kopf wiring that need no cluster: the status merge patch, reading an object
(one parse for the reconcile, the clean-up and callback routing), and reporting a spec the models
refuse without echoing its values."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import kopf
import pytest
from pydantic import ValidationError

from controller.core.models import (
    BundleRenewalSpec,
    BundleRenewalStatus,
    ConditionType,
    EvaluationFailure,
    EvaluationStatus,
    Phase,
)
from controller.core.parsing import describe_validation_error, read_object
from controller.core.settings import OperatorSettings
from controller.core.workflow import decide_invalid_spec
from controller.operator.handlers import WAKE_HANDLER_ID, build_registry, configure_kopf
from controller.operator.liveness import Insights
from controller.operator.peering import Peering
from controller.operator.status_sink import status_patch

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
    stored = read_object(body).resource
    assert stored is not None
    assert stored.status.phase == Phase.IN_REVIEW
    newer = BundleRenewalStatus(phase=Phase.COMPLETED)
    resource = read_object(body, newer).resource
    assert resource is not None
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
    decision = decide_invalid_spec(BundleRenewalStatus(), 4, message, NOW)
    status = decision.status
    assert status.phase == Phase.FAILED
    assert status.observed_generation == 4
    stalled = [c for c in status.conditions if c.type == ConditionType.STALLED]
    assert stalled[0].status == "True"
    assert stalled[0].observed_generation == 4
    assert decision.action is None
    assert decision.requeue_after is None
    assert decision.event is not None
    assert decision.event.type == "Warning"
    assert secret_looking not in decision.event.message
    # The same refusal again is no news: same status, no second event.
    again = decide_invalid_spec(status, 4, message, NOW)
    assert again.status == status
    assert again.event is None


def test_a_refused_spec_is_reported_by_read_object_without_its_values() -> None:
    body = {
        "metadata": {"uid": "u1", "namespace": "ns", "name": "n", "generation": 2},
        "spec": {
            "bundleSid": "BU" + "a" * 32,
            "credentialsSecretRef": {"name": "twilio"},
            "endUser": {"attributes": {}, "unknown": "Jane-Doe-552100554"},
        },
    }
    obj = read_object(body)
    assert obj.resource is None
    assert obj.problem is not None
    assert "spec.endUser.unknown" in obj.problem
    assert "Jane-Doe" not in obj.problem
    assert (obj.bundle_sid, obj.secret_name, obj.generation) == ("BU" + "a" * 32, "twilio", 2)
    assert obj.owner.secret_name == "twilio"


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
    obj = read_object(body)
    assert obj.resource is None
    resource = obj.for_cleanup()
    assert resource is not None
    assert resource.spec.bundle_sid == "BU" + "a" * 32
    assert resource.spec.credentials_secret_ref.name == "twilio"
    assert resource.status.copy_sid == "BU" + "c" * 32
    assert (resource.uid, resource.namespace, resource.generation) == ("u1", "ns", 4)


def test_cleanup_without_a_bundle_sid_has_nothing_to_clean() -> None:
    body = {"metadata": {"uid": "u1", "namespace": "ns", "name": "n"}, "spec": {}}
    assert read_object(body).for_cleanup() is None


def test_events_are_reported_by_the_operator_not_by_kopf() -> None:
    """`kubectl describe` showed "From: kopf" on every event."""
    posting = configure_kopf(kopf.OperatorSettings()).posting
    assert posting.reporting_component == "bundle-renewal-operator"
    assert posting.reporting_instance


@pytest.mark.parametrize(("log_level", "kept"), [("INFO", False), ("DEBUG", True)])
def test_the_wake_handlers_success_line_is_dropped_but_at_debug(log_level: str, kept: bool) -> None:
    """It would be a line per watch event of every resource; other handlers' lines stay."""
    objects = logging.getLogger("kopf.objects")
    saved = list(objects.filters)
    try:
        objects.filters.clear()
        registry = build_registry(
            OperatorSettings(LOG_LEVEL=log_level), Insights(), Peering("", 0, 60, False)
        )
        handlers = {str(h.id): h for h in registry._watching.get_all_handlers()}
        # Kopf's own line: f"{handler} succeeded." (kopf/_core/actions/execution.py).
        wake = logging.LogRecord("kopf.objects", logging.INFO, "", 0, "", None, None)
        wake.msg = f"{handlers[WAKE_HANDLER_ID]} succeeded."
        other = logging.LogRecord("kopf.objects", logging.INFO, "", 0, "", None, None)
        other.msg = "Handler 'renew' succeeded."
        assert objects.filter(wake) is kept
        assert objects.filter(other) is True
    finally:
        objects.filters[:] = saved
