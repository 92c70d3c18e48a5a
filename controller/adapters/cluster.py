"""The operator's own calls to the Kubernetes API, besides the watching Kopf does for it.

Read a Secret, read a ConfigMap, and merge-patch a BundleRenewal's status (the status is
persisted after every Twilio write, in the middle of a handler, so Kopf's end-of-handler patch is
too late) or a ComplianceAccount's; for ComplianceAccounts also list BundleRenewals and create
dry-run ones. The official client is synchronous; every call runs in a worker thread so the
event loop keeps serving other resources. One `ClusterClient` per process, built at start-up from
the in-cluster service account or, outside a cluster, from KUBECONFIG.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import kubernetes.client
import kubernetes.config
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

GROUP = "twilio-compliance.io"
VERSION = "v1alpha1"
PLURAL = "bundlerenewals"


class ObjectNotFound(Exception):
    """The Secret or ConfigMap does not exist in that namespace."""

    def __init__(self, kind: str, namespace: str, name: str):
        super().__init__(f"{kind} {namespace}/{name} not found")
        self.kind = kind
        self.namespace = namespace
        self.name = name


class ClusterAccessError(Exception):
    """The API server refused or failed a request (other than not-found). `status` is None when
    no HTTP answer came back (connection refused, reset, timed out): a server-side failure."""

    def __init__(self, what: str, status: int | None, reason: str | None):
        answer = f"HTTP {status}" if status is not None else "no answer from the API server"
        super().__init__(f"{what}: {answer} {reason or ''}".rstrip())
        self.status = status


def load_client_configuration() -> kubernetes.client.Configuration:
    """In a pod: its service account. Elsewhere: KUBECONFIG (or ~/.kube/config)."""
    configuration = kubernetes.client.Configuration()
    load_incluster: Any = kubernetes.config.load_incluster_config
    load_kubeconfig: Any = kubernetes.config.load_kube_config
    try:
        load_incluster(client_configuration=configuration)
    except ConfigException:
        load_kubeconfig(client_configuration=configuration, persist_config=False)
    return configuration


class ClusterClient:
    """Secret/ConfigMap reads, status patches, BundleRenewal lists and creates, off the event
    loop."""

    def __init__(self, configuration: kubernetes.client.Configuration):
        self._api_client = kubernetes.client.ApiClient(configuration)
        self._core = kubernetes.client.CoreV1Api(self._api_client)
        self._custom = kubernetes.client.CustomObjectsApi(self._api_client)

    def close(self) -> None:
        self._api_client.close()  # type: ignore[no-untyped-call]

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        """The Secret's data, base64-decoded. Never logged by this module."""
        secret = await self._call("Secret", namespace, name, self._core.read_namespaced_secret)
        data: dict[str, str] = secret.data or {}
        return {key: base64.b64decode(value) for key, value in data.items()}

    async def read_config_map(self, namespace: str, name: str) -> dict[str, bytes]:
        """The ConfigMap's `data` (UTF-8 encoded) and `binaryData` (decoded) in one map."""
        config_map = await self._call(
            "ConfigMap", namespace, name, self._core.read_namespaced_config_map
        )
        values: dict[str, bytes] = {
            key: value.encode() for key, value in (config_map.data or {}).items()
        }
        for key, value in (config_map.binary_data or {}).items():
            values[key] = base64.b64decode(value)
        return values

    async def patch_status(
        self,
        namespace: str,
        name: str,
        status: dict[str, Any],
        plural: str = PLURAL,
        kind: str = "BundleRenewal",
    ) -> None:
        """Merge-patch `.status` of a BundleRenewal (or another of our kinds) through the status
        subresource.

        `status` should carry explicit None for fields to clear (merge-patch semantics).
        """

        def patch() -> None:
            self._custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                plural,
                name,
                {"status": status},
                _content_type="application/merge-patch+json",
            )

        try:
            await asyncio.to_thread(patch)
        except ApiException as exc:
            if exc.status == 404:
                raise ObjectNotFound(kind, namespace, name) from None
            raise ClusterAccessError(
                f"patching status of {namespace}/{name}", exc.status, exc.reason
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # The API server is down (a restart, an upgrade): said in one line, like a 5xx.
            raise ClusterAccessError(
                f"patching status of {namespace}/{name}", None, type(exc).__name__
            ) from None

    async def list_renewals(self, namespace: str | None) -> list[dict[str, Any]]:
        """The BundleRenewals of `namespace` (every namespace: None), as plain dicts."""

        def list_() -> Any:
            if namespace is None:
                return self._custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
            return self._custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)

        what = f"listing BundleRenewals in {namespace or 'every namespace'}"
        try:
            answer = await asyncio.to_thread(list_)
        except ApiException as exc:
            raise ClusterAccessError(what, exc.status, exc.reason) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterAccessError(what, None, type(exc).__name__) from None
        items: list[dict[str, Any]] = answer.get("items") or []
        return items

    async def create_renewal(self, namespace: str, body: dict[str, Any]) -> bool:
        """Create a BundleRenewal; False when one of that name exists already (409)."""

        def create() -> None:
            self._custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)

        what = f"creating BundleRenewal {namespace}/{body['metadata']['name']}"
        try:
            await asyncio.to_thread(create)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise ClusterAccessError(what, exc.status, exc.reason) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterAccessError(what, None, type(exc).__name__) from None
        return True

    async def _call(self, kind: str, namespace: str, name: str, read: Any) -> Any:
        try:
            return await asyncio.to_thread(read, name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise ObjectNotFound(kind, namespace, name) from None
            # `from None`: the ApiException carries the response body, which for a Secret
            # could hold its data; keep it out of tracebacks and logs.
            raise ClusterAccessError(
                f"reading {kind} {namespace}/{name}", exc.status, exc.reason
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # No answer at all (the API server is down or unreachable): like a 5xx, retried,
            # and the webhook answers 503. Only the exception's type: no request details.
            raise ClusterAccessError(
                f"reading {kind} {namespace}/{name}", None, type(exc).__name__
            ) from None
