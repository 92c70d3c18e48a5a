"""Handlers of Twilio's ``/v2/RegulatoryCompliance`` routes.

Each handler parses Twilio's wire format (form-encoded or multipart bodies, PascalCase
parameters, ``Attributes`` as a JSON string), applies Twilio's rules through the store, and
answers Twilio's JSON. The authenticated account is put on the request by the app's middleware;
every lookup goes through it, so accounts never see each other's resources.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiDict, MultiDictProxy, MultiMapping

from twilio_sim import errors, paging, regulations, render, sids
from twilio_sim.errors import TwilioError, invalid_parameter, missing_parameter
from twilio_sim.review import ReviewScheduler, evaluate_bundle
from twilio_sim.store import (
    BUNDLE_STATUSES,
    EDITABLE,
    SUBMITTABLE,
    Account,
    Bundle,
    EndUser,
    Evaluation,
    Store,
    SupportingDocument,
    utcnow,
)

RC = render.RC
END_USER_TYPES = ("individual", "business")
NUMBER_TYPES = ("local", "mobile", "national", "toll-free")
_EMPTY: MultiDictProxy[str | web.FileField] = MultiDictProxy(MultiDict())


@dataclass(frozen=True)
class ObjectKind:
    """End-users or supporting documents: what their fetch/update/delete handlers need."""

    sid_prefix: str
    objects: Callable[[Account], dict[str, Any]]
    render: Callable[[Any, str], dict[str, Any]]
    attributes_changed: Callable[[Any], None] = lambda _: None


def _document_attributes_changed(document: SupportingDocument) -> None:
    if document.status == "rejected":  # a corrected document goes back to draft
        document.status, document.failure_reason, document.errors = "draft", None, None


END_USERS = ObjectKind(sids.END_USER, lambda a: a.end_users, render.end_user)
DOCUMENTS = ObjectKind(
    sids.SUPPORTING_DOCUMENT,
    lambda a: a.documents,
    render.supporting_document,
    _document_attributes_changed,
)


# -- request parsing helpers ----------------------------------------------------------------
def base_url(request: web.Request, store: Store) -> str:
    if store.config.public_base_url:
        return store.config.public_base_url.rstrip("/")
    return f"{request.scheme}://{request.host}"


ACCOUNT: web.RequestKey[Account] = web.RequestKey("account", Account)


def account_of(request: web.Request) -> Account:
    return request[ACCOUNT]


async def read_form(request: web.Request) -> MultiDictProxy[str | web.FileField]:
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _EMPTY
    try:
        form: MultiDictProxy[Any] = await request.post()
    except (ValueError, UnicodeDecodeError, AssertionError):
        raise TwilioError(
            400, errors.MISSING_OR_INVALID_PARAMETER, "The request body could not be parsed"
        ) from None
    return form


def text(form: MultiMapping[str | web.FileField], name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_parameter(name, "must be a text field")
    return value


def required(form: MultiMapping[str | web.FileField], name: str) -> str:
    value = text(form, name)
    if value is None or value == "":
        raise missing_parameter(name)
    return value


def boolean(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    low = value.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise invalid_parameter(name, "must be true or false")


def date_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise invalid_parameter(name, "must be an ISO 8601 date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def attributes(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise invalid_parameter("Attributes", "must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise invalid_parameter("Attributes", "must be a JSON object")
    return parsed


def callback_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_parameter("StatusCallback", "must be an absolute http(s) URL")
    return value


def path_sid(request: web.Request, name: str, prefix: str) -> str:
    sid = request.match_info[name]
    if not sids.is_sid(sid, prefix):
        raise errors.not_found(request.path)
    return sid


def json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json"
    )


class TwilioApi:
    """The Regulatory Compliance routes, bound to one store and review scheduler."""

    def __init__(self, store: Store, scheduler: ReviewScheduler) -> None:
        self.store = store
        self.scheduler = scheduler

    def routes(self) -> list[web.RouteDef]:
        b = f"{RC}/Bundles"
        bs = f"{b}/{{BundleSid}}"
        return [
            web.post(b, self.create_bundle),
            web.get(b, self.list_bundles),
            web.get(f"{b}/{{Sid}}", self.fetch_bundle),
            web.post(f"{b}/{{Sid}}", self.update_bundle),
            web.delete(f"{b}/{{Sid}}", self.delete_bundle),
            web.post(f"{bs}/Copies", self.create_copy),
            web.get(f"{bs}/Copies", self.list_copies),
            web.post(f"{bs}/Evaluations", self.create_evaluation),
            web.get(f"{bs}/Evaluations", self.list_evaluations),
            web.get(f"{bs}/Evaluations/{{Sid}}", self.fetch_evaluation),
            web.post(f"{bs}/ItemAssignments", self.create_item),
            web.get(f"{bs}/ItemAssignments", self.list_items),
            web.get(f"{bs}/ItemAssignments/{{Sid}}", self.fetch_item),
            web.delete(f"{bs}/ItemAssignments/{{Sid}}", self.delete_item),
            web.post(f"{bs}/ReplaceItems", self.replace_items),
            web.post(f"{RC}/EndUsers", self.create_end_user),
            web.get(f"{RC}/EndUsers", self.list_end_users),
            web.get(f"{RC}/EndUsers/{{Sid}}", partial(self.fetch_object, END_USERS)),
            web.post(f"{RC}/EndUsers/{{Sid}}", partial(self.update_object, END_USERS)),
            web.delete(f"{RC}/EndUsers/{{Sid}}", partial(self.delete_object, END_USERS)),
            web.post(f"{RC}/SupportingDocuments", self.create_document),
            web.get(f"{RC}/SupportingDocuments", self.list_documents),
            web.get(f"{RC}/SupportingDocuments/{{Sid}}", partial(self.fetch_object, DOCUMENTS)),
            web.post(f"{RC}/SupportingDocuments/{{Sid}}", partial(self.update_object, DOCUMENTS)),
            web.delete(f"{RC}/SupportingDocuments/{{Sid}}", partial(self.delete_object, DOCUMENTS)),
            web.get(f"{RC}/EndUserTypes", self.list_end_user_types),
            web.get(f"{RC}/EndUserTypes/{{Sid}}", self.fetch_end_user_type),
            web.get(f"{RC}/SupportingDocumentTypes", self.list_document_types),
            web.get(f"{RC}/SupportingDocumentTypes/{{Sid}}", self.fetch_document_type),
            web.get(f"{RC}/Regulations", self.list_regulations),
            web.get(f"{RC}/Regulations/{{Sid}}", self.fetch_regulation),
        ]

    def _list(
        self, request: web.Request, items: list[Any], render_one: Any, key: str = "results"
    ) -> web.Response:
        base = base_url(request, self.store)
        page, meta = paging.paginate(items, request.query, base, request.path, key)
        return json_response({key: [render_one(x, base) for x in page], "meta": meta})

    def _bundle(self, request: web.Request, name: str = "BundleSid") -> Bundle:
        sid = path_sid(request, name, sids.BUNDLE)
        return account_of(request).bundle(sid, request.path)

    # -- bundles -----------------------------------------------------------------------------
    async def create_bundle(self, request: web.Request) -> web.Response:
        account = account_of(request)
        form = await read_form(request)
        friendly_name = required(form, "FriendlyName")
        email = required(form, "Email")
        status_callback = callback_url(text(form, "StatusCallback"))
        is_test = boolean(text(form, "IsTest"), "IsTest") or False
        regulation_sid = self._resolve_regulation(form)
        bundle = self.store.new_bundle(
            account, regulation_sid, friendly_name, email, status_callback, is_test=is_test
        )
        return json_response(render.bundle(bundle, base_url(request, self.store)), 201)

    def _resolve_regulation(self, form: MultiMapping[str | web.FileField]) -> str:
        sid = text(form, "RegulationSid")
        if sid is not None:
            if not sids.is_sid(sid, sids.REGULATION):
                raise invalid_parameter("RegulationSid")
            if sid not in self.store.regulations:
                raise TwilioError(
                    400, errors.INVALID_END_USER_OR_NUMBER_TYPE, f"Regulation {sid} not found"
                )
            return sid
        country = text(form, "IsoCountry")
        end_user_type = text(form, "EndUserType")
        number_type = text(form, "NumberType")
        if end_user_type is not None and end_user_type not in END_USER_TYPES:
            raise TwilioError(400, errors.INVALID_END_USER_OR_NUMBER_TYPE, "Invalid EndUserType")
        if number_type is not None and number_type not in NUMBER_TYPES:
            raise TwilioError(400, errors.INVALID_END_USER_OR_NUMBER_TYPE, "Invalid NumberType")
        if country is None or end_user_type is None or number_type is None:
            raise missing_parameter("RegulationSid")
        for reg in self.store.regulations.values():
            if (reg.iso_country, reg.end_user_type, reg.number_type) == (
                country.upper(),
                end_user_type,
                number_type,
            ):
                return reg.sid
        raise TwilioError(
            400,
            errors.INVALID_END_USER_OR_NUMBER_TYPE,
            f"No regulation for {country} {number_type} {end_user_type}",
        )

    async def list_bundles(self, request: web.Request) -> web.Response:
        q = request.query
        items = list(account_of(request).bundles.values())
        status = q.get("Status")
        if status is not None:
            if status not in BUNDLE_STATUSES:
                raise invalid_parameter("Status")
            items = [b for b in items if b.status == status]
        bundle_sids = q.get("BundleSids")
        if bundle_sids is not None:
            wanted = bundle_sids.split(",")
            if len(wanted) > 20 or not all(sids.is_sid(s, sids.BUNDLE) for s in wanted):
                raise invalid_parameter("BundleSids", "at most 20 BU SIDs, comma-separated")
            items = [b for b in items if b.sid in wanted]
        if (name := q.get("FriendlyName")) is not None:
            items = [b for b in items if b.friendly_name == name]
        if (reg_sid := q.get("RegulationSid")) is not None:
            if not sids.is_sid(reg_sid, sids.REGULATION):
                raise invalid_parameter("RegulationSid")
            items = [b for b in items if b.regulation_sid == reg_sid]
        regs = self.store.regulations
        for param, attr in (
            ("IsoCountry", "iso_country"),
            ("NumberType", "number_type"),
            ("EndUserType", "end_user_type"),
        ):
            if (value := q.get(param)) is not None:
                if param == "EndUserType" and value not in END_USER_TYPES:
                    raise invalid_parameter(param)
                items = [
                    b
                    for b in items
                    if str(getattr(regs[b.regulation_sid], attr)).lower() == value.lower()
                ]
        has_vu = boolean(q.get("HasValidUntilDate"), "HasValidUntilDate")
        if has_vu is not None:
            items = [b for b in items if (b.valid_until is not None) == has_vu]
        exact = date_time(q.get("ValidUntilDate"), "ValidUntilDate")
        before = date_time(q.get("ValidUntilDate<"), "ValidUntilDate<")
        after = date_time(q.get("ValidUntilDate>"), "ValidUntilDate>")
        if exact is not None:
            items = [b for b in items if b.valid_until == exact]
        if before is not None:
            items = [b for b in items if b.valid_until is not None and b.valid_until <= before]
        if after is not None:
            items = [b for b in items if b.valid_until is not None and b.valid_until >= after]
        sort_by = q.get("SortBy")
        direction = q.get("SortDirection", "DESC")
        if sort_by not in (None, "valid-until", "date-updated"):
            raise invalid_parameter("SortBy")
        if direction not in ("ASC", "DESC"):
            raise invalid_parameter("SortDirection")
        desc = direction == "DESC"
        if sort_by == "valid-until":
            dated = sorted(
                (b for b in items if b.valid_until is not None),
                key=lambda b: (b.valid_until, b.seq),
                reverse=desc,
            )
            items = dated + [b for b in items if b.valid_until is None]
        elif sort_by == "date-updated":
            items.sort(key=lambda b: (b.date_updated, b.seq), reverse=desc)
        else:
            items.sort(key=lambda b: (b.date_created, b.seq), reverse=desc)
        return self._list(request, items, render.bundle)

    async def fetch_bundle(self, request: web.Request) -> web.Response:
        bundle = self._bundle(request, "Sid")
        return json_response(render.bundle(bundle, base_url(request, self.store)))

    async def update_bundle(self, request: web.Request) -> web.Response:
        account = account_of(request)
        bundle = self._bundle(request, "Sid")
        form = await read_form(request)
        status = text(form, "Status")
        props = {
            "friendly_name": text(form, "FriendlyName"),
            "email": text(form, "Email"),
            "status_callback": callback_url(text(form, "StatusCallback")),
        }
        changes = {k: v for k, v in props.items() if v is not None}
        if status is not None:
            if changes:
                raise TwilioError(
                    400,
                    errors.STATUS_WITH_OTHER_CHANGES,
                    "Status cannot be updated together with other properties",
                )
            self._change_status(account, bundle, status)
        elif changes:
            for key, value in changes.items():
                setattr(bundle, key, value)
            bundle.date_updated = utcnow()
        return json_response(render.bundle(bundle, base_url(request, self.store)))

    def _change_status(self, account: Account, bundle: Bundle, status: str) -> None:
        if status not in BUNDLE_STATUSES:
            raise TwilioError(400, errors.INVALID_STATUS_VALUE, f"Invalid Status {status!r}")
        if status != "pending-review" or bundle.status not in SUBMITTABLE:
            raise TwilioError(
                400,
                errors.ILLEGAL_STATUS_TRANSITION,
                f"Bundle status cannot change from {bundle.status} to {status}",
            )
        if self.store.config.review.require_compliant_submission and not bundle.is_test:
            verdict, _ = evaluate_bundle(self.store, account, bundle)
            if verdict != "compliant":
                raise TwilioError(
                    400,
                    errors.BUNDLE_NOT_COMPLIANT,
                    "The bundle does not meet the regulation's requirements; "
                    "create an Evaluation to see what is missing",
                )
        self.scheduler.submit(account, bundle)

    async def delete_bundle(self, request: web.Request) -> web.Response:
        account = account_of(request)
        bundle = self._bundle(request, "Sid")
        self.store.delete_bundle(account, bundle)
        return web.Response(status=204)

    # -- copies, evaluations ----------------------------------------------------------------
    async def create_copy(self, request: web.Request) -> web.Response:
        account = account_of(request)
        original = self._bundle(request)
        form = await read_form(request)
        name = text(form, "FriendlyName") or original.friendly_name
        dup = self.store.copy_bundle(account, original, name)
        return json_response(render.bundle_core(dup), 201)

    async def list_copies(self, request: web.Request) -> web.Response:
        account = account_of(request)
        original = self._bundle(request)
        copies = [b for b in account.bundles.values() if b.copy_of == original.sid]
        copies.sort(key=lambda b: (b.date_created, b.seq), reverse=True)
        return self._list(request, copies, lambda b, _base: render.bundle_core(b))

    async def create_evaluation(self, request: web.Request) -> web.Response:
        account = account_of(request)
        bundle = self._bundle(request)
        status, results = evaluate_bundle(self.store, account, bundle)
        ev = Evaluation(
            sids.new_sid(sids.EVALUATION),
            account.sid,
            bundle.regulation_sid,
            bundle.sid,
            status,
            results,
            utcnow(),
        )
        account.evaluations.setdefault(bundle.sid, {})[ev.sid] = ev
        return json_response(render.evaluation(ev, base_url(request, self.store)), 201)

    async def list_evaluations(self, request: web.Request) -> web.Response:
        account = account_of(request)
        bundle = self._bundle(request)
        evs = sorted(
            account.evaluations.get(bundle.sid, {}).values(), key=lambda e: e.seq, reverse=True
        )
        return self._list(request, evs, render.evaluation)

    async def fetch_evaluation(self, request: web.Request) -> web.Response:
        account = account_of(request)
        bundle = self._bundle(request)
        sid = path_sid(request, "Sid", sids.EVALUATION)
        ev = account.evaluations.get(bundle.sid, {}).get(sid)
        if ev is None:
            raise errors.not_found(request.path)
        return json_response(render.evaluation(ev, base_url(request, self.store)))

    # -- item assignments, replace items -----------------------------------------------------
    def _require_editable(self, bundle: Bundle) -> None:
        if bundle.status not in EDITABLE:
            raise TwilioError(
                400,
                errors.ITEMS_LOCKED,
                f"Items of a bundle in status {bundle.status} cannot be changed",
            )

    async def create_item(self, request: web.Request) -> web.Response:
        account = account_of(request)
        bundle = self._bundle(request)
        form = await read_form(request)
        object_sid = required(form, "ObjectSid")
        if not sids.is_sid(object_sid):
            raise TwilioError(400, errors.INVALID_OBJECT_SID, f"Invalid ObjectSid {object_sid}")
        if object_sid[:2] not in (sids.END_USER, sids.SUPPORTING_DOCUMENT):
            raise TwilioError(
                400,
                errors.OBJECT_SID_NOT_ITEM,
                "ObjectSid must be an End-User (IT) or Supporting Document (RD) SID",
            )
        if object_sid not in account.end_users and object_sid not in account.documents:
            raise TwilioError(
                400, errors.INVALID_OBJECT_SID, f"ObjectSid {object_sid} was not found"
            )
        self._require_editable(bundle)
        if any(i.object_sid == object_sid for i in bundle.items.values()):
            raise TwilioError(
                400, errors.INVALID_OBJECT_SID, f"{object_sid} is already assigned to the bundle"
            )
        item = self.store.add_item(account, bundle, object_sid)
        bundle.date_updated = utcnow()
        return json_response(render.item_assignment(item, base_url(request, self.store)), 201)

    async def list_items(self, request: web.Request) -> web.Response:
        bundle = self._bundle(request)
        return self._list(request, list(bundle.items.values()), render.item_assignment)

    def _item(self, request: web.Request) -> tuple[Bundle, str]:
        bundle = self._bundle(request)
        sid = path_sid(request, "Sid", sids.ITEM_ASSIGNMENT)
        if sid not in bundle.items:
            raise errors.not_found(request.path)
        return bundle, sid

    async def fetch_item(self, request: web.Request) -> web.Response:
        bundle, sid = self._item(request)
        return json_response(
            render.item_assignment(bundle.items[sid], base_url(request, self.store))
        )

    async def delete_item(self, request: web.Request) -> web.Response:
        bundle, sid = self._item(request)
        self._require_editable(bundle)
        del bundle.items[sid]
        bundle.date_updated = utcnow()
        return web.Response(status=204)

    async def replace_items(self, request: web.Request) -> web.Response:
        account = account_of(request)
        target = self._bundle(request)
        form = await read_form(request)
        from_sid = required(form, "FromBundleSid")
        if from_sid == target.sid:
            raise TwilioError(
                400, errors.FROM_BUNDLE_SAME, "FromBundleSid must differ from the target bundle"
            )
        source = account.bundles.get(from_sid) if sids.is_sid(from_sid, sids.BUNDLE) else None
        if source is None:
            raise TwilioError(
                400, errors.FROM_BUNDLE_NOT_FOUND, f"FromBundleSid {from_sid} was not found"
            )
        for b in (target, source):
            if b.status != "twilio-approved":
                raise TwilioError(
                    400,
                    errors.BUNDLE_NOT_APPROVED,
                    f"Bundle {b.sid} is {b.status}; both bundles must be twilio-approved",
                )
        verdict, _ = evaluate_bundle(self.store, account, source)
        if verdict != "compliant":
            raise TwilioError(
                400,
                errors.FROM_BUNDLE_OUTDATED,
                "FromBundleSid does not meet the latest requirements of the regulation",
            )
        if not _addresses(account, target) <= _addresses(account, source):
            raise TwilioError(
                400,
                errors.ADDRESS_CANNOT_BE_REMOVED,
                "The bundle's address cannot be removed; the new items must keep it",
            )
        target.items.clear()
        for item in list(source.items.values()):
            self.store.add_item(account, target, item.object_sid)
        source.items.clear()
        source.date_updated = utcnow()
        if target.valid_until is None:
            target.date_updated = utcnow()
        if not self.store.config.replace_items_keeps_valid_until:
            self.store.set_bundle_state(target, valid_until=None)
        return json_response(render.bundle_core(target), 201)

    # -- end-users and supporting documents ----------------------------------------------------
    async def create_end_user(self, request: web.Request) -> web.Response:
        account = account_of(request)
        form = await read_form(request)
        friendly_name = required(form, "FriendlyName")
        type_ = required(form, "Type")
        if type_ not in END_USER_TYPES:
            raise invalid_parameter("Type", "must be individual or business")
        attrs = attributes(text(form, "Attributes")) or {}
        now = utcnow()
        user = EndUser(
            sids.new_sid(sids.END_USER), account.sid, friendly_name, type_, attrs, now, now
        )
        account.end_users[user.sid] = user
        return json_response(render.end_user(user, base_url(request, self.store)), 201)

    async def list_end_users(self, request: web.Request) -> web.Response:
        users = sorted(account_of(request).end_users.values(), key=lambda u: u.seq, reverse=True)
        return self._list(request, users, render.end_user)

    # One fetch/update/delete for both kinds of item object (ObjectKind says where they differ).
    def _object(self, request: web.Request, kind: ObjectKind) -> EndUser | SupportingDocument:
        sid = path_sid(request, "Sid", kind.sid_prefix)
        found: EndUser | SupportingDocument | None = kind.objects(account_of(request)).get(sid)
        if found is None:
            raise errors.not_found(request.path)
        return found

    async def fetch_object(self, kind: ObjectKind, request: web.Request) -> web.Response:
        found = self._object(request, kind)
        return json_response(kind.render(found, base_url(request, self.store)))

    async def update_object(self, kind: ObjectKind, request: web.Request) -> web.Response:
        found = self._object(request, kind)
        form = await read_form(request)
        name = text(form, "FriendlyName")
        attrs = attributes(text(form, "Attributes"))
        if name is not None:
            found.friendly_name = name
        if attrs is not None:
            found.attributes = attrs
            kind.attributes_changed(found)
        if name is not None or attrs is not None:
            found.date_updated = utcnow()
        return json_response(kind.render(found, base_url(request, self.store)))

    async def delete_object(self, kind: ObjectKind, request: web.Request) -> web.Response:
        account = account_of(request)
        found = self._object(request, kind)
        self._refuse_if_assigned(account, found.sid)
        del kind.objects(account)[found.sid]
        return web.Response(status=204)

    def _refuse_if_assigned(self, account: Account, sid: str) -> None:
        if account.is_assigned(sid):
            raise TwilioError(
                400, errors.OBJECT_IN_USE, f"{sid} is assigned to a bundle and cannot be deleted"
            )

    async def create_document(self, request: web.Request) -> web.Response:
        account = account_of(request)
        form = await read_form(request)
        friendly_name = required(form, "FriendlyName")
        type_ = required(form, "Type")
        if type_ not in regulations.document_types(self.store.regulations):
            raise invalid_parameter("Type", "unknown supporting document type")
        attrs = attributes(text(form, "Attributes")) or {}
        upload = form.get("File")
        mime_type = None
        if upload is not None:
            if not isinstance(upload, web.FileField):
                raise invalid_parameter("File", "must be a file part")
            mime_type = upload.content_type or "application/octet-stream"
        now = utcnow()
        doc = SupportingDocument(
            sids.new_sid(sids.SUPPORTING_DOCUMENT),
            account.sid,
            friendly_name,
            type_,
            attrs,
            now,
            now,
            mime_type=mime_type,
        )
        account.documents[doc.sid] = doc
        return json_response(render.supporting_document(doc, base_url(request, self.store)), 201)

    async def list_documents(self, request: web.Request) -> web.Response:
        docs = sorted(account_of(request).documents.values(), key=lambda d: d.seq, reverse=True)
        return self._list(request, docs, render.supporting_document)

    # -- catalogue: types and regulations ------------------------------------------------------
    def _types(self, end_user: bool) -> dict[str, regulations.DocumentType]:
        cat = self.store.regulations
        types = regulations.end_user_types(cat) if end_user else regulations.document_types(cat)
        return {sids.stable_sid(sids.TYPE, ("eu:" if end_user else "sd:") + m): t
                for m, t in types.items()}  # fmt: skip

    async def list_end_user_types(self, request: web.Request) -> web.Response:
        return self._list_types(request, True, "EndUserTypes", "end_user_types")

    async def list_document_types(self, request: web.Request) -> web.Response:
        return self._list_types(
            request, False, "SupportingDocumentTypes", "supporting_document_types"
        )

    def _list_types(
        self, request: web.Request, end_user: bool, collection: str, key: str
    ) -> web.Response:
        items = list(self._types(end_user).items())
        return self._list(
            request, items, lambda x, base: render.item_type(x[1], x[0], base, collection), key
        )

    async def fetch_end_user_type(self, request: web.Request) -> web.Response:
        return self._fetch_type(request, True, "EndUserTypes")

    async def fetch_document_type(self, request: web.Request) -> web.Response:
        return self._fetch_type(request, False, "SupportingDocumentTypes")

    def _fetch_type(self, request: web.Request, end_user: bool, collection: str) -> web.Response:
        sid = path_sid(request, "Sid", sids.TYPE)
        found = self._types(end_user).get(sid)
        if found is None:
            raise errors.not_found(request.path)
        base = base_url(request, self.store)
        return json_response(render.item_type(found, sid, base, collection))

    async def list_regulations(self, request: web.Request) -> web.Response:
        q = request.query
        regs = list(self.store.regulations.values())
        if (eut := q.get("EndUserType")) is not None:
            if eut not in END_USER_TYPES:
                raise invalid_parameter("EndUserType")
            regs = [r for r in regs if r.end_user_type == eut]
        if (country := q.get("IsoCountry")) is not None:
            regs = [r for r in regs if r.iso_country == country.upper()]
        if (number_type := q.get("NumberType")) is not None:
            regs = [r for r in regs if r.number_type == number_type]
        constraints = bool(boolean(q.get("IncludeConstraints"), "IncludeConstraints"))
        return self._list(request, regs, lambda r, base: render.regulation(r, base, constraints))

    async def fetch_regulation(self, request: web.Request) -> web.Response:
        sid = path_sid(request, "Sid", sids.REGULATION)
        reg = self.store.regulations.get(sid)
        if reg is None:
            raise errors.not_found(request.path)
        constraints = bool(boolean(request.query.get("IncludeConstraints"), "IncludeConstraints"))
        return json_response(render.regulation(reg, base_url(request, self.store), constraints))


def _addresses(account: Account, bundle: Bundle) -> set[str]:
    _, docs = account.items_of(bundle)
    out: set[str] = set()
    for doc in docs:
        value = doc.attributes.get("address_sids")
        if isinstance(value, list):
            out.update(v for v in value if isinstance(v, str))
        elif isinstance(value, str) and value:
            out.add(value)
    return out
