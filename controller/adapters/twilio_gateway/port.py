"""The gateway port: what the operator may ask of Twilio, and the errors it may get back.

Everything outside `controller.adapters.twilio_gateway` depends on this Protocol and these
exceptions only, never on the twilio SDK, so that the SDK stays behind one seam (as httpx keeps its
transport) and tests can put a real simulator behind the same seam.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from controller.core.twilio_models import (
    Bundle,
    DocumentFile,
    EndUser,
    Evaluation,
    ItemAssignment,
    ItemType,
    PhoneNumber,
    Regulation,
    SupportingDocument,
)


class TwilioCredentials(BaseModel):
    """An account SID with either its auth token or an API key SID and secret."""

    model_config = ConfigDict(frozen=True)

    account_sid: str
    auth_token: SecretStr | None = None
    api_key_sid: str | None = None
    api_key_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> TwilioCredentials:
        has_token = self.auth_token is not None
        has_key = self.api_key_sid is not None and self.api_key_secret is not None
        if has_token == has_key:
            raise ValueError(
                "credentials need accountSid with either authToken, or apiKeySid and apiKeySecret"
            )
        return self

    @property
    def username(self) -> str:
        return self.api_key_sid if self.api_key_sid is not None else self.account_sid


class TwilioError(Exception):
    """A request to Twilio failed. `code` is Twilio's error code, `status` the HTTP status."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class TwilioTransientError(TwilioError):
    """Worth retrying later: 429/20429, 5xx, connection trouble, time-outs."""


class TwilioPermanentError(TwilioError):
    """Retrying the same request will not help (4xx other than 429)."""


class TwilioNotFoundError(TwilioPermanentError):
    """404 / 20404: the resource does not exist (or belongs to another account)."""


class TwilioAuthenticationError(TwilioPermanentError):
    """401 / 20003: the credentials were refused."""


class TwilioAmbiguousWriteError(TwilioTransientError):
    """A non-idempotent write may or may not have happened (e.g. the connection dropped after
    sending). The caller must re-read Twilio's state before trying again."""


class TwilioGateway(Protocol):
    """Twilio Regulatory Compliance operations, for one account's credentials."""

    async def fetch_bundle(self, sid: str) -> Bundle: ...

    async def list_bundle_copies(self, bundle_sid: str) -> list[Bundle]: ...

    async def create_bundle_copy(self, bundle_sid: str, friendly_name: str) -> Bundle: ...

    async def delete_bundle(self, sid: str) -> None: ...

    async def submit_bundle(self, sid: str, status_callback: str | None) -> Bundle: ...

    async def set_status_callback(self, sid: str, status_callback: str) -> Bundle:
        """Update the bundle's StatusCallback alone (no other field in the same request)."""
        ...

    async def create_evaluation(self, bundle_sid: str) -> Evaluation: ...

    async def list_item_assignments(self, bundle_sid: str) -> list[ItemAssignment]: ...

    async def create_item_assignment(self, bundle_sid: str, object_sid: str) -> ItemAssignment: ...

    async def delete_item_assignment(self, bundle_sid: str, sid: str) -> None: ...

    async def delete_supporting_document(self, sid: str) -> None:
        """Twilio refuses (400) to delete a document some bundle holds."""
        ...

    async def fetch_end_user(self, sid: str) -> EndUser: ...

    async def update_end_user(self, sid: str, attributes: dict[str, Any]) -> EndUser: ...

    async def fetch_supporting_document(self, sid: str) -> SupportingDocument: ...

    async def update_supporting_document(
        self, sid: str, attributes: dict[str, Any]
    ) -> SupportingDocument: ...

    async def create_supporting_document(
        self,
        friendly_name: str,
        type: str,
        attributes: dict[str, Any],
        file: DocumentFile | None,
    ) -> SupportingDocument: ...

    async def replace_items(self, bundle_sid: str, from_bundle_sid: str) -> Bundle: ...


class TwilioGatewayFactory(Protocol):
    """Gives a gateway for a set of credentials. Implementations share per-account limits
    (the concurrency limit and its queue) across every gateway they hand out for one account."""

    def for_credentials(
        self, credentials: TwilioCredentials, *, priority: float | None = None
    ) -> TwilioGateway:
        """A gateway for `credentials`; `priority` orders its requests when they must wait.

        When the account has as many requests in flight as its limit allows, waiting requests
        are served lowest `priority` first, equal ones first come, first served; every request
        of the returned gateway (retries included) waits with this key. The caller passes the
        Unix time (seconds) at which the resource's current renewal began, the same for every
        reconcile of that renewal: renewals begun earlier, thus further along, then finish
        first rather than all advancing in lockstep and finishing together at the end. None
        (the default): the time of each request, i.e. first come, first served, queued after
        renewals begun earlier and before those begun later. A reconcile that is not renewing
        (a light check, a clean-up) may pass None. Keys earlier than every renewal's (0, say)
        jump the queue: keep them for requests that must not wait behind renewals.
        """
        ...


class BundleQuery(BaseModel):
    """Filters and order of Twilio's Bundles list, by their SDK names (wire names in comments).
    Unset fields are not sent. Twilio's `ValidUntilDate<` / `>` bounds are inclusive."""

    model_config = ConfigDict(frozen=True)

    status: str | None = None  # Status
    has_valid_until_date: bool | None = None  # HasValidUntilDate
    valid_until_date_before: datetime | None = None  # ValidUntilDate<
    valid_until_date_after: datetime | None = None  # ValidUntilDate>
    sort_by: Literal["valid-until", "date-updated"] | None = None  # SortBy
    sort_direction: Literal["ASC", "DESC"] | None = None  # SortDirection
    page_size: int | None = Field(default=None, ge=1, le=1000)  # PageSize (the gateway's if unset)

    def sdk_arguments(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


PageProgress = Callable[[int], None]
"""Called after each page of a list with the number of records read so far."""


class TwilioAccountReader(Protocol):
    """Account-wide reads beyond the operator's renewal of one bundle: the CLI's scan, and
    checks that read what a regulation requires. Every one is safe to repeat."""

    async def list_bundles(
        self, query: BundleQuery, on_page: PageProgress | None = None
    ) -> list[Bundle]: ...

    async def fetch_regulation(self, sid: str, include_constraints: bool = True) -> Regulation: ...

    async def list_end_user_types(self) -> list[ItemType]: ...

    async def list_supporting_document_types(self) -> list[ItemType]: ...

    async def list_phone_numbers(self, on_page: PageProgress | None = None) -> list[PhoneNumber]:
        """The account's IncomingPhoneNumbers (API v2010): numbers v2 has no count per bundle,
        each number names its bundle instead."""
        ...

    async def create_evaluation(self, bundle_sid: str) -> Evaluation: ...

    async def list_item_assignments(self, bundle_sid: str) -> list[ItemAssignment]: ...

    async def list_bundle_copies(self, bundle_sid: str) -> list[Bundle]: ...

    async def fetch_bundle(self, sid: str) -> Bundle: ...

    async def fetch_supporting_document(self, sid: str) -> SupportingDocument: ...
