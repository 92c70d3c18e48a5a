"""Thin Kopf wiring: which Kopf handlers exist and what each one delegates to.

- startup: builds the cluster client and the Twilio gateways, starts the status-callback
  receiver (webhook.py, when WEBHOOK_PUBLIC_URL is set) and the Prometheus endpoint, then waits
  until the API server serves what Kopf is about to watch (discovery.py): Kopf scans once,
  right after the startup handlers.
- a liveness probe that fails while Kopf does not watch BundleRenewals (liveness.py);
- a daemon per BundleRenewal: its reconcile loop (daemon.run_daemon);
- a watch event carrying a newer `metadata.generation` (a spec change), and a verified status
  callback, wake that daemon at once;
- a deletion handler (Kopf's finalizer): the clean-up (daemon.clean_up);
- a daemon per ComplianceAccount: its scan loop (accounts/daemon.py), woken at once by a spec
  change. Its CRD is optional: Kopf serves the kind once the CRD exists;
- cleanup: stops the listeners and closes the clients.
Kopf's own bookkeeping (the deletion handler's progress, the finalizer) lives in annotations
and a finalizer of our own name, so `.status` stays exactly our schema; no last-handled
configuration is kept (diffbase.py). Handlers are registered in a registry built here, closing
over the settings, not in Kopf's global registry.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import kopf

from controller.adapters.cluster import (
    GROUP,
    PLURAL,
    VERSION,
    ClusterClient,
    load_client_configuration,
)
from controller.adapters.twilio_gateway.factory import SdkTwilioGatewayFactory
from controller.core.models.account import ACCOUNT_PLURAL
from controller.core.settings import OperatorSettings
from controller.inbound.http_server import HttpServer, metrics_application
from controller.inbound.webhook import CallbackReceiver, CallbackTokens
from controller.operator.accounts.daemon import run_account_daemon
from controller.operator.daemon import AnyLogger, clean_up, run_daemon
from controller.operator.diffbase import NoDiffBaseStorage
from controller.operator.discovery import (
    BUNDLE_RENEWALS,
    KubernetesDiscovery,
    needed_kinds,
    peering_objects,
    wait_until_served,
)
from controller.operator.liveness import Insights, probe_problems
from controller.operator.peering import Peering
from controller.operator.runtime import Runtime, gateway_settings

ANNOTATION_PREFIX = "bundle-renewal.twilio-compliance.io"
FINALIZER = "twilio-compliance.io/bundle-renewal-cleanup"
# Who posts our events (`kubectl describe`'s From column, reportingComponent): not "kopf".
EVENT_COMPONENT = "bundle-renewal-operator"

# How long the deletion clean-up keeps retrying transient failures (among them a copy Twilio is
# still reviewing, which it refuses to delete) before the finalizer is released anyway.
CLEANUP_TIMEOUT_SECONDS = 3 * 24 * 3600.0
# After an unexpected error (e.g. the API server refusing a status patch), restart the daemon in:
DAEMON_RESTART_DELAY = 10.0
# How long a stopping daemon may take to finish its current Twilio call and status patch.
DAEMON_STOP_TIMEOUT = 60.0
# A resource's event worker exits after this long without a new event (Kopf's default: 5 s). A
# fleet seen at once leaves a worker per resource waiting; events closer together than Kopf's
# batch window (0.1 s) are still handled together.
EVENT_WORKER_IDLE_SECONDS = 0.5
# The handler that wakes a daemon on a spec change runs for every watch event of every resource
# (the events of our own status patches too): Kopf's "Handler ... succeeded." line for it is
# dropped, at every log level but DEBUG.
WAKE_HANDLER_ID = "wake-on-spec-change"
ACCOUNT_WAKE_HANDLER_ID = "wake-account-on-spec-change"


def configure_kopf(
    kopf_settings: kopf.OperatorSettings, peering: Peering | None = None
) -> kopf.OperatorSettings:
    """Kopf settings for this operator (returned for chaining)."""
    if peering is not None:
        peering.configure(kopf_settings)
    kopf_settings.queueing.idle_timeout = EVENT_WORKER_IDLE_SECONDS
    persistence = kopf_settings.persistence
    persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    # No change handler needs it (diffbase.py).
    persistence.diffbase_storage = NoDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    persistence.finalizer = FINALIZER
    # Our decisions post their own events; Kopf's chatter ("Handler succeeded") stays in logs.
    kopf_settings.posting.level = logging.ERROR
    kopf_settings.posting.reporting_component = EVENT_COMPONENT
    kopf_settings.posting.reporting_instance = socket.gethostname()  # the pod's name in a pod
    kopf_settings.watching.server_timeout = 300
    kopf_settings.watching.client_timeout = 330
    return kopf_settings


def build_registry(
    settings: OperatorSettings, insights: Insights, peering: Peering
) -> kopf.OperatorRegistry:
    """A Kopf registry with this operator's handlers, bound to `settings`; the liveness probe
    reads `insights`, the instance given to `kopf.run`."""
    registry = kopf.OperatorRegistry()
    runtime = Runtime(settings)
    if settings.log_level != "DEBUG":
        _quiet_wake_handler(logging.getLogger("kopf.objects"))

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # Kopf's default login handlers live in its global registry, not in ours.
        info: kopf.ConnectionInfo | None = kopf.login_via_client(**kwargs)
        return info

    @kopf.on.startup(registry=registry)
    async def start(logger: AnyLogger, **_: Any) -> None:
        await _start(runtime, logger)
        await _wait_until_served(settings, peering, logger)

    # PERMANENT: a failure answers the probe at once (HTTP 500) instead of being retried.
    @kopf.on.probe(registry=registry, id="watching", errors=kopf.ErrorsMode.PERMANENT)
    async def watching(**_: Any) -> str:
        problems = await probe_problems(insights, peering.plural)
        if problems:
            raise kopf.PermanentError("; ".join(problems))
        return f"watching {BUNDLE_RENEWALS}"

    @kopf.on.cleanup(registry=registry)
    async def stop(**_: Any) -> None:
        await runtime.stop()

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
        await run_daemon(runtime, body, stopped, logger)

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry, id=WAKE_HANDLER_ID)
    async def seen(uid: str, body: kopf.Body, **_: Any) -> None:
        runtime.seen(uid, body.metadata.get("generation"))

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, timeout=CLEANUP_TIMEOUT_SECONDS)
    async def deleted(body: kopf.Body, logger: AnyLogger, **_: Any) -> None:
        await clean_up(runtime, body, logger)

    @kopf.daemon(
        GROUP,
        VERSION,
        ACCOUNT_PLURAL,
        registry=registry,
        cancellation_timeout=DAEMON_STOP_TIMEOUT,
        backoff=DAEMON_RESTART_DELAY,
    )
    async def watch_account(
        body: kopf.Body, stopped: kopf.DaemonStopped, logger: AnyLogger, **_: Any
    ) -> None:
        await run_account_daemon(runtime, body, stopped, logger)

    @kopf.on.event(GROUP, VERSION, ACCOUNT_PLURAL, registry=registry, id=ACCOUNT_WAKE_HANDLER_ID)
    async def account_seen(uid: str, body: kopf.Body, **_: Any) -> None:
        runtime.seen(uid, body.metadata.get("generation"))

    return registry


class _WakeHandlerSuccess(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno == logging.INFO
            and record.msg
            in (
                f"Handler {WAKE_HANDLER_ID!r} succeeded.",
                f"Handler {ACCOUNT_WAKE_HANDLER_ID!r} succeeded.",
            )
        )


def _quiet_wake_handler(logger: logging.Logger) -> None:
    if not any(isinstance(f, _WakeHandlerSuccess) for f in logger.filters):
        logger.addFilter(_WakeHandlerSuccess())


async def _start(runtime: Runtime, logger: AnyLogger) -> None:
    """Clients first, then the listeners (the receiver routes through the runtime's owners)."""
    settings = runtime.settings
    runtime.cluster = ClusterClient(load_client_configuration())
    runtime.gateways = SdkTwilioGatewayFactory(gateway_settings(settings))
    runtime.metrics.twilio = runtime.gateways.counter
    runtime.metrics.slots = runtime.gateways.slot_counts
    runtime.loop_lag.start()
    runtime.metrics.loop_lag = runtime.loop_lag.snapshot
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
            wake=runtime.callback_woke,
            record=runtime.metrics.record_callback,
            wanted=runtime.callback_wanted,
        )
        await runtime.serve(
            HttpServer(
                receiver.application(),
                settings.webhook_host,
                settings.webhook_port,
                f"status-callback receiver (GET or POST {settings.webhook_path})",
            )
        )
        runtime.metrics.enable_webhook()
        logger.info("status callbacks: %s", settings.status_callback_url())
    if settings.metrics_enabled:
        await runtime.serve(
            HttpServer(
                metrics_application(runtime.metrics),
                settings.metrics_host,
                settings.metrics_port,
                "Prometheus metrics (GET /metrics)",
            )
        )


async def _wait_until_served(
    settings: OperatorSettings, peering: Peering, logger: AnyLogger
) -> None:
    """Until discovery serves BundleRenewals (with peering: its kind, and its objects, created)."""
    discovery = KubernetesDiscovery(load_client_configuration())
    objects = peering_objects(peering.name, settings.clusterwide, settings.watch_namespaces)
    kinds = needed_kinds(peering.plural)
    await wait_until_served(lambda: discovery.missing(kinds, objects), logger)
