"""Thin Kopf wiring: which Kopf handlers exist and how they call the reconcile loop.

- One daemon per BundleRenewal runs the reconcile loop, then sleeps for the decision's
  `requeue_after` (review polling, light checks, error backoff) or until the spec changes.
  A single long-lived task per resource means reconciles of one resource never overlap.
- An update handler on `spec` wakes the daemon at once; so does a verified Twilio status
  callback for the resource's original or copy (webhook.py), when WEBHOOK_PUBLIC_URL is set. The
  daemons keep the bundle SID -> resource index the receiver routes callbacks with.
- A deletion handler (Kopf's finalizer) runs the workflow's clean-up decisions: it deletes this
  resource's copy if its items were not moved yet, never the original. Transient trouble retries
  with backoff (kopf.TemporaryError); a permanent problem (credentials gone with the namespace)
  lets the resource go with a Warning event naming what may be left behind.
- With METRICS_PORT set (the default), GET /metrics serves the process's OperatorMetrics:
  reconciles by outcome, completed renewals, resources by phase (from the daemons' last known
  status), webhook answers, and the Twilio gateway's request counts.
- Kopf's own bookkeeping (progress, last-handled configuration, finalizer) lives in annotations
  and a finalizer of our own name, so `.status` stays exactly our schema.
Handlers are registered in a registry built here, closing over the settings, not in Kopf's
global registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import kopf
from pydantic import ValidationError

from controller import workflow
from controller.bundle_owners import BundleOwner, BundleOwners
from controller.cluster import (
    GROUP,
    PLURAL,
    VERSION,
    ClusterClient,
    ObjectNotFound,
    load_client_configuration,
)
from controller.conditions import set_condition
from controller.credentials import LastGoodCredentials
from controller.http_server import HttpServer, metrics_application
from controller.metrics import (
    RECONCILE_EXCEPTION,
    RECONCILE_INVALID_SPEC,
    RECONCILE_OK,
    OperatorMetrics,
)
from controller.models import (
    BundleRenewalSpec,
    BundleRenewalStatus,
    ConditionType,
    Phase,
    Reason,
)
from controller.plan import ErrorKind, Event, RenewalResource
from controller.reconcile import Dependencies, Outcome, policy_from_settings, reconcile
from controller.settings import OperatorSettings
from controller.twilio_gateway.config import GatewaySettings
from controller.twilio_gateway.factory import SdkTwilioGatewayFactory
from controller.twilio_gateway.retry import RetryPolicy
from controller.webhook import CallbackReceiver, CallbackTokens

ANNOTATION_PREFIX = "bundle-renewal.twilio-compliance.io"
FINALIZER = "twilio-compliance.io/bundle-renewal-cleanup"

# How long the deletion clean-up keeps retrying transient failures (among them a copy Twilio is
# still reviewing, which it refuses to delete) before the finalizer is released anyway.
CLEANUP_TIMEOUT_SECONDS = 3 * 24 * 3600.0
# After an unexpected error (e.g. the API server refusing a status patch), restart the daemon in:
DAEMON_RESTART_DELAY = 10.0
# How long a stopping daemon may take to finish its current Twilio call and status patch.
DAEMON_STOP_TIMEOUT = 60.0

AnyLogger = logging.Logger | logging.LoggerAdapter[Any]

_SKIP_EVENT = {"k8s_skip": True}  # keep a log line out of Kubernetes events


def configure_kopf(kopf_settings: kopf.OperatorSettings) -> kopf.OperatorSettings:
    """Kopf settings for this operator (returned for chaining)."""
    persistence = kopf_settings.persistence
    persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    persistence.finalizer = FINALIZER
    # Our decisions post their own events; Kopf's chatter ("Handler succeeded") stays in logs.
    kopf_settings.posting.level = logging.ERROR
    kopf_settings.watching.server_timeout = 300
    kopf_settings.watching.client_timeout = 330
    return kopf_settings


def gateway_settings(settings: OperatorSettings) -> GatewaySettings:
    return GatewaySettings(
        base_url=settings.twilio_base(),
        upload_base_url=settings.twilio_upload_base(),
        max_concurrent_requests_per_account=settings.twilio_concurrency_per_account,
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
    statuses: dict[str, BundleRenewalStatus] = field(default_factory=dict)
    owners: BundleOwners = field(default_factory=BundleOwners)
    servers: list[HttpServer] = field(default_factory=list)
    credentials: LastGoodCredentials = field(default_factory=LastGoodCredentials)
    metrics: OperatorMetrics = field(default_factory=OperatorMetrics)

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
        )

    def track(self, body: kopf.Body, status: BundleRenewalStatus) -> None:
        """Record which bundles this resource owns (its original and copy) for the webhook."""
        meta = body.metadata
        spec = body.spec
        secret_ref = spec.get("credentialsSecretRef") or {}
        owner = BundleOwner(
            uid=str(meta.uid),
            namespace=str(meta.namespace),
            name=str(meta.name),
            secret_name=str(secret_ref.get("name") or "") if isinstance(secret_ref, dict) else "",
        )
        original = spec.get("bundleSid")
        self.owners.track(owner, [original if isinstance(original, str) else None, status.copy_sid])
        self.metrics.set_phase(owner.uid, status.phase)

    def wakeup(self, uid: str) -> asyncio.Event:
        return self.wakeups.setdefault(uid, asyncio.Event())

    def lock(self, uid: str) -> asyncio.Lock:
        return self.locks.setdefault(uid, asyncio.Lock())

    def forget(self, uid: str) -> None:
        self.wakeups.pop(uid, None)
        self.locks.pop(uid, None)
        self.statuses.pop(uid, None)
        self.owners.forget(uid)
        self.credentials.forget(uid)
        self.metrics.forget(uid)


class KopfSink:
    """Writes status through the status subresource and posts events on the object."""

    def __init__(self, runtime: Runtime, body: kopf.Body):
        self.runtime = runtime
        self.body = body

    async def write_status(self, status: BundleRenewalStatus) -> None:
        if self.runtime.cluster is None:
            raise RuntimeError("the operator has not started")
        meta = self.body.metadata
        previous = self.runtime.statuses.get(str(meta.uid)) or _stored_status(self.body)
        await self.runtime.cluster.patch_status(
            str(meta.namespace), str(meta.name), status_patch(status)
        )
        self.runtime.statuses[str(meta.uid)] = status
        if status.phase is Phase.COMPLETED and previous.phase is not Phase.COMPLETED:
            self.runtime.metrics.record_completion(str(meta.namespace))
        self.runtime.track(self.body, status)

    def post_event(self, event: Event) -> None:
        kopf.event(self.body, type=event.type.value, reason=event.reason, message=event.message)


def status_patch(status: BundleRenewalStatus) -> dict[str, Any]:
    """A JSON merge patch that makes `.status` equal `status`: fields that are unset now become
    null, which removes them. Lists are replaced whole by a merge patch, so inside them unset
    fields are left out instead (a null there would be stored, and refused by the schema)."""
    dumped: dict[str, Any] = _without_nulls_in_lists(
        status.model_dump(mode="json", by_alias=True, exclude_none=False), in_list=False
    )
    return dumped


def _without_nulls_in_lists(value: Any, *, in_list: bool) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_nulls_in_lists(item, in_list=in_list)
            for key, item in value.items()
            if not (in_list and item is None)
        }
    if isinstance(value, list):
        return [_without_nulls_in_lists(item, in_list=True) for item in value]
    return value


def parse_resource(body: Mapping[str, Any], status: BundleRenewalStatus | None) -> RenewalResource:
    """The workflow's view of the object; ValidationError if the spec is unusable."""
    raw = copy.deepcopy(dict(body))
    metadata = raw.get("metadata", {})
    if status is None:
        status = BundleRenewalStatus.model_validate(raw.get("status") or {})
    return RenewalResource(
        uid=metadata["uid"],
        namespace=metadata["namespace"],
        name=metadata["name"],
        generation=int(metadata.get("generation") or 1),
        spec=BundleRenewalSpec.model_validate(raw.get("spec") or {}),
        status=status,
    )


def parse_for_cleanup(
    body: Mapping[str, Any], status: BundleRenewalStatus | None
) -> RenewalResource | None:
    """The resource for its clean-up. A spec the models refuse (e.g. edited after a copy was
    made) still names the bundle and the Secret, which the CRD validates: that is all the
    clean-up needs. None only if even those are unusable."""
    try:
        return parse_resource(body, status)
    except ValidationError:
        pass
    spec = body.get("spec") or {}
    secret_ref = spec.get("credentialsSecretRef") if isinstance(spec, Mapping) else None
    minimal = {
        "bundleSid": spec.get("bundleSid") if isinstance(spec, Mapping) else None,
        "credentialsSecretRef": {
            "name": secret_ref.get("name") if isinstance(secret_ref, Mapping) else None
        },
    }
    try:
        return parse_resource({**dict(body), "spec": minimal}, status)
    except ValidationError:
        return None


def _stored_status(body: Mapping[str, Any]) -> BundleRenewalStatus:
    try:
        return BundleRenewalStatus.model_validate(copy.deepcopy(dict(body.get("status") or {})))
    except ValidationError:
        return BundleRenewalStatus()


def describe_validation_error(exc: ValidationError) -> str:
    """Where the spec is wrong and how, without echoing the values (they may be personal data)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "spec"
        problems.append(f"spec.{location}: {error['msg']}")
    return "invalid spec: " + "; ".join(problems)


def invalid_spec_status(
    previous: BundleRenewalStatus, generation: int, message: str, now: datetime
) -> BundleRenewalStatus:
    """Failed and Stalled, for a spec the API server accepted but the models refuse."""
    status = previous.model_copy(
        update={"phase": Phase.FAILED, "observed_generation": generation, "message": message}
    )
    for type_, value in (
        (ConditionType.READY, False),
        (ConditionType.RECONCILING, False),
        (ConditionType.STALLED, True),
    ):
        status = set_condition(
            status,
            type_,
            value,
            Reason.PERMANENT_ERROR,
            message,
            observed_generation=generation,
            now=now,
        )
    return status


async def _sleep(stopped: kopf.DaemonStopped, wakeup: asyncio.Event, delay: float | None) -> None:
    """Until `delay` passes, the spec changes (wakeup), or the daemon is asked to stop."""

    async def until_stopped() -> None:
        await stopped.wait()

    waiters = [asyncio.ensure_future(wakeup.wait()), asyncio.ensure_future(until_stopped())]
    try:
        await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        for waiter in waiters:
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
    wakeup.clear()


def build_registry(settings: OperatorSettings) -> kopf.OperatorRegistry:
    """A Kopf registry with this operator's handlers, bound to `settings`."""
    registry = kopf.OperatorRegistry()
    runtime = Runtime(settings)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # Kopf's default login handlers live in its global registry, not in ours.
        info: kopf.ConnectionInfo | None = kopf.login_via_client(**kwargs)
        return info

    @kopf.on.startup(registry=registry)
    async def start(logger: AnyLogger, **_: Any) -> None:
        runtime.cluster = ClusterClient(load_client_configuration())
        runtime.gateways = SdkTwilioGatewayFactory(gateway_settings(settings))
        runtime.metrics.twilio = runtime.gateways.counter
        logger.info(
            "Twilio at %s; watching %s",
            settings.twilio_base(),
            ", ".join(settings.watch_namespaces) or "all namespaces",
        )
        if settings.webhook_enabled:
            receiver = CallbackReceiver(
                settings,
                runtime.owners,
                CallbackTokens(runtime.cluster, settings.webhook_token_cache_seconds),
                wake=lambda owner: runtime.wakeup(owner.uid).set(),
                record=runtime.metrics.record_callback,
            )
            await _serve(
                runtime,
                HttpServer(
                    receiver.application(),
                    settings.webhook_host,
                    settings.webhook_port,
                    f"status-callback receiver (POST {settings.webhook_path})",
                ),
            )
            logger.info("status callbacks: %s", settings.status_callback_url())
        if settings.metrics_enabled:
            await _serve(
                runtime,
                HttpServer(
                    metrics_application(runtime.metrics),
                    settings.metrics_host,
                    settings.metrics_port,
                    "Prometheus metrics (GET /metrics)",
                ),
            )

    @kopf.on.cleanup(registry=registry)
    async def stop(**_: Any) -> None:
        for server in runtime.servers:
            await server.stop()
        if runtime.gateways is not None:
            await runtime.gateways.close()
        if runtime.cluster is not None:
            runtime.cluster.close()

    @kopf.daemon(
        GROUP,
        VERSION,
        PLURAL,
        registry=registry,
        cancellation_timeout=DAEMON_STOP_TIMEOUT,
        backoff=DAEMON_RESTART_DELAY,
    )
    async def renew(
        body: kopf.Body, stopped: kopf.DaemonStopped, logger: AnyLogger, **_: Any
    ) -> None:
        uid = str(body.metadata.uid)
        wakeup = runtime.wakeup(uid)
        try:
            while not stopped:
                async with runtime.lock(uid):
                    runtime.track(body, runtime.statuses.get(uid) or _stored_status(body))
                    delay = await _reconcile_once(runtime, body, stopped, logger)
                if stopped:
                    break
                await _sleep(stopped, wakeup, delay)
        finally:
            runtime.owners.forget(uid)
            runtime.metrics.forget(uid)

    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry)
    async def spec_changed(uid: str, **_: Any) -> None:
        runtime.wakeup(uid).set()

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, timeout=CLEANUP_TIMEOUT_SECONDS)
    async def clean_up(body: kopf.Body, logger: AnyLogger, **_: Any) -> None:
        uid = str(body.metadata.uid)
        async with runtime.lock(uid):
            outcome = await _clean_up_once(runtime, body, logger)
        if outcome is None or outcome.error is None:
            runtime.forget(uid)
            return
        message = outcome.decision.status.message or "clean-up failed"
        if outcome.error is ErrorKind.TRANSIENT:
            raise kopf.TemporaryError(message, delay=outcome.requeue_after or 10.0)
        copy_sid = outcome.decision.status.copy_sid
        kopf.event(
            body,
            type="Warning",
            reason="CleanupAbandoned",
            message=f"{message}; releasing the resource"
            + (f"; copy {copy_sid} may be left at Twilio" if copy_sid else ""),
        )
        runtime.forget(uid)

    return registry


async def _serve(runtime: Runtime, server: HttpServer) -> None:
    runtime.servers.append(server)  # first, so that the cleanup handler stops it in any case
    await server.start()


async def _reconcile_once(
    runtime: Runtime, body: kopf.Body, stopped: kopf.DaemonStopped, logger: AnyLogger
) -> float | None:
    """One reconcile, counted in the metrics by outcome; returns how long to sleep before the
    next (None: until the spec changes)."""
    try:
        outcome, delay = await _reconcile_and_wait(runtime, body, stopped, logger)
    except Exception:
        runtime.metrics.record_reconcile(RECONCILE_EXCEPTION)
        raise
    if outcome is not None:
        runtime.metrics.record_reconcile(outcome)
    return delay


async def _reconcile_and_wait(
    runtime: Runtime, body: kopf.Body, stopped: kopf.DaemonStopped, logger: AnyLogger
) -> tuple[str | None, float | None]:
    """One reconcile: its outcome for the metrics (None: the resource is gone) and the delay."""
    uid = str(body.metadata.uid)
    sink = KopfSink(runtime, body)
    deps = runtime.dependencies()
    status = runtime.statuses.get(uid) or _stored_status(body)
    try:
        resource = parse_resource(body, status)
    except ValidationError as exc:
        message = describe_validation_error(exc)
        generation = int(body.metadata.get("generation") or 1)
        new_status = invalid_spec_status(status, generation, message, deps.clock())
        if new_status != status:
            await sink.write_status(new_status)
            kopf.event(body, type="Warning", reason=Reason.PERMANENT_ERROR.value, message=message)
        logger.warning("%s", message, extra=_SKIP_EVENT)
        return RECONCILE_INVALID_SPEC, None
    try:
        outcome = await reconcile(
            resource, deps, sink, should_stop=lambda: bool(stopped), logger=logger
        )
    except ObjectNotFound:
        return None, None  # the resource is gone; the daemon is about to be stopped
    return (outcome.error.value if outcome.error else RECONCILE_OK), outcome.requeue_after


async def _clean_up_once(runtime: Runtime, body: kopf.Body, logger: AnyLogger) -> Outcome | None:
    uid = str(body.metadata.uid)
    status = runtime.statuses.get(uid) or _stored_status(body)
    resource = parse_for_cleanup(body, status)
    if resource is None:
        return None  # not even the bundle and the Secret are usable: nothing to clean up with
    try:
        return await reconcile(
            resource,
            runtime.dependencies(),
            KopfSink(runtime, body),
            decide=workflow.decide_cleanup,
            logger=logger,
            remembered_credentials=True,
        )
    except ObjectNotFound:
        return None
