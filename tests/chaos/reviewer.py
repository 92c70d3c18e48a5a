"""The test's own Twilio reviewer for the renewals reviewed by hand: reject once, then approve.

For each such renewal, in a background thread: wait until its copy (the status's ``copySid``) is
under review and reject it with a failure reason (the simulator's admin review route, which no
fault touches); wait until the operator reports ``Rejected`` with that reason; fix the spec (a
new document value, as a person would after reading the reason); wait until the operator has
resubmitted the copy, and approve it. The operator may be killed and the API server restarted
at any point of this; every step is simply retried until it goes through.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass

from tests.chaos.cluster_view import ClusterView
from tests.chaos.fleet import DOCUMENT_FIELD, DOCUMENT_TYPE, Renewal
from twilio_sim.admin_client import AdminClient, AdminError

FAILURE_REASON = "Chaos review: the registrar excerpt's issue date cannot be read."
POLL_SECONDS = 0.2


class Step(enum.Enum):
    REJECT = "reject the first submission"
    SEE_REJECTED = "see the operator report the rejection"
    APPROVE = "approve the resubmission"
    DONE = "done"


@dataclass
class Review:
    renewal: Renewal
    step: Step = Step.REJECT
    copy_sid: str | None = None


class Reviewer:
    """Runs every renewal's review to the end, or until `stop()`."""

    def __init__(self, admin: AdminClient, view: ClusterView, renewals: list[Renewal]) -> None:
        self.admin = admin
        self.view = view
        self.reviews = [Review(r) for r in renewals]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-reviewer", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def pending(self) -> list[str]:
        """What each unfinished review waits for (for a failure message)."""
        return [f"{r.renewal.name}: {r.step.value}" for r in self.reviews if r.step != Step.DONE]

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and self.pending():
                for review in self.reviews:
                    self._advance(review)
                self._stop.wait(POLL_SECONDS)
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.error = exc

    def _advance(self, review: Review) -> None:
        if review.step is Step.DONE:
            return
        status = self.view.status(review.renewal)
        if status is None:
            return  # the API server is away: next round
        if review.step is Step.REJECT:
            review.copy_sid = status.get("copySid")
            if review.copy_sid and self._decide(review.copy_sid, "reject"):
                review.step = Step.SEE_REJECTED
        elif review.step is Step.SEE_REJECTED:
            reasons = (status.get("review") or {}).get("failureReasons") or []
            seen = any(FAILURE_REASON in str(r) for r in reasons)
            if status.get("phase") == "Rejected" and seen and self._fix(review.renewal):
                review.step = Step.APPROVE
        elif review.step is Step.APPROVE:
            assert status.get("copySid") == review.copy_sid, "the copy changed after a rejection"
            if review.copy_sid and self._decide(review.copy_sid, "approve"):
                review.step = Step.DONE

    def _decide(self, copy_sid: str, decision: str) -> bool:
        """True once decided; False while the copy is not under review yet (409). A rejection
        names the excerpt, as Twilio's reviewers do (the operator reports document reasons)."""
        reason: dict[str, object] = {}
        if decision == "reject":
            refused = {
                sid: {"failure_reason": FAILURE_REASON}
                for sid in copy_excerpts(self.admin, copy_sid)
            }
            reason = {"failure_reason": FAILURE_REASON, "documents": refused}
        try:
            self.admin.review(copy_sid, decision, **reason)
        except AdminError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def _fix(self, renewal: Renewal) -> bool:
        """The spec now carries the final document value instead of the refused one."""
        spec = renewal.spec()
        spec["supportingDocuments"] = [
            {"type": DOCUMENT_TYPE, "attributes": {DOCUMENT_FIELD: renewal.document_value}}
        ]
        return self.view.patch_spec(renewal, spec)


def copy_excerpts(admin: AdminClient, copy_sid: str) -> list[str]:
    """The registrar excerpts among a copy's items (what a rejection names)."""
    for account in admin.state()["accounts"]:
        for bundle in account["bundles"]:
            if bundle["sid"] == copy_sid:
                items = set(bundle["item_object_sids"])
                documents = account["supporting_documents"]
                return [
                    d["sid"] for d in documents if d["sid"] in items and d["type"] == DOCUMENT_TYPE
                ]
    raise AssertionError(f"copy {copy_sid} is not at the simulator")
