"""The baseline: a script following Twilio's compliance-update guide with the official SDK.

What a team without the operator would run: for each bundle, copy it, evaluate the copy, update
its end-user and the document the regulation change touched, evaluate again, submit, poll until
Twilio decides, replace the original's items with the copy's and delete the copy. The sync
``twilio`` client, one renewal after another or on a pool of threads (one client per thread),
polling every ``poll_seconds`` (the guide leaves the interval to the reader).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from twilio.rest import Client

from bench.fleet_sim import DOCUMENT_ATTRIBUTES, DOCUMENT_TYPE, END_USER_ATTRIBUTES

DECIDED = ("twilio-approved", "twilio-rejected")


@dataclass(frozen=True)
class GuideRun:
    renewals: int
    seconds: float
    failures: list[str]


def renew(client: Client, original: str, poll_seconds: float) -> None:
    """One bundle, the guide's way; raises on anything but a clean renewal."""
    rc = client.numbers.v2.regulatory_compliance
    copy = rc.bundles(original).bundle_copies.create(friendly_name="renewal (guide script)")
    rc.bundles(copy.sid).evaluations.create()  # what the regulation change now requires
    for item in rc.bundles(copy.sid).item_assignments.list():
        if item.object_sid.startswith("IT"):
            user = rc.end_users(item.object_sid).fetch()
            rc.end_users(user.sid).update(attributes={**user.attributes, **END_USER_ATTRIBUTES})
        else:
            doc = rc.supporting_documents(item.object_sid).fetch()
            if doc.type == DOCUMENT_TYPE:
                attributes = {**doc.attributes, **DOCUMENT_ATTRIBUTES}
                rc.supporting_documents(doc.sid).update(attributes=attributes)
    evaluation = rc.bundles(copy.sid).evaluations.create()
    if evaluation.status != "compliant":
        raise RuntimeError(f"{copy.sid} still evaluates {evaluation.status}")
    rc.bundles(copy.sid).update(status="pending-review")
    while (status := rc.bundles(copy.sid).fetch().status) not in DECIDED:
        time.sleep(poll_seconds)
    if status != "twilio-approved":
        raise RuntimeError(f"{copy.sid} was {status}")
    rc.bundles(original).replace_items.create(from_bundle_sid=copy.sid)
    rc.bundles(copy.sid).delete()


def run(
    make_client: Callable[[], Client], originals: list[str], threads: int, poll_seconds: float
) -> GuideRun:
    """Renew every original on ``threads`` threads (1: one after another); wall-clock time."""
    local = threading.local()

    def one(original: str) -> str | None:
        client: Any = getattr(local, "client", None)
        if client is None:
            client = local.client = make_client()
        try:
            renew(client, original, poll_seconds)
        except Exception as exc:  # a failed renewal is a result: reported, not raised
            return f"{original}: {type(exc).__name__}: {exc}"
        return None

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="guide") as pool:
        outcomes = list(pool.map(one, originals))
    seconds = time.monotonic() - started
    return GuideRun(len(originals), seconds, [o for o in outcomes if o is not None])
