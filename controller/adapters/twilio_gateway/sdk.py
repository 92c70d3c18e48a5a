"""The TwilioGateway implemented on the official twilio SDK's async client.

Every request goes through the plumbing of requests.py (`SdkRequests`: a slot of the account's
adaptive limit, metrics, the Retrier, page-by-page lists).
Every operation goes through the Retrier with the repeat rule that fits it:
- reads, deletes, absolute updates and evaluations are safe to repeat; a list is read page by
  page, each page its own repeatable request, so a 429/5xx on page n repeats page n only;
- submit is repeated only after re-reading the bundle (already pending-review or further = done);
- create-copy, create-item-assignment and replace-items re-read Twilio after an ambiguous failure
  and adopt the earlier write's result instead of writing twice;
- create-document has no cheap way to find its earlier result, so an ambiguous failure surfaces
  as TwilioAmbiguousWriteError (the workflow finds stray documents by their friendly-name marker).
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from pydantic import BaseModel

from controller.adapters.twilio_gateway.convert import from_instance, from_payload
from controller.adapters.twilio_gateway.port import BundleQuery, PageProgress
from controller.adapters.twilio_gateway.requests import SdkRequests
from controller.adapters.twilio_gateway.upload import upload_supporting_document
from controller.core.twilio_models import (
    Bundle,
    BundleStatus,
    DocumentFile,
    EndUser,
    Evaluation,
    ItemAssignment,
    ItemType,
    PhoneNumber,
    Regulation,
    SupportingDocument,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_log = logging.getLogger("controller.adapters.twilio_gateway")

# A bundle in one of these states has been submitted: submitting again is not needed.
SUBMITTED_STATUSES = frozenset(
    {
        BundleStatus.PENDING_REVIEW,
        BundleStatus.IN_REVIEW,
        BundleStatus.TWILIO_APPROVED,
        BundleStatus.PROVISIONALLY_APPROVED,
    }
)


class SdkTwilioGateway(SdkRequests):
    """TwilioGateway for one account's credentials (built by SdkTwilioGatewayFactory)."""

    # --- bundles --------------------------------------------------------------------------

    async def fetch_bundle(self, sid: str) -> Bundle:
        return await self._one(
            Bundle, "fetch_bundle", sid, lambda rc: rc.bundles(sid).fetch_async()
        )

    async def list_bundle_copies(self, bundle_sid: str) -> list[Bundle]:
        return await self._list(
            Bundle,
            "list_bundle_copies",
            bundle_sid,
            lambda rc: rc.bundles(bundle_sid).bundle_copies,
        )

    async def create_bundle_copy(self, bundle_sid: str, friendly_name: str) -> Bundle:
        async def adopt_existing_copy() -> Any:
            for copy in await self.list_bundle_copies(bundle_sid):
                if copy.friendly_name == friendly_name:
                    return copy
            return None

        result = await self._retrier.run(
            "create_bundle_copy",
            lambda _: self._send(
                "create_bundle_copy",
                bundle_sid,
                lambda rc: rc.bundles(bundle_sid).bundle_copies.create_async(
                    friendly_name=friendly_name
                ),
            ),
            repeatable=False,
            recover=adopt_existing_copy,
        )
        return (
            result
            if isinstance(result, Bundle)
            else from_instance(Bundle, result, "create_bundle_copy")
        )

    async def delete_bundle(self, sid: str) -> None:
        await self._retrier.run(
            "delete_bundle",
            lambda attempt: self._delete(
                attempt, "delete_bundle", sid, lambda rc: rc.bundles(sid).delete_async()
            ),
            repeatable=True,
        )

    async def set_status_callback(self, sid: str, status_callback: str) -> Bundle:
        return await self._one(
            Bundle,
            "set_status_callback",
            sid,
            lambda rc: rc.bundles(sid).update_async(status_callback=status_callback),
        )

    async def submit_bundle(self, sid: str, status_callback: str | None) -> Bundle:
        if status_callback is not None:
            # Twilio refuses Status together with other property changes (error 22204).
            await self.set_status_callback(sid, status_callback)

        async def already_submitted() -> Bundle | None:
            bundle = await self.fetch_bundle(sid)
            return bundle if bundle.status in SUBMITTED_STATUSES else None

        result = await self._retrier.run(
            "submit_bundle",
            lambda _: self._send(
                "submit_bundle",
                sid,
                lambda rc: rc.bundles(sid).update_async(status=BundleStatus.PENDING_REVIEW.value),
            ),
            repeatable=True,
            recover=already_submitted,
        )
        return (
            result if isinstance(result, Bundle) else from_instance(Bundle, result, "submit_bundle")
        )

    async def replace_items(self, bundle_sid: str, from_bundle_sid: str) -> Bundle:
        async def replaced_already() -> Bundle | None:
            source_items = await self.list_item_assignments(from_bundle_sid)
            target_items = await self.list_item_assignments(bundle_sid)
            source_objects = {item.object_sid for item in source_items}
            target_objects = {item.object_sid for item in target_items}
            # Twilio moves the items (the copy is left empty) or copies them (same objects).
            if source_objects and source_objects != target_objects:
                return None
            return await self.fetch_bundle(bundle_sid)

        result = await self._retrier.run(
            "replace_items",
            lambda _: self._send(
                "replace_items",
                f"{bundle_sid} from {from_bundle_sid}",
                lambda rc: rc.bundles(bundle_sid).replace_items.create_async(
                    from_bundle_sid=from_bundle_sid
                ),
            ),
            repeatable=False,
            recover=replaced_already,
        )
        return (
            result if isinstance(result, Bundle) else from_instance(Bundle, result, "replace_items")
        )

    # --- evaluations ----------------------------------------------------------------------

    async def create_evaluation(self, bundle_sid: str) -> Evaluation:
        return await self._one(
            Evaluation,
            "create_evaluation",
            bundle_sid,
            lambda rc: rc.bundles(bundle_sid).evaluations.create_async(),
        )

    # --- item assignments -----------------------------------------------------------------

    async def list_item_assignments(self, bundle_sid: str) -> list[ItemAssignment]:
        return await self._list(
            ItemAssignment,
            "list_item_assignments",
            bundle_sid,
            lambda rc: rc.bundles(bundle_sid).item_assignments,
        )

    async def create_item_assignment(self, bundle_sid: str, object_sid: str) -> ItemAssignment:
        async def adopt_existing_assignment() -> ItemAssignment | None:
            for item in await self.list_item_assignments(bundle_sid):
                if item.object_sid == object_sid:
                    return item
            return None

        result = await self._retrier.run(
            "create_item_assignment",
            lambda _: self._send(
                "create_item_assignment",
                f"{bundle_sid} {object_sid}",
                lambda rc: rc.bundles(bundle_sid).item_assignments.create_async(
                    object_sid=object_sid
                ),
            ),
            repeatable=False,
            recover=adopt_existing_assignment,
        )
        if isinstance(result, ItemAssignment):
            return result
        return from_instance(ItemAssignment, result, "create_item_assignment")

    async def delete_item_assignment(self, bundle_sid: str, sid: str) -> None:
        await self._retrier.run(
            "delete_item_assignment",
            lambda attempt: self._delete(
                attempt,
                "delete_item_assignment",
                f"{bundle_sid} {sid}",
                lambda rc: rc.bundles(bundle_sid).item_assignments(sid).delete_async(),
            ),
            repeatable=True,
        )

    # --- end-users and documents ----------------------------------------------------------

    async def fetch_end_user(self, sid: str) -> EndUser:
        return await self._one(
            EndUser, "fetch_end_user", sid, lambda rc: rc.end_users(sid).fetch_async()
        )

    async def update_end_user(self, sid: str, attributes: dict[str, Any]) -> EndUser:
        return await self._one(
            EndUser,
            "update_end_user",
            sid,
            lambda rc: rc.end_users(sid).update_async(attributes=attributes),
        )

    async def fetch_supporting_document(self, sid: str) -> SupportingDocument:
        return await self._one(
            SupportingDocument,
            "fetch_supporting_document",
            sid,
            lambda rc: rc.supporting_documents(sid).fetch_async(),
        )

    async def update_supporting_document(
        self, sid: str, attributes: dict[str, Any]
    ) -> SupportingDocument:
        return await self._one(
            SupportingDocument,
            "update_supporting_document",
            sid,
            lambda rc: rc.supporting_documents(sid).update_async(attributes=attributes),
        )

    async def delete_supporting_document(self, sid: str) -> None:
        await self._retrier.run(
            "delete_supporting_document",
            lambda attempt: self._delete(
                attempt,
                "delete_supporting_document",
                sid,
                lambda rc: rc.supporting_documents(sid).delete_async(),
            ),
            repeatable=True,
        )

    async def list_supporting_documents(self) -> list[SupportingDocument]:
        """Every supporting document of the account (all pages): beyond the port, for finding
        documents created before a crash but never assigned (observe.SupportingDocumentLister)."""
        return await self._list(
            SupportingDocument,
            "list_supporting_documents",
            self._connection.account_sid,
            lambda rc: rc.supporting_documents,
        )

    async def create_supporting_document(
        self,
        friendly_name: str,
        type: str,
        attributes: dict[str, Any],
        file: DocumentFile | None,
    ) -> SupportingDocument:
        if file is None:
            return await self._one(
                SupportingDocument,
                "create_supporting_document",
                f"type={type}",
                lambda rc: rc.supporting_documents.create_async(
                    friendly_name=friendly_name, type=type, attributes=attributes
                ),
                repeatable=False,
            )

        payload = await self._retrier.run(
            "upload_supporting_document",
            lambda _: self._send(
                "upload_supporting_document",
                f"type={type} file={file.content_type}",
                lambda _rc: upload_supporting_document(
                    self._connection.session(),
                    self._settings.effective_upload_base_url,
                    self._connection.basic_auth(),
                    friendly_name,
                    type,
                    attributes,
                    file,
                ),
                timed=False,
            ),
            repeatable=False,
        )
        return from_payload(SupportingDocument, payload, "upload_supporting_document")

    # --- account-wide reads (TwilioAccountReader: the CLI) ------------------------------------

    async def list_bundles(
        self, query: BundleQuery, on_page: PageProgress | None = None
    ) -> list[Bundle]:
        return await self._list(
            Bundle,
            "list_bundles",
            self._connection.account_sid,
            lambda rc: rc.bundles,
            params=query.sdk_arguments(),
            on_page=on_page,
        )

    async def fetch_regulation(self, sid: str, include_constraints: bool = True) -> Regulation:
        return await self._one(
            Regulation,
            "fetch_regulation",
            sid,
            lambda rc: rc.regulations(sid).fetch_async(include_constraints=include_constraints),
        )

    async def list_end_user_types(self) -> list[ItemType]:
        return await self._list(ItemType, "list_end_user_types", "-", lambda rc: rc.end_user_types)

    async def list_supporting_document_types(self) -> list[ItemType]:
        return await self._list(
            ItemType,
            "list_supporting_document_types",
            "-",
            lambda rc: rc.supporting_document_types,
        )

    async def list_phone_numbers(self, on_page: PageProgress | None = None) -> list[PhoneNumber]:
        return await self._list(
            PhoneNumber,
            "list_phone_numbers",
            self._connection.account_sid,
            lambda _rc: self._connection.incoming_phone_numbers(),
            on_page=on_page,
        )
