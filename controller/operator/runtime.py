"""Per-process state of the running operator: clients built at start-up, and per-resource
wake-ups, locks, last written statuses, bundle owners and metrics.

One `Runtime` per process, created with the Kopf registry (handlers.py) and shared by every
handler; forgetting a resource drops everything kept for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from controller.adapters.cluster import ClusterClient
from controller.adapters.twilio_gateway.config import GatewaySettings
from controller.adapters.twilio_gateway.factory import SdkTwilioGatewayFactory
from controller.adapters.twilio_gateway.retry import RetryPolicy
from controller.core.bundle_owners import BundleOwner, BundleOwners
from controller.core.models import BundleRenewalStatus
from controller.core.settings import OperatorSettings
from controller.core.twilio_models import BundleStatus
from controller.engine.credentials import LastGoodCredentials
from controller.engine.reconcile import Dependencies, budget_from_settings, policy_from_settings
from controller.engine.regulation_cache import RegulationCache
from controller.engine.write_budget import WriteBudget
from controller.inbound.http_server import HttpServer
from controller.telemetry.loop_lag import LoopLagProbe
from controller.telemetry.metrics import OperatorMetrics

_STILL_IN_REVIEW = frozenset({BundleStatus.PENDING_REVIEW.value, BundleStatus.IN_REVIEW.value})


def gateway_settings(settings: OperatorSettings) -> GatewaySettings:
    return GatewaySettings(
        base_url=settings.twilio_base(),
        upload_base_url=settings.twilio_upload_base(),
        max_concurrent_requests_per_account=settings.twilio_concurrency_per_account,
        initial_concurrent_requests_per_account=settings.twilio_concurrency_initial,
        adaptive_concurrency=settings.twilio_concurrency_adaptive,
        request_timeout_seconds=settings.twilio_timeout_seconds,
        retry=RetryPolicy(max_attempts=settings.twilio_max_attempts),
    )


@dataclass
class Runtime:
    """Per-process state: clients built at start-up, and per-resource wake-ups and statuses."""

    settings: OperatorSettings
    cluster: ClusterClient | None = None
    gateways: SdkTwilioGatewayFactory | None = None
    wakeups: dict[str, asyncio.Event] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)
    """The status last written, by uid, as JSON (`last_written` parses it: the next reconcile
    starts from it). Kept as JSON, not as the model, for memory: 2.3 KiB against 10.1 KiB for a
    renewed resource, which holds about 80 KiB in all (docs/development/fleet-memory.md)."""
    generations: dict[str, int] = field(default_factory=dict)
    """The `metadata.generation` each resource's last reconcile started from."""
    decided_copies: dict[str, str | None] = field(default_factory=dict)
    """The copy SID of the status last decided, written or not yet (callback routing uses it)."""
    owners: BundleOwners = field(default_factory=BundleOwners)
    accounts: set[str] = field(default_factory=set)
    """The uids of the ComplianceAccounts whose daemons run here."""
    rechecks: dict[str, set[str]] = field(default_factory=dict)
    """Bundles a ComplianceAccount was called back about since its last look, by its uid."""
    account_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    """One per Twilio account SID: its StatusCallback registrations go one at a time."""
    servers: list[HttpServer] = field(default_factory=list)
    credentials: LastGoodCredentials = field(default_factory=LastGoodCredentials)
    metrics: OperatorMetrics = field(default_factory=OperatorMetrics)
    loop_lag: LoopLagProbe = field(default_factory=LoopLagProbe)
    budget: WriteBudget = field(init=False)
    regulations: RegulationCache = field(init=False)
    """What regulations accept, per account, for the preflight: read once per TTL."""

    def __post_init__(self) -> None:
        self.budget = budget_from_settings(self.settings)
        self.regulations = RegulationCache(ttl_seconds=self.settings.regulation_cache_seconds)

    def dependencies(self) -> Dependencies:
        if self.cluster is None or self.gateways is None:
            raise RuntimeError("the operator has not started")
        return Dependencies(
            gateways=self.gateways,
            objects=self.cluster,
            policy=policy_from_settings(self.settings),
            status_callback=self.settings.status_callback_url(),
            callback_on_original=self.settings.webhook_set_callback_on_originals,
            credentials=self.credentials,
            budget=self.budget,
            regulations=self.regulations,
        )

    def track(
        self, owner: BundleOwner, bundle_sid: str | None, status: BundleRenewalStatus
    ) -> None:
        """A reconcile starts from `status`: record which bundles this resource owns (its
        original and copy) for the webhook, and its figures for the metrics."""
        self.owners.track(owner, [bundle_sid, status.copy_sid])
        self.metrics.reconciling(owner.uid, owner.namespace, owner.name, status)

    def last_written(self, uid: str) -> BundleRenewalStatus | None:
        """The status this process last wrote for `uid` (None: none yet)."""
        text = self.written.get(uid)
        return None if text is None else BundleRenewalStatus.model_validate_json(text)

    def status_written(
        self,
        owner: BundleOwner,
        bundle_sid: str | None,
        previous: BundleRenewalStatus,
        status: BundleRenewalStatus,
    ) -> None:
        """The API server accepted `status` over `previous`: the next reconcile starts from it;
        as `track`, and the transition (a completed renewal, an ended review) counts in the
        metrics."""
        self.written[owner.uid] = status.model_dump_json(by_alias=True, exclude_defaults=True)
        self.owners.track(owner, [bundle_sid, status.copy_sid])
        self.metrics.status_written(owner.uid, owner.namespace, owner.name, previous, status)

    def noted(
        self, owner: BundleOwner, bundle_sid: str | None, status: BundleRenewalStatus
    ) -> None:
        """A reconcile decided `status` (maybe not written yet): route callbacks for its copy."""
        self.decided_copies[owner.uid] = status.copy_sid
        self.owners.track(owner, [bundle_sid, status.copy_sid])

    def callback_woke(self, owner: BundleOwner, bundle_sid: str) -> None:
        """A verified callback about `bundle_sid`: wake its owner (a ComplianceAccount notes
        which bundle to re-check)."""
        if owner.uid in self.accounts:
            self.rechecks.setdefault(owner.uid, set()).add(bundle_sid)
        self.wakeup(owner.uid).set()

    def callback_wanted(self, owner: BundleOwner, bundle_sid: str, status: str | None) -> bool:
        """Whether a verified status callback should wake the resource's daemon: not when it
        reports the copy the resource works through as pending-review or in-review (Twilio
        sends those before its decision: the resource is submitting it or already waiting, and
        a wake-up would only poll). A ComplianceAccount wants every one."""
        if owner.uid in self.accounts:
            return True
        if owner.uid in self.decided_copies:
            copy_sid = self.decided_copies[owner.uid]
        else:
            written = self.last_written(owner.uid)
            copy_sid = written.copy_sid if written is not None else None
        return not (copy_sid is not None and bundle_sid == copy_sid and status in _STILL_IN_REVIEW)

    def reconciling_generation(self, uid: str, generation: int) -> None:
        self.generations[uid] = generation

    def seen(self, uid: str, generation: object) -> None:
        """A watch event: wake the resource if its spec changed (a newer generation) since its
        last reconcile started. Events of our own status patches carry the same generation, and
        one for a resource whose first reconcile has not started yet needs no wake-up."""
        last = self.generations.get(uid)
        if last is not None and isinstance(generation, int) and generation > last:
            self.wakeup(uid).set()

    def wakeup(self, uid: str) -> asyncio.Event:
        return self.wakeups.setdefault(uid, asyncio.Event())

    def lock(self, uid: str) -> asyncio.Lock:
        return self.locks.setdefault(uid, asyncio.Lock())

    def untrack(self, uid: str) -> None:
        """The daemon stopped: the resource no longer routes callbacks or counts in metrics."""
        self.owners.forget(uid)
        self.metrics.forget(uid)

    def forget(self, uid: str) -> None:
        """The resource is gone: drop everything kept for it."""
        self.wakeups.pop(uid, None)
        self.locks.pop(uid, None)
        self.accounts.discard(uid)
        self.rechecks.pop(uid, None)
        self.written.pop(uid, None)
        self.decided_copies.pop(uid, None)
        self.generations.pop(uid, None)
        self.credentials.forget(uid)
        self.budget.forget(uid)
        self.untrack(uid)

    async def serve(self, server: HttpServer) -> None:
        self.servers.append(server)  # first, so that `stop` stops it in any case
        await server.start()

    async def stop(self) -> None:
        await self.loop_lag.stop()
        for server in self.servers:
            await server.stop()
        if self.gateways is not None:
            await self.gateways.close()
        if self.cluster is not None:
            self.cluster.close()
