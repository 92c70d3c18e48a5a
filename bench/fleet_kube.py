"""The Kubernetes side of the fleet benchmark: BundleRenewals in bulk, and the API server's count
of the writes they cost.

The fleet is created from a few threads (one client, as a user's script or GitOps tool would),
its progress followed with one watch (a poll would add list calls the figures would then carry),
and the API server's own ``apiserver_request_total`` counter, scraped before and after with the
admin credentials, says which writes the operator made: no client-side bookkeeping to trust.
"""

from __future__ import annotations

import re
import ssl
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from bench.fleet_sim import DOCUMENT_ATTRIBUTES, DOCUMENT_TYPE, END_USER_ATTRIBUTES
from devtools.controlplane import ClusterEndpoints

GROUP = "twilio-compliance.io"
VERSION = "v1alpha1"
PLURAL = "bundlerenewals"
CREDENTIALS_SECRET = "twilio-credentials"

WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY"})
# (verb, resource, subresource) of the harness's own writes: not the operator's.
HARNESS_WRITES = frozenset(
    {("POST", PLURAL, ""), ("DELETE", PLURAL, ""), ("DELETECOLLECTION", PLURAL, "")}
)
# The API server's own background writes: its `kubernetes` Service endpoints reconciler.
BACKGROUND_RESOURCES = frozenset({"endpoints"})
WriteKey = tuple[str, str, str]

_SAMPLE = re.compile(r"^apiserver_request_total\{(.*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def spec(bundle_sid: str, *, suspend: bool = False) -> dict[str, Any]:
    """A renewal writing what the simulator's default regulation change requires."""
    body: dict[str, Any] = {
        "bundleSid": bundle_sid,
        "credentialsSecretRef": {"name": CREDENTIALS_SECRET},
        "endUser": {"attributes": dict(END_USER_ATTRIBUTES)},
        "supportingDocuments": [{"type": DOCUMENT_TYPE, "attributes": dict(DOCUMENT_ATTRIBUTES)}],
    }
    if suspend:
        body["suspend"] = True
    return body


class Fleet:
    """The BundleRenewals of one namespace."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)

    def create_namespace(self, credentials: dict[str, str]) -> None:
        self.core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace))
        )
        self.core.create_namespaced_secret(
            self.namespace,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name=CREDENTIALS_SECRET), string_data=credentials
            ),
        )

    def create(self, specs: list[dict[str, Any]], threads: int = 8) -> None:
        """``renewal-<i>`` for each spec, from ``threads`` threads."""

        def one(indexed: tuple[int, dict[str, Any]]) -> None:
            i, body = indexed
            self.custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "BundleRenewal",
                    "metadata": {"name": f"renewal-{i}"},
                    "spec": body,
                },
            )

        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="create") as pool:
            list(pool.map(one, enumerate(specs)))

    def wait_for_phase(self, phase: str, count: int, timeout: float) -> int:
        """Follow a watch until ``count`` resources are in ``phase`` or ``timeout`` passes; the
        number in that phase at the end."""
        phases: dict[str, str | None] = {}
        version: str | None = None
        deadline = time.monotonic() + timeout

        def reached() -> int:
            return sum(1 for p in phases.values() if p == phase)

        while reached() < count and time.monotonic() < deadline:
            if version is None:
                listing = self._list()
                phases = {o["metadata"]["name"]: _phase(o) for o in listing["items"]}
                version = listing["metadata"]["resourceVersion"]
                continue
            version = self._follow(phases, version, deadline, lambda: reached() >= count)
        return reached()

    def _follow(
        self,
        phases: dict[str, str | None],
        version: str,
        deadline: float,
        done: Callable[[], bool],
    ) -> str | None:
        """Apply watch events to ``phases`` until ``done()``; the version to resume from, or
        None when the watch must start over from a list (history expired)."""
        stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
        left = max(1, min(60, int(deadline - time.monotonic())))
        try:
            for event in stream.stream(
                self.custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                resource_version=version,
                timeout_seconds=left,
                allow_watch_bookmarks=True,
            ):
                obj = event["object"]
                if event["type"] == "ERROR":
                    return None
                version = obj["metadata"]["resourceVersion"]
                if event["type"] == "DELETED":
                    phases.pop(obj["metadata"]["name"], None)
                elif event["type"] != "BOOKMARK":
                    phases[obj["metadata"]["name"]] = _phase(obj)
                if done() or time.monotonic() > deadline:
                    break
        except ApiException as exc:
            if exc.status == 410:
                return None
            raise
        finally:
            stream.stop()
        return version

    def _list(self, **params: Any) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            self.custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, **params
            ),
        )

    def last_renewals(self) -> list[dict[str, Any]]:
        """Each resource's last renewal as its status.history keeps it (camelCase; the newest
        record comes first)."""
        items = self._list()["items"]
        return [h[0] for o in items if (h := (o.get("status") or {}).get("history"))]

    def count(self) -> int:
        listing = self._list(limit=1)
        remaining = listing["metadata"].get("remainingItemCount") or 0
        return len(listing["items"]) + int(remaining)

    def delete(self, names: list[str] | None, timeout: float, threads: int = 8) -> int:
        """Delete the named resources (None: every one, with one DeleteCollection); how many of
        them are left after waiting up to ``timeout`` for the operator to release them."""
        target = 0
        if names is None:
            self.custom.delete_collection_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL
            )
        else:
            target = self.count() - len(names)

            def one(name: str) -> None:
                self.custom.delete_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, name
                )

            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="delete") as pool:
                list(pool.map(one, names))
        deadline = time.monotonic() + timeout
        while (left := self.count() - target) > 0 and time.monotonic() < deadline:
            time.sleep(1.0)
        return left


def _phase(obj: dict[str, Any]) -> str | None:
    phase = (obj.get("status") or {}).get("phase")
    return str(phase) if phase is not None else None


def scrape_requests(endpoints: ClusterEndpoints) -> Counter[WriteKey]:
    """The API server's write requests so far by (verb, resource, subresource), any code."""
    context = ssl.create_default_context(cafile=str(endpoints.ca_cert_path))
    request = urllib.request.Request(  # noqa: S310 - the local control plane's https URL
        endpoints.server + "/metrics",
        headers={"Authorization": f"Bearer {endpoints.admin_token}"},
    )
    with urllib.request.urlopen(request, context=context, timeout=60) as response:  # noqa: S310
        text = response.read().decode()
    counts: Counter[WriteKey] = Counter()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        labels = dict(_LABEL.findall(match.group(1)))
        if labels.get("verb") in WRITE_VERBS:
            key = (labels["verb"], labels.get("resource", ""), labels.get("subresource", ""))
            counts[key] += int(float(match.group(2)))
    return counts


def writes_by_kind(before: Counter[WriteKey], after: Counter[WriteKey]) -> dict[str, int]:
    """The writes between two scrapes, the harness's own excluded, by kind: status patches,
    events, other patches of BundleRenewals, anything else."""
    kinds: Counter[str] = Counter()
    for (verb, resource, subresource), n in writes(before, after).items():
        if resource == "events":
            kinds["events"] += n
        elif resource == PLURAL and subresource == "status":
            kinds["status patches"] += n
        elif resource == PLURAL and verb in ("PATCH", "PUT", "APPLY"):
            kinds["other patches"] += n
        else:
            kinds["other writes"] += n
    return {kind: kinds[kind] for kind in KINDS}


def writes(before: Counter[WriteKey], after: Counter[WriteKey]) -> Counter[WriteKey]:
    """The writes between two scrapes, but for the harness's and the API server's own."""
    return Counter(
        {
            key: n
            for key, n in (after - before).items()
            if key not in HARNESS_WRITES and key[1] not in BACKGROUND_RESOURCES
        }
    )


def describe(counts: Counter[WriteKey]) -> dict[str, int]:
    """``VERB resource[/subresource]`` -> count, for the JSON."""
    return {
        f"{verb} {resource}{'/' + sub if sub else ''}": n
        for (verb, resource, sub), n in sorted(counts.items())
    }


KINDS = ("status patches", "events", "other patches", "other writes")
