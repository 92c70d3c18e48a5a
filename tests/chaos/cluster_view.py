"""The chaos run's view of the cluster: every BundleRenewal's status, tolerant of an outage.

The run restarts the API server on purpose, so each read here may fail for a few seconds; the
callers poll, and a failed read counts as "nothing new" rather than an error.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from kubernetes import client

from controller.core.models import API_GROUP, API_VERSION, PLURAL
from tests.chaos.fleet import Renewal

log = logging.getLogger(__name__)

#: Short per-request time-out: a read during the API server's restart must not hang the run.
REQUEST_TIMEOUT = (2.0, 5.0)

Key = tuple[str, str]  # namespace, name


def key(renewal: Renewal) -> Key:
    return (renewal.namespace, renewal.name)


def phase(obj: dict[str, Any]) -> str:
    return str((obj.get("status") or {}).get("phase") or "")


def message(obj: dict[str, Any]) -> str:
    return str((obj.get("status") or {}).get("message") or "")


def unfinished(objects: dict[Key, dict[str, Any]], targets: set[Key]) -> list[str]:
    """Where each target that is not Completed stands, from its status (which holds no value)."""
    lines = []
    for k in sorted(targets):
        obj = objects.get(k, {})
        if phase(obj) == "Completed":
            continue
        status = obj.get("status") or {}
        review = status.get("review") or {}
        lines.append(
            f"  {k[0]}/{k[1]}: {phase(obj) or '(no status)'}, generation "
            f"{(obj.get('metadata') or {}).get('generation')}, observed "
            f"{status.get('observedGeneration')}, copy {status.get('copySid')} "
            f"{review.get('status')}, submitted generation {review.get('submittedGeneration')}, "
            f"patched at {review.get('patchedAt')}: {message(obj)}"
        )
    return lines


class ClusterView:
    def __init__(self, api: client.ApiClient) -> None:
        # urllib3 warns of every retry while the API server is away (on purpose): hundreds of
        # lines that would bury a failure's own message.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)

    def create(self, renewal: Renewal) -> None:
        body = {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": "BundleRenewal",
            "metadata": {"name": renewal.name},
            "spec": renewal.spec(),
        }
        self.custom.create_namespaced_custom_object(
            API_GROUP, API_VERSION, renewal.namespace, PLURAL, body
        )

    def objects(self) -> dict[Key, dict[str, Any]] | None:
        """Every BundleRenewal by (namespace, name); None while the API server is away."""
        try:
            listed = self.custom.list_cluster_custom_object(
                API_GROUP, API_VERSION, PLURAL, _request_timeout=REQUEST_TIMEOUT
            )
        except Exception as exc:  # any failure of the outage: refused, reset, 5xx, time-out
            log.info("listing BundleRenewals failed: %s", type(exc).__name__)
            return None
        items = cast(list[dict[str, Any]], cast(dict[str, Any], listed)["items"])
        return {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in items}

    def status(self, renewal: Renewal) -> dict[str, Any] | None:
        try:
            obj = self.custom.get_namespaced_custom_object(
                API_GROUP,
                API_VERSION,
                renewal.namespace,
                PLURAL,
                renewal.name,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except Exception as exc:
            log.info("reading %s failed: %s", renewal.name, type(exc).__name__)
            return None
        return dict(cast(dict[str, Any], obj).get("status") or {})

    def patch_spec(self, renewal: Renewal, spec: dict[str, Any]) -> bool:
        """A merge patch of the spec; False if it did not go through (retry later)."""
        try:
            self.custom.patch_namespaced_custom_object(
                API_GROUP,
                API_VERSION,
                renewal.namespace,
                PLURAL,
                renewal.name,
                {"spec": spec},
                _content_type="application/merge-patch+json",
                _request_timeout=REQUEST_TIMEOUT,
            )
        except Exception as exc:
            log.info("patching %s failed: %s", renewal.name, type(exc).__name__)
            return False
        return True

    def events(self, namespace: str) -> list[client.CoreV1Event]:
        return list(self.core.list_namespaced_event(namespace).items)
