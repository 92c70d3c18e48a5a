"""One reconcile of one BundleRenewal: decide, persist, act, fold, decide again, until it waits.

The loop the workflow's Decision asks for, with no Kopf in it (daemon.py runs it under Kopf):
- status is written when the reconcile ends (or fails), and before an action only at a
  decision's `checkpoint`: where it records what a restart could not learn from Twilio (a
  document requested but not yet known, the items ReplaceItems moves). A crash loses the rest,
  which the next reconcile re-observes at Twilio; so a renewal costs a few status writes, not
  one per step. The last decision carries status.nextCheckTime (when the daemon wakes next),
  so a timed reconcile that changes nothing else still writes that one field;
- attribute values the spec reads from Secrets are resolved first, once per reconcile (not for a
  suspended resource, nor for the clean-up, which needs none): the workflow sees plain values,
  and a missing Secret or key fails the reconcile before any Twilio call (spec_values.py);
- credentials are read (from the Secret) only when the first Twilio call is due, so a Ready or
  suspended resource costs no credentials read; a clean-up whose Secret is gone (namespace deletion)
  uses the ones the resource last loaded (`LastGoodCredentials`);
- a failed action becomes the workflow's `on_error` decision (status + backoff), never a raise;
  so does an unexpected exception (a bug, a malformed answer), logged by type and code location
  only, since its message may quote personal data;
- a bound on steps stops a decision loop that never settles;
- once settled, with WEBHOOK_SET_CALLBACK_ON_ORIGINALS, the original observed without a
  StatusCallback gets the operator's (original_callback.py says why that write is allowed).

The loop's place among the layers: docs/architecture.md; why pure decisions:
docs/design/pure-workflow.md.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from controller.adapters.cluster import ClusterAccessError
from controller.adapters.twilio_gateway.port import TwilioGatewayFactory
from controller.core import workflow
from controller.core.models import BundleRenewalStatus
from controller.core.plan import (
    Decision,
    ErrorKind,
    Event,
    Observation,
    Policy,
    RenewalResource,
    is_write,
)
from controller.core.settings import OperatorSettings
from controller.engine.actions import ActionFailed, ActionRunner, ObjectSource, cluster_error_kind
from controller.engine.credentials import CredentialsError, LastGoodCredentials
from controller.engine.original_callback import register_on_original
from controller.engine.regulation_cache import RegulationCache
from controller.engine.spec_values import ValueSecretError, resolve_resource
from controller.engine.write_budget import WriteBudget

DecideFn = Callable[[RenewalResource, Observation, datetime, Policy], Decision]
Clock = Callable[[], datetime]

# Each step is one Twilio call at most; a renewal needs a few dozen. Far more means a loop.
MAX_STEPS = 200

_log = logging.getLogger("controller.engine.reconcile")


class ResourceSink(Protocol):
    """Where a reconcile records what it decided: the resource's status and its events."""

    async def write_status(self, status: BundleRenewalStatus) -> None: ...

    def post_event(self, event: Event) -> None: ...

    def note(self, status: BundleRenewalStatus) -> None:
        """The status decided so far, written or not (e.g. a copy about to be submitted, whose
        status callbacks may arrive before the reconcile ends and writes it)."""


@dataclass(frozen=True)
class Dependencies:
    """What every reconcile needs, built once per process."""

    gateways: TwilioGatewayFactory
    objects: ObjectSource
    policy: Policy
    status_callback: str | None = None
    callback_on_original: bool = False
    clock: Clock = lambda: datetime.now(UTC)
    credentials: LastGoodCredentials = field(default_factory=LastGoodCredentials)
    """Shared by every reconcile of the process (pass the same object each time)."""
    budget: WriteBudget = field(default_factory=WriteBudget)
    """Each resource's Twilio write budget, shared likewise."""
    regulations: RegulationCache = field(default_factory=RegulationCache)
    """What regulations accept, per account, shared likewise (the preflight's reads)."""


@dataclass(frozen=True)
class Outcome:
    """How a reconcile ended: the last decision (its status is persisted), the error kind if an
    action failed, how many actions ran and how many of them were Twilio writes."""

    decision: Decision
    error: ErrorKind | None = None
    actions: int = 0
    writes: int = 0

    @property
    def requeue_after(self) -> float | None:
        return self.decision.requeue_after


def budget_from_settings(settings: OperatorSettings) -> WriteBudget:
    return WriteBudget(
        per_reconcile=settings.write_budget_per_reconcile, per_hour=settings.write_budget_per_hour
    )


def policy_from_settings(settings: OperatorSettings) -> Policy:
    return Policy(
        check_interval=settings.light_check_interval_seconds,
        review_poll_min=settings.poll_interval_seconds,
        review_poll_max=settings.poll_interval_max_seconds,
        backoff_base=settings.backoff_base_seconds,
        backoff_max=settings.backoff_max_seconds,
        history_limit=settings.history_limit,
    )


async def reconcile(
    resource: RenewalResource,
    deps: Dependencies,
    sink: ResourceSink,
    *,
    decide: DecideFn = workflow.decide,
    should_stop: Callable[[], bool] = lambda: False,
    logger: logging.Logger | logging.LoggerAdapter[Any] = _log,
    remembered_credentials: bool = False,
    resolve_values: bool = True,
) -> Outcome:
    """Run the decision loop for `resource` (whose status is the latest one written). With
    `remembered_credentials` (clean-up), an unreadable Secret falls back to the credentials the
    resource last loaded in this process. Without `resolve_values` (clean-up) the spec's
    attribute values are not read: the decisions must not need them."""
    status = written = resource.status
    observation = Observation()
    runner: ActionRunner | None = None
    actions = writes = 0

    async def record(decision: Decision, *, persist: bool) -> None:
        """Take the decision's status as the latest; write it if it changed and `persist`, or
        if a field its checkpoint names is not persisted yet."""
        nonlocal status, written
        status = decision.status
        sink.note(status)
        unsaved = any(getattr(status, f) != getattr(written, f) for f in decision.checkpoint)
        if (persist or unsaved) and status != written:
            await sink.write_status(status)
            written = status
        if decision.event is not None:
            sink.post_event(decision.event)

    async def fail(kind: ErrorKind, message: str) -> Outcome:
        current = resource.model_copy(update={"status": status})
        decision = workflow.on_error(current, kind, message, deps.clock(), deps.policy)
        await record(decision, persist=True)
        level = logging.INFO if kind is ErrorKind.TRANSIENT else logging.WARNING
        logger.log(level, "%s; next attempt in %ss", message, decision.requeue_after)
        return Outcome(decision, kind, actions, writes)

    if resolve_values and not resource.spec.suspend:
        try:
            resource = await resolve_resource(resource, deps.objects)
        except ValueSecretError as exc:
            return await fail(ErrorKind.VALUE_SECRET, str(exc))
        except ClusterAccessError as exc:
            return await fail(cluster_error_kind(exc), str(exc))

    for _ in range(MAX_STEPS):
        current = resource.model_copy(update={"status": status})
        decision = decide(current, observation, deps.clock(), deps.policy)
        action = decision.action
        await record(decision, persist=action is None or should_stop())
        if action is None:
            if runner is not None and observation.original is not None:
                await _callback_on_original(deps, runner, observation, logger)
            return Outcome(decision, None, actions, writes)
        if should_stop():
            return Outcome(decision.model_copy(update={"action": None}), None, actions, writes)
        if runner is None:
            try:
                runner = await _runner(resource, deps, remembered_credentials, logger)
            except CredentialsError as exc:
                return await fail(ErrorKind.CREDENTIALS, str(exc))
            except ClusterAccessError as exc:
                return await fail(cluster_error_kind(exc), str(exc))
        if is_write(action):
            logger.info("Twilio: %s", action.describe())
        else:
            logger.debug("Twilio: %s", action.describe())
        try:
            observation = await runner.run(action, observation)
        except ActionFailed as exc:
            return await fail(exc.kind, exc.message)
        except Exception as exc:
            # Recorded with backoff instead of crashing the daemon (which Kopf restarts at once).
            logger.error(
                "%s raised %s (message withheld: it may quote personal data) at:\n%s",
                action.describe(),
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
            )
            return await fail(
                ErrorKind.TRANSIENT,
                f"{action.describe()} failed unexpectedly ({type(exc).__name__}); retrying",
            )
        actions += 1
        writes += int(is_write(action))
    # A loop the write budget did not catch (reads only): a bug; Stalled, never retried blindly.
    return await fail(ErrorKind.PERMANENT, f"the renewal did not settle within {MAX_STEPS} steps")


async def _callback_on_original(
    deps: Dependencies,
    runner: ActionRunner,
    observation: Observation,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> None:
    if deps.callback_on_original and deps.status_callback and observation.original is not None:
        await register_on_original(
            runner.gateway, observation.original, deps.status_callback, logger
        )


# Ahead of every renewal not yet submitted, whenever it began: far more than any spread of
# start times (about 31 years).
SUBMITTED_AHEAD_SECONDS = 1e9


def queue_priority(status: BundleRenewalStatus, now: datetime) -> float:
    """Where a reconcile's requests queue for the account's slots (lower first). A renewal in
    flight goes by when it started, so that every step of a renewal begun earlier goes before
    any step of one begun later (finish started renewals before starting new ones); one already
    submitted goes before every renewal not yet submitted, since what is left of it (the review's
    decision, ReplaceItems, deleting the copy) is what makes it Ready. Any other reconcile goes
    by `now`, after every renewal already begun.

    Measured at 1,000 renewals (docs/development/fleet-benchmark.md), Twilio's decision to
    Completed, median: 11.8 s queued by the submission time, 4.0-6.1 s by the start alone,
    0.79-0.84 s with submitted renewals first. The whole fleet took about 8 % longer (38.8 s
    against 35.7 s, 4 runs each): the last renewals are submitted later, and nothing is left to
    fill the slots during their review."""
    record = workflow.in_flight(status)
    if record is None or record.started_at is None:
        return now.timestamp()
    ahead = SUBMITTED_AHEAD_SECONDS if record.submitted_at is not None else 0.0
    return record.started_at.timestamp() - ahead


async def _runner(
    resource: RenewalResource,
    deps: Dependencies,
    remembered: bool,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> ActionRunner:
    secret_name = resource.spec.credentials_secret_ref.name
    credentials, fell_back = await deps.credentials.load(
        deps.objects, resource.uid, resource.namespace, secret_name, fallback=remembered
    )
    if fell_back:
        logger.info(
            "Secret %s cannot be read; cleaning up with the credentials last read from it",
            secret_name,
        )
    gateway = deps.gateways.for_credentials(
        credentials, priority=queue_priority(resource.status, deps.clock())
    )
    return ActionRunner(
        gateway,
        resource,
        deps.objects,
        deps.status_callback,
        deps.budget,
        deps.clock,
        deps.regulations.for_account(gateway, credentials.account_sid),
    )
