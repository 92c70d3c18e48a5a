"""The action runner's last line of defence: nothing reaches Twilio that would touch the original
bundle, delete a copy that is not this resource's, or create one without the marker, whatever
the decision said, or edit an end-user or document that is not an item of this resource's copy.
A recording gateway proves the refused request is never sent."""

from __future__ import annotations

from typing import Any

import pytest

from controller.adapters.cluster import ObjectNotFound
from controller.adapters.twilio_gateway.port import TwilioAuthenticationError, TwilioError
from controller.core.models import BundleRenewalSpec, DocumentFileSource
from controller.core.plan import (
    Action,
    AssignItem,
    CreateCopy,
    CreateDocument,
    DeleteCopy,
    DeleteDocument,
    ErrorKind,
    Observation,
    ObservationPart,
    RenewalResource,
    ReplaceItems,
    Submit,
    UnassignItem,
    UpdateDocument,
    UpdateEndUser,
    copy_marker,
    created_document_name,
)
from controller.core.twilio_models import Bundle, BundleStatus, ItemAssignment, SupportingDocument
from controller.engine.actions import (
    ActionFailed,
    ActionRunner,
    UnsafeActionRefused,
    check_safe,
    read_document_file,
)
from controller.engine.credentials import CredentialsError

UID = "5f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
ORIGINAL = "BU" + "0" * 32
COPY = "BU" + "c" * 32
OTHER = "BU" + "e" * 32


def resource() -> RenewalResource:
    spec = BundleRenewalSpec.model_validate(
        {"bundleSid": ORIGINAL, "credentialsSecretRef": {"name": "twilio"}}
    )
    return RenewalResource(uid=UID, namespace="ns", name="r", generation=1, spec=spec)


# The copy holds new instances of the original's end-user and document (Twilio's Copies).
ORIGINAL_END_USER = "IT" + "0" * 32
ORIGINAL_DOCUMENT = "RD" + "0" * 32
COPY_END_USER = "IT" + "c" * 32
COPY_DOCUMENT = "RD" + "c" * 32


def item(bundle_sid: str, object_sid: str) -> ItemAssignment:
    return ItemAssignment(sid="BV" + object_sid[2:], bundle_sid=bundle_sid, object_sid=object_sid)


COPY_ITEMS = (item(COPY, COPY_END_USER), item(COPY, COPY_DOCUMENT))
ORIGINAL_ITEMS = (item(ORIGINAL, ORIGINAL_END_USER), item(ORIGINAL, ORIGINAL_DOCUMENT))


def observed(*copies: Bundle) -> Observation:
    """The copies, the copy's items and the original's items, read this reconcile."""
    return Observation(
        read=frozenset(
            {ObservationPart.COPIES, ObservationPart.COPY_ITEMS, ObservationPart.ORIGINAL_ITEMS}
        ),
        copies=copies,
        # Every listed copy handed over as "ours", unfiltered: the guard's own marker check,
        # not the gatherer's ranking, must refuse another resource's copy.
        ours=copies,
        copy_items=COPY_ITEMS,
        original_items=ORIGINAL_ITEMS,
    )


def update_end_user(sid: str) -> UpdateEndUser:
    return UpdateEndUser(sid=sid, attributes={"first_name": "x"}, changed_fields=("first_name",))


def update_document(sid: str) -> UpdateDocument:
    return UpdateDocument(
        sid=sid, key="poa", attributes={"address_sids": []}, changed_fields=("address_sids",)
    )


OUR_COPY = Bundle(sid=COPY, friendly_name=copy_marker(UID), status=BundleStatus.DRAFT)
SOMEONE_ELSES = Bundle(sid=OTHER, friendly_name="a copy made by hand", status=BundleStatus.DRAFT)


class RecordingGateway:
    def __init__(self, error: TwilioError | None = None) -> None:
        self.calls: list[str] = []
        self.error = error

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            if self.error is not None:
                raise self.error
            return None

        return call


UNSAFE: list[Any] = [
    pytest.param(DeleteCopy(copy_sid=ORIGINAL, original_sid=ORIGINAL), id="delete-original"),
    pytest.param(DeleteCopy(copy_sid=OTHER, original_sid=ORIGINAL), id="delete-not-ours"),
    pytest.param(Submit(bundle_sid=ORIGINAL), id="submit-original"),
    pytest.param(AssignItem(bundle_sid=ORIGINAL, object_sid="RD" + "1" * 32), id="assign-orig"),
    pytest.param(
        UnassignItem(
            bundle_sid=ORIGINAL, assignment_sid="BV" + "1" * 32, object_sid="RD" + "1" * 32
        ),
        id="unassign-original",
    ),
    pytest.param(ReplaceItems(original_sid=OTHER, copy_sid=COPY), id="replace-other-bundle"),
    pytest.param(ReplaceItems(original_sid=ORIGINAL, copy_sid=ORIGINAL), id="replace-from-self"),
    pytest.param(CreateCopy(original_sid=OTHER, friendly_name=copy_marker(UID)), id="copy-other"),
    pytest.param(CreateCopy(original_sid=ORIGINAL, friendly_name="renewal"), id="copy-no-marker"),
    pytest.param(
        UpdateEndUser(sid=ORIGINAL, attributes={}, changed_fields=()), id="update-original"
    ),
    pytest.param(
        CreateDocument(key="poa", type="power_of_attorney", friendly_name="poa", attributes={}),
        id="document-no-marker",
    ),
    pytest.param(update_end_user(ORIGINAL_END_USER), id="update-original-end-user"),
    pytest.param(update_document(ORIGINAL_DOCUMENT), id="update-original-document"),
    pytest.param(update_document("RD" + "9" * 32), id="update-document-not-in-copy"),
    pytest.param(AssignItem(bundle_sid=OTHER, object_sid="RD" + "1" * 32), id="assign-not-ours"),
    pytest.param(
        UnassignItem(bundle_sid=OTHER, assignment_sid="BV" + "1" * 32, object_sid=COPY_DOCUMENT),
        id="unassign-not-ours",
    ),
]


@pytest.mark.parametrize("action", UNSAFE)
async def test_unsafe_actions_are_refused_before_any_request(action: Action) -> None:
    gateway = RecordingGateway()
    runner = ActionRunner(gateway, resource(), objects=None, status_callback=None)  # type: ignore[arg-type]
    with pytest.raises(ActionFailed) as refused:
        await runner.run(action, observed(OUR_COPY, SOMEONE_ELSES))
    assert refused.value.kind is ErrorKind.PERMANENT
    assert "refusing" in refused.value.message
    assert gateway.calls == []


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(DeleteCopy(copy_sid=COPY, original_sid=ORIGINAL), id="delete-our-copy"),
        pytest.param(ReplaceItems(original_sid=ORIGINAL, copy_sid=COPY), id="replace-from-copy"),
        pytest.param(Submit(bundle_sid=COPY), id="submit-copy"),
        pytest.param(CreateCopy(original_sid=ORIGINAL, friendly_name=copy_marker(UID)), id="copy"),
        pytest.param(update_end_user(COPY_END_USER), id="update-copy-end-user"),
        pytest.param(update_document(COPY_DOCUMENT), id="update-copy-document"),
        pytest.param(AssignItem(bundle_sid=COPY, object_sid="RD" + "1" * 32), id="assign-to-copy"),
        pytest.param(
            UnassignItem(
                bundle_sid=COPY, assignment_sid=COPY_ITEMS[1].sid, object_sid=COPY_DOCUMENT
            ),
            id="unassign-from-copy",
        ),
        pytest.param(
            CreateDocument(
                key="power_of_attorney",
                type="power_of_attorney",
                friendly_name=created_document_name(UID, "power_of_attorney", "POA"),
                attributes={},
            ),
            id="document-with-marker",
        ),
    ],
)
def test_the_renewal_s_own_actions_pass(action: Action) -> None:
    check_safe(resource(), action, observed(OUR_COPY, SOMEONE_ELSES))


async def test_a_copy_under_review_that_twilio_will_not_delete_is_retried_later() -> None:
    in_review = OUR_COPY.model_copy(update={"status": BundleStatus.IN_REVIEW})
    gateway = RecordingGateway(TwilioError("cannot be deleted", status=400, code=22209))
    runner = ActionRunner(gateway, resource(), objects=None, status_callback=None)  # type: ignore[arg-type]
    with pytest.raises(ActionFailed) as failed:
        await runner.run(DeleteCopy(copy_sid=COPY, original_sid=ORIGINAL), observed(in_review))
    assert failed.value.kind is ErrorKind.TRANSIENT
    assert gateway.calls == ["delete_bundle"]


async def test_refused_credentials_are_an_authentication_error() -> None:
    gateway = RecordingGateway(TwilioAuthenticationError("Authenticate", status=401, code=20003))
    runner = ActionRunner(gateway, resource(), objects=None, status_callback=None)  # type: ignore[arg-type]
    with pytest.raises(ActionFailed) as failed:
        await runner.run(Submit(bundle_sid=COPY), observed(OUR_COPY))
    assert failed.value.kind is ErrorKind.AUTHENTICATION
    assert "HTTP 401" in failed.value.message
    assert "Twilio code 20003" in failed.value.message


class Objects:
    def __init__(self, secrets: dict[str, dict[str, bytes]]) -> None:
        self.secrets = secrets

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        if name not in self.secrets:
            raise ObjectNotFound("Secret", namespace, name)
        return self.secrets[name]

    async def read_config_map(self, namespace: str, name: str) -> dict[str, bytes]:
        raise ObjectNotFound("ConfigMap", namespace, name)


def file_source(kind: str) -> DocumentFileSource:
    return DocumentFileSource.model_validate(
        {
            kind: {"name": "docs", "key": "poa.pdf"},
            "contentType": "application/pdf",
            "filename": "p.pdf",
        }
    )


async def test_a_document_file_is_read_from_its_secret_key() -> None:
    document = await read_document_file(
        Objects({"docs": {"poa.pdf": b"%PDF"}}), "ns", file_source("secretKeyRef")
    )
    assert (document.filename, document.content_type, document.content) == (
        "p.pdf",
        "application/pdf",
        b"%PDF",
    )


@pytest.mark.parametrize(
    ("secrets", "kind", "expected"),
    [
        pytest.param({}, "secretKeyRef", "Secret docs not found in namespace ns", id="no-secret"),
        pytest.param({"docs": {}}, "secretKeyRef", "Secret docs has no key poa.pdf", id="no-key"),
        pytest.param(
            {"docs": {"poa.pdf": b""}}, "secretKeyRef", "key poa.pdf is empty", id="empty"
        ),
        pytest.param({}, "configMapKeyRef", "ConfigMap docs not found", id="no-config-map"),
    ],
)
async def test_a_missing_document_file_says_where(
    secrets: dict[str, dict[str, bytes]], kind: str, expected: str
) -> None:
    with pytest.raises(CredentialsError, match=expected):
        await read_document_file(Objects(secrets), "ns", file_source(kind))


def test_an_object_in_both_bundles_counts_as_the_original_s() -> None:
    """Assigned by hand to the copy as well: editing it would edit the approved original."""
    shared = observed(OUR_COPY).model_copy(
        update={"copy_items": (*COPY_ITEMS, item(COPY, ORIGINAL_DOCUMENT))}
    )
    with pytest.raises(UnsafeActionRefused, match="an item of the original bundle"):
        check_safe(resource(), update_document(ORIGINAL_DOCUMENT), shared)


@pytest.mark.parametrize("action", [update_end_user(COPY_END_USER), update_document(COPY_DOCUMENT)])
def test_an_update_needs_the_copy_s_items_read_this_reconcile(action: Action) -> None:
    unread = Observation(
        read=frozenset({ObservationPart.COPIES}), copies=(OUR_COPY,), ours=(OUR_COPY,)
    )
    with pytest.raises(UnsafeActionRefused, match="not an item of this resource's copy"):
        check_safe(resource(), action, unread)


# --- deleting a document this resource created but no bundle holds ----------------------------

STRAY = SupportingDocument(
    sid="RD" + "5" * 32, friendly_name=created_document_name(UID, "poa", "POA"), type="poa"
)


def with_strays(*documents: SupportingDocument, **update: Any) -> Observation:
    observation = observed(OUR_COPY)
    return observation.model_copy(
        update={
            "stray_documents": documents,
            "read": observation.read | {ObservationPart.STRAY_DOCUMENTS},
            **update,
        }
    )


async def test_an_unassigned_document_of_ours_is_deleted() -> None:
    gateway = RecordingGateway()
    runner = ActionRunner(gateway, resource(), objects=None, status_callback=None)  # type: ignore[arg-type]
    after = await runner.run(DeleteDocument(sid=STRAY.sid), with_strays(STRAY))
    assert gateway.calls == ["delete_supporting_document"]
    assert after.stray_documents == ()


@pytest.mark.parametrize(
    "observation",
    [
        pytest.param(with_strays(), id="not-a-stray"),
        pytest.param(
            with_strays(STRAY.model_copy(update={"friendly_name": "someone's document"})),
            id="no-marker",
        ),
        pytest.param(
            with_strays(STRAY, original_items=(*ORIGINAL_ITEMS, item(ORIGINAL, STRAY.sid))),
            id="held-by-the-original",
        ),
        pytest.param(
            with_strays(STRAY, copy_items=(*COPY_ITEMS, item(COPY, STRAY.sid))),
            id="held-by-the-copy",
        ),
        pytest.param(
            with_strays(STRAY).model_copy(
                update={"read": frozenset({ObservationPart.STRAY_DOCUMENTS})}
            ),
            id="items-not-read",
        ),
    ],
)
async def test_no_other_document_is_deleted(observation: Observation) -> None:
    gateway = RecordingGateway()
    runner = ActionRunner(gateway, resource(), objects=None, status_callback=None)  # type: ignore[arg-type]
    with pytest.raises(ActionFailed, match="refusing"):
        await runner.run(DeleteDocument(sid=STRAY.sid), observation)
    assert gateway.calls == []
