"""Start-up gate: hold Kopf back until the API server serves everything it is about to watch.

Why: Kopf reads the API's discovery once, right after the startup handlers, and afterwards
re-reads a group only when one of its CRDs changes. An API server that is coming back (an
upgrade, a restart) can answer discovery before it lists the CRD-defined groups; a Kopf scanning
then logs "Unresolved resources cannot be served" and never watches BundleRenewals, though it
stays up. The startup handler therefore waits here, however long it takes, until discovery
lists BundleRenewals (and, with peering, the peering kind), so that Kopf's one scan finds them.
With peering it also creates the peering object when it is missing: Kopf expects it to exist
(without it a replica stays paused, silently), and installing it with the CRD in one
`kubectl apply -k` cannot work (its kind is unknown until the CRD is established). What this
cannot cover (the API server going away again between this check and Kopf's scan) is caught by
the liveness probe (liveness.py).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import kubernetes.client
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from controller.core.models import API_GROUP, API_VERSION, PLURAL

PEERING_GROUP = "kopf.dev"
PEERING_VERSION = "v1"
# Kopf's own needs: list+watch to serve a kind, patch for its annotations, finalizer, keep-alives.
_KOPF_VERBS = frozenset({"list", "watch", "patch"})
_REQUEST_TIMEOUT_SECONDS = 5.0

AnyLogger = logging.Logger | logging.LoggerAdapter[Any]


@dataclass(frozen=True)
class ServedKind:
    """A resource Kopf must find in discovery, with the verbs it needs."""

    group: str
    version: str
    plural: str
    verbs: frozenset[str] = _KOPF_VERBS

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}/{self.version}"


@dataclass(frozen=True)
class PeeringObject:
    """The (Cluster)KopfPeering object the replicas share (namespace None: cluster-wide)."""

    name: str
    namespace: str | None

    @property
    def kind(self) -> ServedKind:
        plural = "clusterkopfpeerings" if self.namespace is None else "kopfpeerings"
        return ServedKind(PEERING_GROUP, PEERING_VERSION, plural)

    def __str__(self) -> str:
        where = "cluster-wide" if self.namespace is None else f"in namespace {self.namespace}"
        kind = "ClusterKopfPeering" if self.namespace is None else "KopfPeering"
        return f"{kind} {self.name!r} {where}"


BUNDLE_RENEWALS = ServedKind(API_GROUP, API_VERSION, PLURAL)


def needed_kinds(peering_plural: str | None) -> list[ServedKind]:
    """BundleRenewals, and the peering kind when the operator peers."""
    if peering_plural is None:
        return [BUNDLE_RENEWALS]
    return [BUNDLE_RENEWALS, ServedKind(PEERING_GROUP, PEERING_VERSION, peering_plural)]


def peering_objects(name: str, clusterwide: bool, namespaces: Sequence[str]) -> list[PeeringObject]:
    """The peering objects Kopf will keep alive: one cluster-wide, or one per watched namespace
    (namespace globs are skipped: which namespaces they match is Kopf's business)."""
    if not name:
        return []
    if clusterwide:
        return [PeeringObject(name, None)]
    return [PeeringObject(name, ns) for ns in namespaces if not any(c in ns for c in "*?[!")]


def why_not_served(resources: Sequence[Any] | None, kind: ServedKind) -> str | None:
    """Why discovery's resource list for the kind's group/version (None: the group/version is
    not served at all) does not serve `kind` with its verbs; None when it does."""
    if resources is None:
        return f"{kind}: the API server does not serve {kind.group}/{kind.version}"
    for resource in resources:
        if resource.name == kind.plural:
            missing = kind.verbs - set(resource.verbs or ())
            if missing:
                return f"{kind}: served without verbs {', '.join(sorted(missing))}"
            return None
    return f"{kind}: not in the API server's discovery"


class KubernetesDiscovery:
    """Asks the API server (through the official client, in a worker thread) what is missing,
    creating the peering objects that are."""

    def __init__(self, configuration: kubernetes.client.Configuration):
        # No urllib3 retries (each logs a warning): the caller polls again a second later anyway.
        self._configuration = copy.copy(configuration)
        self._configuration.retries = 0

    async def missing(
        self, kinds: Sequence[ServedKind], objects: Sequence[PeeringObject]
    ) -> list[str]:
        """What is not there yet (an empty list: everything is)."""
        return await asyncio.to_thread(self._missing, kinds, objects)

    def _missing(self, kinds: Sequence[ServedKind], objects: Sequence[PeeringObject]) -> list[str]:
        with kubernetes.client.ApiClient(self._configuration) as api:
            custom = kubernetes.client.CustomObjectsApi(api)
            try:
                problems = [
                    problem
                    for kind in dict.fromkeys([*kinds, *(o.kind for o in objects)])
                    if (problem := why_not_served(served_resources(custom, kind), kind)) is not None
                ]
                if problems:
                    return problems
                return [p for o in objects if (p := ensure_exists(custom, o)) is not None]
            except ApiException as exc:
                return [f"the API server answered HTTP {exc.status} {exc.reason or ''}".rstrip()]
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                return [f"no answer from the API server ({type(exc).__name__})"]


def served_resources(
    custom: kubernetes.client.CustomObjectsApi, kind: ServedKind
) -> list[Any] | None:
    try:
        answer = custom.get_api_resources(
            kind.group, kind.version, _request_timeout=_REQUEST_TIMEOUT_SECONDS
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return list(answer.resources or [])


def ensure_exists(custom: kubernetes.client.CustomObjectsApi, peering: PeeringObject) -> str | None:
    """Create the peering object unless it exists (another replica may create it first); why
    it cannot be, or None."""
    kind = peering.kind
    body = {
        "apiVersion": f"{kind.group}/{kind.version}",
        "kind": "ClusterKopfPeering" if peering.namespace is None else "KopfPeering",
        "metadata": {"name": peering.name},
    }
    try:
        if peering.namespace is None:
            custom.create_cluster_custom_object(
                kind.group,
                kind.version,
                kind.plural,
                body,
                _request_timeout=_REQUEST_TIMEOUT_SECONDS,
            )
        else:
            custom.create_namespaced_custom_object(
                kind.group,
                kind.version,
                peering.namespace,
                kind.plural,
                body,
                _request_timeout=_REQUEST_TIMEOUT_SECONDS,
            )
    except ApiException as exc:
        if exc.status == 409:
            return None  # it exists
        return f"{peering} does not exist and creating it failed: HTTP {exc.status}"
    return None


async def wait_until_served(
    missing: Callable[[], Awaitable[list[str]]],
    logger: AnyLogger,
    *,
    interval: float = 1.0,
    log_every: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Poll `missing` every `interval` seconds until it reports nothing; returns the seconds
    waited. Says what it waits for at once, then every `log_every` seconds (or on a change)."""
    started = clock()
    last_logged: tuple[float, list[str]] | None = None
    while problems := await missing():
        now = clock()
        if last_logged is None or problems != last_logged[1] or now - last_logged[0] >= log_every:
            logger.warning(
                "waiting for the API server before watching (%.0f s so far): %s",
                now - started,
                "; ".join(problems),
            )
            last_logged = (now, problems)
        await asyncio.sleep(interval)
    waited = clock() - started
    if last_logged is not None:
        logger.info("the API server serves everything needed, after %.1f s", waited)
    return waited
