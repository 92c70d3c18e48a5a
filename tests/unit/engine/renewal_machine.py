"""Simulation testing of the whole renewal: a Hypothesis state machine over the operator's real
reconcile loop (workflow, gatherer, action runner with its guard and write budget) against the
in-memory Twilio, on a fake clock.

The rules are what the world does to a BundleRenewal: reconciles when the daemon would run them
(at the next check, or woken early by a callback), each with faults planned on any of its Twilio
calls (429, 500, no answer before or after the write landed) or on a status write (the API
server not answering; the status is written first next time, as the daemon does), or a crash
after any of its writes (the process dies; everything not written to status is lost, with the
process's memory: write budget, credentials, regulation cache); a spec edit, which wakes the
daemon at once and may die in that reconcile; an operator restart between reconciles;
Twilio's review (approve, reject with reasons, or nothing: a slow review is time passing); a
regulation change; suspend and resume, dryRun, spec.renewalRequest; Secrets (values, a file,
the credentials) disappearing and coming back; deletion in the middle of a renewal; a second
BundleRenewal naming the same bundle.

Invariants, after every rule:
- Twilio saw nothing the fake refuses as unsafe (any write to the original but ReplaceItems and
  the documented StatusCallback registration, a ReplaceItems from an unapproved copy, a submit
  without a fresh compliant evaluation...; fake_twilio.py), nor an action the guard refuses;
- at most one live copy of the original, and every live copy is on the record of the resource
  that made it (its persisted status says a renewal is in flight or names the copy);
- no reconcile wrote more than the per-reconcile budget, and none ended in a write loop (the
  budget or the step bound tripping is a loop in our code: the machine's Twilio never trims);
- no attribute value in any status, event or log line;
- every status written is valid against the CRD's schema.
At the end of every history (teardown) the faults stop and the world settles: within a bounded
number of reconciles every renewal ends Completed (the original carrying the spec), or Stalled /
NeedsInput / Rejected with a reason, Suspended or DryRun, or gone after its clean-up; a rejected
copy at rest is one nobody changed since Twilio rejected it; and one more reconcile writes
nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import controller.engine.reconcile as loop
from controller.adapters.cluster import ClusterAccessError
from controller.adapters.twilio_gateway.port import (
    TwilioAmbiguousWriteError,
    TwilioTransientError,
)
from controller.core.models import BundleRenewalSpec, BundleRenewalStatus, ConditionType, Phase
from controller.core.plan import (
    Decision,
    Event,
    Observation,
    Policy,
    RenewalResource,
    copy_owner,
)
from controller.core.twilio_models import Bundle, BundleStatus, EndUser, SupportingDocument
from controller.core.workflow import backoff_delay, decide, decide_cleanup, in_flight, settled_for
from controller.engine.actions import UnsafeActionRefused, check_safe
from controller.engine.credentials import LastGoodCredentials
from controller.engine.regulation_cache import RegulationCache
from controller.engine.write_budget import WriteBudget
from controller.operator.status_sink import StatusWriteFailed
from tests.fakes.fake_regulations import RegulatedFakeTwilio
from tests.fakes.fake_twilio import CREDENTIALS, POA_PDF, T0, Objects

NAMESPACE = "telecom"
CALLBACK = "https://operator.example/twilio/status"
POLICY = Policy(check_interval=3600, review_poll_min=30, review_poll_max=300)
SETTLE_ROUNDS = 10
"""Reconciles each resource gets, with every copy in review approved between them, to settle
once the faults stop (a renewal needs two: to the review, and from the approval)."""

# -- faults -------------------------------------------------------------------------------------

RATE_LIMITED = "429"
SERVER_ERROR = "500"
DROPPED_BEFORE = "no answer, not applied"
DROPPED_AFTER = "no answer, applied"
CRASH = "crash"
TWILIO_FAULTS = (RATE_LIMITED, SERVER_ERROR, DROPPED_BEFORE, DROPPED_AFTER)


class ProcessDied(BaseException):
    """The operator process died (SIGKILL, OOM). A BaseException, as death is: the loop's
    `except Exception` must not record it as a failure."""


@dataclass
class FaultPlan:
    """The faults of one reconcile: by the index of the Twilio call they hit; the process dying
    once `crash_after` writes have landed (0: at its first call; reads change nothing, so the
    writes are where a crash can fall); the index of the status write the API server does not
    take."""

    twilio: dict[int, str] = field(default_factory=dict)
    crash_after: int | None = None
    status_write: int | None = None
    calls: int = 0
    writes: int = 0
    status_writes: int = 0
    injected: Counter[str] = field(default_factory=Counter)

    def next_call(self) -> str | None:
        kind = self.twilio.get(self.calls)
        self.calls += 1
        if kind is None and self.crash_after == 0:
            kind = CRASH
        if kind is not None:
            self.injected[kind] += 1
        return kind

    def landed(self, write: bool) -> str | None:
        """After a call Twilio applied: the crash, if this was the write it falls after."""
        if not write:
            return None
        self.writes += 1
        if self.writes == self.crash_after:
            self.injected[CRASH] += 1
            return CRASH
        return None

    def next_status_write_fails(self) -> bool:
        fails = self.status_writes == self.status_write
        self.status_writes += 1
        if fails:
            self.injected["status write failed"] += 1
        return fails


def _port_methods() -> list[str]:
    return sorted(
        name
        for name in dir(RegulatedFakeTwilio)
        if not name.startswith("_")
        and asyncio.iscoroutinefunction(getattr(RegulatedFakeTwilio, name))
    )


class FaultyTwilio:
    """The gateway the action runner and gatherer see: the machine's Twilio behind a network
    that fails as planned. Defined method by method (not __getattr__) so that protocol checks
    see exactly what the fake offers."""

    def __init__(self, twilio: MachineTwilio, plan: FaultPlan) -> None:
        self._twilio = twilio
        self._plan = plan


def _faulty(name: str) -> Any:
    write = not name.startswith(("fetch_", "list_"))

    async def call(self: FaultyTwilio, *args: Any, **kwargs: Any) -> Any:
        kind = self._plan.next_call()
        if kind == CRASH:
            raise ProcessDied(name)
        if kind in (RATE_LIMITED, SERVER_ERROR):
            status = int(kind)
            raise TwilioTransientError(f"{name}: HTTP {status}", status=status, code=20000 + status)
        lost: type[TwilioTransientError] = (
            TwilioAmbiguousWriteError if write else TwilioTransientError
        )
        if kind == DROPPED_BEFORE:
            raise lost(f"{name}: connection closed without an answer")
        result = await getattr(self._twilio, name)(*args, **kwargs)
        if self._plan.landed(write) == CRASH:
            raise ProcessDied(name)
        if kind == DROPPED_AFTER:
            raise lost(f"{name}: connection closed without an answer")
        return result

    call.__name__ = name
    return call


for _name in _port_methods():
    setattr(FaultyTwilio, _name, _faulty(_name))


@dataclass
class FaultyGateways:
    twilio: MachineTwilio
    plan: FaultPlan

    def for_credentials(self, credentials: Any, *, priority: float | None = None) -> Any:
        return FaultyTwilio(self.twilio, self.plan)


# -- Twilio ---------------------------------------------------------------------------------------


@dataclass
class MachineTwilio(RegulatedFakeTwilio):
    """The fake Twilio, with what the machine's oracles need: the documented StatusCallback
    registration on the original (only where it has none, the URL alone), and which rejected
    copies were changed after Twilio rejected them."""

    edited_after_rejection: set[str] = field(default_factory=set)

    async def set_status_callback(self, sid: str, status_callback: str) -> Bundle:
        if sid != self.original_sid:
            return await super().set_status_callback(sid, status_callback)
        self._write("set_status_callback")
        original = self.original
        if original.status_callback is not None or status_callback != CALLBACK:
            raise self._broken(f"StatusCallback of the original replaced: {status_callback}")
        self.bundles[sid] = original.model_copy(update={"status_callback": status_callback})
        self._landed()
        return self.bundles[sid]

    def _object_written(self, object_sid: str) -> None:
        super()._object_written(object_sid)
        for bundle_sid, items in self.items.items():
            if any(i.object_sid == object_sid for i in items):
                self._note_edit(bundle_sid)

    def _note_edit(self, bundle_sid: str) -> None:
        bundle = self.bundles.get(bundle_sid)
        if bundle is not None and bundle.status == BundleStatus.TWILIO_REJECTED:
            self.edited_after_rejection.add(bundle_sid)

    async def create_item_assignment(self, bundle_sid: str, object_sid: str) -> Any:
        item = await super().create_item_assignment(bundle_sid, object_sid)
        self._note_edit(bundle_sid)
        return item

    async def delete_item_assignment(self, bundle_sid: str, sid: str) -> None:
        await super().delete_item_assignment(bundle_sid, sid)
        self._note_edit(bundle_sid)

    async def submit_bundle(self, sid: str, status_callback: str | None) -> Bundle:
        submitted = await super().submit_bundle(sid, status_callback)
        self.edited_after_rejection.discard(sid)
        return submitted


# -- the cluster's side: resources, specs, Secrets -------------------------------------------------

# Every attribute value the specs and Secrets hold: none may appear in status, events or logs.
VALUES = {
    "a": {
        "business": "Sentinelle Alpha SAS",
        "first": "Zéphyrine",
        "last": "Quenouille",
        "number": "K-947310552",
    },
    "b": {
        "business": "Sentinelle Beta SARL",
        "first": "Zéphyrine",
        "last": "Brindamour",
        "number": "K-118260743",
    },
    "c": {
        "business": "Sentinelle Alpha SAS",
        "first": "Zéphyrine",
        "last": "Quenouille",
        "number": "K-502871196",
    },
}
SECRET_VALUES = {"business": "Sentinelle Gamma SA", "number": "K-630095418"}
PERSONAL = sorted(
    {v for values in VALUES.values() for v in values.values()} | set(SECRET_VALUES.values())
)
POA_FILE = {
    "secretKeyRef": {"name": "poa", "key": "poa.pdf"},
    "contentType": "application/pdf",
    "filename": "poa.pdf",
}


def _from_secret(key: str) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": "values", "key": key}}}


def spec_variant(name: str) -> dict[str, Any]:
    """The attributes part of a spec: `a`, `b` and `c` complete (`b` differs from `a` in every
    value, `c` in one), `secret` with values from a Secret, `incomplete` missing what the
    regulation requires (NeedsInput)."""
    values: dict[str, Any] = dict(VALUES.get(name, VALUES["a"]))
    if name == "secret":
        values.update(business=_from_secret("business"), number=_from_secret("number"))
    last = {} if name == "incomplete" else {"last_name": values["last"]}
    return {
        "endUser": {
            "attributes": {"business_name": values["business"], "first_name": values["first"]}
        },
        "supportingDocuments": [
            {
                "type": "commercial_registrar_excerpt",
                "attributes": {"document_number": values["number"]},
            },
            {
                "type": "government_issued_document",
                "match": {"friendlyName": "id-rep"},
                "attributes": last,
            },
            {
                "type": "government_issued_document",
                "match": {"friendlyName": "id-rep" if name == "clash" else "id-poa"},
                "attributes": {"last_name": VALUES["b"]["last"]} if name == "clash" else last,
            },
            {"type": "power_of_attorney", "attributes": {}, "file": POA_FILE},
        ],
    }


VARIANTS = ("a", "b", "c", "secret", "incomplete", "clash")


def default_secrets() -> dict[str, dict[str, bytes]]:
    return {
        "creds": dict(CREDENTIALS),
        "poa": {"poa.pdf": POA_PDF},
        "values": {k: v.encode() for k, v in SECRET_VALUES.items()},
    }


@dataclass
class Renewal:
    """A BundleRenewal as the API server stores it, and when its daemon runs next."""

    uid: str
    name: str
    bundle_sid: str
    variant: str = "a"
    suspend: bool = False
    dry_run: bool = False
    renewal_request: str | None = None
    generation: int = 1
    status: BundleRenewalStatus = field(default_factory=BundleRenewalStatus)
    due: datetime | None = T0
    """When the daemon reconciles next; None: only a change (spec, callback) wakes it."""
    deleted: bool = False
    gone: bool = False
    abandoned: bool = False
    """Its clean-up gave up (Warning CleanupAbandoned): what it made may be left at Twilio."""
    started: bool = False
    unwritten: BundleRenewalStatus | None = None
    """A status the API server did not take, which the daemon writes first next time."""
    unwritten_attempts: int = 0
    """Whether its daemon ran in this process yet (a restart trusts a settled status)."""

    def spec(self) -> dict[str, Any]:
        spec = {
            "bundleSid": self.bundle_sid,
            "credentialsSecretRef": {"name": "creds"},
            **spec_variant(self.variant),
        }
        if self.suspend:
            spec["suspend"] = True
        if self.dry_run:
            spec["dryRun"] = True
        if self.renewal_request is not None:
            spec["renewalRequest"] = self.renewal_request
        return spec

    def resource(self) -> RenewalResource:
        return RenewalResource(
            uid=self.uid,
            namespace=NAMESPACE,
            name=self.name,
            generation=self.generation,
            spec=BundleRenewalSpec.model_validate(self.spec()),
            status=self.status,
        )


def _status_schema() -> jsonschema.protocols.Validator:
    crd = yaml.safe_load(
        (Path(__file__).resolve().parents[3] / "crds" / "bundlerenewals.yaml").read_text()
    )
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    return jsonschema.Draft7Validator(schema)


STATUS_SCHEMA = _status_schema()


class Captured(logging.Handler):
    """Every log line the operator's code emits, formatted, for the privacy invariant."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Process:
    """What one operator process keeps in memory; a crash or restart starts a new one."""

    budget: WriteBudget
    credentials: LastGoodCredentials
    regulations: RegulationCache


@dataclass
class Totals:
    """What the histories did, for the figures `make fuzz` prints."""

    histories: int = 0
    steps: int = 0
    reconciles: int = 0
    requests: int = 0
    completed: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    invariant_checks: int = 0
    rules: Counter[str] = field(default_factory=Counter)


TOTALS = Totals()


# -- the machine --------------------------------------------------------------------------------


class RenewalMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.twilio = MachineTwilio.seed()
        self.now = T0
        self.objects = Objects(secrets=default_secrets())
        self.renewals: dict[str, Renewal] = {}
        self.events: list[Event] = []
        self.log = Captured()
        self.process = self._new_process()
        self.loop_failures: list[str] = []
        self.over_budget: list[int] = []
        self.settling = False
        self.requests = 0
        """Twilio requests sent, answered or not."""
        logger = logging.getLogger("controller")
        self.log_level = logger.level  # restored at teardown: other tests see the logger as it was
        logger.addHandler(self.log)
        logger.setLevel(logging.DEBUG)
        TOTALS.histories += 1

    def _new_process(self) -> Process:
        return Process(
            budget=WriteBudget(),
            credentials=LastGoodCredentials(clock=lambda: self.now.timestamp()),
            regulations=RegulationCache(clock=lambda: self.now),
        )

    @initialize()
    def first_renewal(self) -> None:
        self._add("acme")

    def _add(self, name: str) -> Renewal:
        uid = f"00000000-0000-4000-8000-{len(self.renewals) + 1:012d}"
        renewal = Renewal(uid=uid, name=name, bundle_sid=self.twilio.original_sid, due=self.now)
        self.renewals[uid] = renewal
        return renewal

    def live(self) -> list[Renewal]:
        return [r for r in self.renewals.values() if not r.gone]

    # -- the daemon: one reconcile -------------------------------------------------------------

    def _reconcile(self, renewal: Renewal, plan: FaultPlan, *, early: bool) -> None:
        TOTALS.rules["reconcile (settling)" if self.settling else "reconcile"] += 1
        """One reconcile as the daemon runs it: at the next check (`due`), or woken `early` by
        a callback or a change; after a restart, not before a settled status's next check."""
        if not early and renewal.due is not None:
            self.now = max(self.now, renewal.due)
        elif early:
            self.now += timedelta(seconds=1)
        resource = renewal.resource()
        if not renewal.started:
            renewal.started = True
            settled = settled_for(resource, self.now)
            if settled is not None and not early:
                self.now += timedelta(seconds=settled)
        self.twilio.now = self.now
        sink = MachineSink(self, renewal, plan)
        if renewal.unwritten is not None:
            # The daemon writes the status a failed attempt left before any Twilio call.
            try:
                asyncio.run(sink.write_status(renewal.unwritten))
            except StatusWriteFailed as exc:
                self._unwritten(renewal, exc)
                return
            renewal.unwritten, renewal.unwritten_attempts = None, 0
            settled = settled_for(renewal.resource(), self.now)
            if settled is not None and not early:
                renewal.due = self.now + timedelta(seconds=settled)
                return
            resource = renewal.resource()
        cleanup = renewal.deleted
        decider = decide_cleanup if cleanup else decide
        guard_refusals: list[str] = []

        def recording(
            current: RenewalResource, observation: Observation, at: datetime, policy: Policy
        ) -> Decision:
            decision = decider(current, observation, at, policy)
            if decision.action is not None:
                try:
                    check_safe(resource, decision.action, observation)
                except UnsafeActionRefused as exc:
                    guard_refusals.append(str(exc))
            return decision

        now = self.now
        deps = loop.Dependencies(
            gateways=FaultyGateways(self.twilio, plan),
            objects=self.objects,
            policy=POLICY,
            status_callback=CALLBACK,
            callback_on_original=True,
            clock=lambda: now,
            credentials=self.process.credentials,
            budget=self.process.budget,
            regulations=self.process.regulations,
        )
        writes = self.twilio.write_count()
        TOTALS.reconciles += 1
        try:
            outcome = asyncio.run(
                loop.reconcile(
                    resource,
                    deps,
                    sink,
                    decide=recording,
                    remembered_credentials=cleanup,
                    resolve_values=not cleanup,
                )
            )
        except ProcessDied:
            self._restart()
            renewal.due = self.now
            return
        except StatusWriteFailed as exc:
            self._unwritten(renewal, exc)
            return
        finally:
            self.requests += plan.calls
            TOTALS.requests += plan.calls
            TOTALS.faults.update(plan.injected)
            self.over_budget += [
                n
                for n in [self.twilio.write_count() - writes]
                if n > self.process.budget.per_reconcile
            ]
        self.twilio.broken += [f"the action runner's guard refuses it: {r}" for r in guard_refusals]
        reason = outcome.decision.status.message or ""
        if outcome.error is not None and (
            "WRITE_BUDGET" in reason or "did not settle within" in reason
        ):
            self.loop_failures.append(reason)
        if cleanup:
            if outcome.error is None:
                renewal.gone = True
            elif outcome.error.value != "transient":
                renewal.gone = renewal.abandoned = True
        after = outcome.requeue_after
        renewal.due = None if after is None else self.now + timedelta(seconds=after)
        if outcome.error is None:
            self._rejection_kept(renewal)

    def _rejection_kept(self, renewal: Renewal) -> None:
        """A renewal that rests Rejected (waiting for a person) holds a copy exactly as Twilio
        rejected it: one changed for a new spec is resubmitted once compliant."""
        status = renewal.status
        if status.phase == Phase.REJECTED and not renewal.deleted:
            assert status.copy_sid not in self.twilio.edited_after_rejection, (
                f"rejected copy {status.copy_sid} was changed for the spec but not resubmitted"
            )

    def _unwritten(self, renewal: Renewal, exc: StatusWriteFailed) -> None:
        """As the daemon: keep the status to write it first, back off."""
        renewal.unwritten = exc.status
        renewal.unwritten_attempts += 1
        delay = backoff_delay(renewal.unwritten_attempts, POLICY)
        renewal.due = self.now + timedelta(seconds=delay)

    def _restart(self) -> None:
        self.process = self._new_process()
        for renewal in self.renewals.values():
            renewal.started = False
            renewal.unwritten, renewal.unwritten_attempts = None, 0

    # -- rules -----------------------------------------------------------------------------------

    def _pick(self, index: int) -> Renewal | None:
        live = self.live()
        return live[index % len(live)] if live else None

    # The reconcile rules come in four, so that reconciles make up most of a history.
    @rule(index=st.integers(0, 1), early=st.booleans())
    def reconcile(self, index: int, early: bool) -> None:
        if (renewal := self._pick(index)) is not None:
            self._reconcile(renewal, FaultPlan(), early=early)

    @rule(
        index=st.integers(0, 1),
        early=st.booleans(),
        faults=st.dictionaries(st.integers(0, 8), st.sampled_from(TWILIO_FAULTS), max_size=3),
    )
    def reconcile_with_twilio_faults(self, index: int, early: bool, faults: dict[int, str]) -> None:
        if (renewal := self._pick(index)) is not None:
            self._reconcile(renewal, FaultPlan(twilio=faults), early=early)

    # Most reconciles make a few writes, and a renewal's edits come first: small counts often.
    @rule(
        index=st.integers(0, 1),
        early=st.booleans(),
        after_writes=st.integers(0, 3) | st.integers(4, 10),
    )
    def reconcile_and_crash(self, index: int, early: bool, after_writes: int) -> None:
        if (renewal := self._pick(index)) is not None:
            self._reconcile(renewal, FaultPlan(crash_after=after_writes), early=early)

    @rule(index=st.integers(0, 1), early=st.booleans(), at=st.integers(0, 3))
    def reconcile_status_write_fails(self, index: int, early: bool, at: int) -> None:
        if (renewal := self._pick(index)) is not None:
            self._reconcile(renewal, FaultPlan(status_write=at), early=early)

    @rule()
    def operator_restarts(self) -> None:
        self._restart()

    def _in_review(self) -> bool:
        return any(c.status in UNDER_REVIEW for c in self.twilio.live_copies())

    @precondition(_in_review)
    @rule(decision=st.sampled_from(["approve", "reject", "reject-id"]))
    def twilio_reviews(self, decision: str) -> None:
        reasons = {
            "reject": {"commercial_registrar_excerpt": "document number unreadable"},
            "reject-id": {"government_issued_document": "expired identity document"},
        }.get(decision)
        self.twilio.review(approve=decision == "approve", reasons=reasons)

    @rule(minutes=st.integers(1, 600))
    def time_passes(self, minutes: int) -> None:
        """A slow review, or nothing at all, for a while."""
        self.now += timedelta(minutes=minutes)

    @precondition(lambda self: self.twilio.original.valid_until is None)
    @rule(days=st.integers(1, 90))
    def regulation_changes(self, days: int) -> None:
        original = self.twilio.original
        self.twilio.bundles[original.sid] = original.model_copy(
            update={"valid_until": self.now + timedelta(days=days)}
        )

    def _edit(self, index: int, **changes: Any) -> Renewal | None:
        live = [r for r in self.live() if not r.deleted]
        if not live:
            return None
        renewal = live[index % len(live)]
        before = renewal.spec()
        for key, value in changes.items():
            setattr(renewal, key, value)
        if renewal.spec() != before:
            renewal.generation += 1
            renewal.due = self.now  # the watch event wakes the daemon
        return renewal

    @rule(
        index=st.integers(0, 1),
        variant=st.sampled_from(VARIANTS),
        dies_after=st.none() | st.integers(0, 4),
    )
    def edit_spec(self, index: int, variant: str, dies_after: int | None) -> None:
        """A spec edit; the watch event wakes the daemon at once, and the process may die in
        that very reconcile, after `dies_after` writes (the first writes a change makes are
        where the narrow windows are: patching a copy, a rejected one above all)."""
        renewal = self._edit(index, variant=variant)
        if renewal is not None and dies_after is not None:
            self._reconcile(renewal, FaultPlan(crash_after=dies_after), early=True)

    @rule(index=st.integers(0, 1), suspend=st.booleans())
    def suspend(self, index: int, suspend: bool) -> None:
        self._edit(index, suspend=suspend)

    @rule(index=st.integers(0, 1), dry_run=st.booleans())
    def dry_run(self, index: int, dry_run: bool) -> None:
        self._edit(index, dry_run=dry_run)

    @rule(index=st.integers(0, 1))
    def request_renewal(self, index: int) -> None:
        self._edit(index, renewal_request=self.now.isoformat())

    @rule(secret=st.sampled_from(["values", "poa", "creds"]), present=st.booleans())
    def secret_changes(self, secret: str, present: bool) -> None:
        if present:
            self.objects.secrets[secret] = default_secrets()[secret]
        else:
            self.objects.secrets.pop(secret, None)

    @rule(index=st.integers(0, 1))
    def delete(self, index: int) -> None:
        live = [r for r in self.live() if not r.deleted]
        if live:
            renewal = live[index % len(live)]
            renewal.deleted = True
            renewal.due = self.now

    @precondition(lambda self: len(self.live()) < 2 and len(self.renewals) < 4)
    @rule()
    def another_renewal_for_the_same_bundle(self) -> None:
        """A second BundleRenewal naming the bundle (or a new one after a deletion)."""
        self._add(f"acme-{len(self.renewals) + 1}")

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def nothing_unsafe_reached_twilio(self) -> None:
        if not self.settling:
            TOTALS.steps += 1  # the first invariant: it runs once after every step
        TOTALS.invariant_checks += 1
        assert self.twilio.broken == [], self.twilio.broken

    @invariant()
    def one_copy_per_original_and_on_record(self) -> None:
        TOTALS.invariant_checks += 1
        copies = self.twilio.live_copies()
        assert len(copies) <= 1, [c.friendly_name for c in copies]
        for copy in copies:
            owner = self.renewals.get(copy_owner(copy.friendly_name) or "")
            assert owner is not None, f"copy {copy.sid} of no resource: {copy.friendly_name}"
            if owner.abandoned:
                continue
            assert not owner.gone, f"copy {copy.sid} outlived its resource's clean-up"
            status = owner.status
            assert status.copy_sid == copy.sid or in_flight(status) is not None, (
                f"copy {copy.sid} is on no record: the persisted status is {status.phase}"
            )

    @invariant()
    def no_write_loop(self) -> None:
        TOTALS.invariant_checks += 1
        assert self.over_budget == [], f"reconciles over the write budget: {self.over_budget}"
        assert self.loop_failures == [], f"a write loop, stopped: {self.loop_failures}"

    @invariant()
    def no_personal_value_anywhere(self) -> None:
        TOTALS.invariant_checks += 1
        texts = [r.status.model_dump_json() for r in self.renewals.values()]
        texts += [e.message for e in self.events]
        texts += self.log.lines
        for text in texts:
            for value in PERSONAL:
                assert value not in text, f"{value!r} in {text[:200]!r}"

    # statuses are validated against the CRD as they are written (MachineSink)

    # -- the end of every history -------------------------------------------------------------

    def teardown(self) -> None:
        try:
            if not self.twilio.broken:
                self.settle()
        finally:
            logger = logging.getLogger("controller")
            logger.removeHandler(self.log)
            logger.setLevel(self.log_level)

    def settle(self) -> None:
        """No more faults: within SETTLE_ROUNDS reconciles each, with reviews approved, every
        renewal is at rest, and one more reconcile writes nothing."""
        self.settling = True
        for _ in range(SETTLE_ROUNDS):
            for renewal in self.live():
                self._reconcile(renewal, FaultPlan(), early=False)
            self.twilio.review(approve=True)
            self.nothing_unsafe_reached_twilio()
            self.one_copy_per_original_and_on_record()
            self.no_write_loop()
        for renewal in self.live():
            writes = self._changing_writes()
            self._reconcile(renewal, FaultPlan(), early=False)
            assert renewal.gone or self._changing_writes() == writes, (
                f"{renewal.name} still writes after settling: {renewal.status.phase}"
            )
            self._at_rest(renewal)
        self.no_personal_value_anywhere()
        self.nothing_unsafe_reached_twilio()
        TOTALS.completed += sum(1 for r in self.live() if r.status.phase == Phase.COMPLETED)

    def _changing_writes(self) -> int:
        """Twilio writes but a dry run's evaluation of the original (which changes nothing and
        is repeated at every light check, by design)."""
        return self.twilio.write_count() - self.twilio.original_evaluations

    def _at_rest(self, renewal: Renewal) -> None:
        if renewal.gone:
            return
        status = renewal.status
        phase = status.phase
        assert phase in AT_REST, f"{renewal.name} did not settle: {phase} ({status.message})"
        stalled = next((c for c in status.conditions if c.type == ConditionType.STALLED), None)
        if phase in WAITING_ON_A_PERSON:
            assert stalled is not None, f"{phase} without a Stalled condition"
            assert stalled.status == "True", f"{phase} without Stalled: {status.message}"
            assert stalled.reason, f"{phase} without a reason"
        self._rejection_kept(renewal)
        if phase == Phase.COMPLETED and len(self.renewals) == 1:
            self._original_carries_the_spec(renewal)

    def _original_carries_the_spec(self, renewal: Renewal) -> None:
        if renewal.variant not in VALUES:
            return
        values = VALUES[renewal.variant]
        objects = self.twilio.objects_of(self.twilio.original_sid)
        end_user = next(o for o in objects if isinstance(o, EndUser))
        assert end_user.attributes.get("business_name") == values["business"], (
            f"{renewal.name} is Completed, yet the original's end-user is not the spec's"
        )
        numbers = [
            o.attributes.get("document_number")
            for o in objects
            if isinstance(o, SupportingDocument) and o.type == "commercial_registrar_excerpt"
        ]
        assert numbers == [values["number"]], (
            f"{renewal.name} is Completed, yet the original's registrar excerpt is not the spec's"
        )


UNDER_REVIEW = (BundleStatus.PENDING_REVIEW, BundleStatus.IN_REVIEW)
AT_REST = frozenset(
    {
        Phase.COMPLETED,
        Phase.FAILED,
        Phase.NEEDS_INPUT,
        Phase.REJECTED,
        Phase.SUSPENDED,
        Phase.DRY_RUN,
    }
)
WAITING_ON_A_PERSON = frozenset({Phase.FAILED, Phase.NEEDS_INPUT, Phase.REJECTED})


class MachineSink:
    """The status subresource and events of one resource: a written status becomes what the
    next reconcile starts from, and is checked against the CRD's schema."""

    def __init__(self, machine: RenewalMachine, renewal: Renewal, plan: FaultPlan) -> None:
        self.machine = machine
        self.renewal = renewal
        self.plan = plan

    async def write_status(self, status: BundleRenewalStatus) -> None:
        if self.plan.next_status_write_fails():
            cause = ClusterAccessError(
                f"patching status of {NAMESPACE}/{self.renewal.name}", None, "MaxRetryError"
            )
            raise StatusWriteFailed(cause, status)
        stored = json.loads(status.model_dump_json(by_alias=True, exclude_none=True))
        errors = [e.message for e in STATUS_SCHEMA.iter_errors(stored)]
        assert errors == [], f"status the CRD refuses: {errors}"
        self.renewal.status = status

    def note(self, status: BundleRenewalStatus) -> None:
        pass

    def post_event(self, event: Event) -> None:
        self.machine.events.append(event)


__all__ = ["CRASH", "TOTALS", "TWILIO_FAULTS", "FaultPlan", "RenewalMachine"]
