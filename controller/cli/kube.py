"""The CLI's Kubernetes access: kubeconfig as kubectl reads it, BundleRenewals, events, Secrets.

`--kubeconfig` wins, then KUBECONFIG, then ~/.kube/config; inside a pod (a CronJob running
`scan`) the service account. The default namespace is the kubeconfig context's, as kubectl's.
Synchronous on purpose: a command makes a handful of calls, one after the other. API errors are
re-raised as CliError with the status only: a Secret's body never reaches the terminal.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import kubernetes.client
import kubernetes.config
import urllib3.exceptions
import yaml
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from controller.cli.errors import CliError, ExitCode
from controller.core.models import API_GROUP, API_VERSION, PLURAL

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


# The client's config loaders carry no annotations.
_load_kube_config: Any = kubernetes.config.load_kube_config
_list_contexts: Any = kubernetes.config.list_kube_config_contexts
_load_incluster: Any = kubernetes.config.load_incluster_config


def cluster_configured(kubeconfig: str | None, context: str | None) -> bool:
    """Whether any cluster is named: a kubeconfig (flag, KUBECONFIG, ~/.kube/config), a
    context, or a pod's service account (KUBERNETES_SERVICE_HOST)."""
    return bool(
        kubeconfig
        or os.environ.get("KUBECONFIG")
        or context
        or (Path.home() / ".kube" / "config").exists()
        or os.environ.get("KUBERNETES_SERVICE_HOST")
    )


class Kube:
    """One API client for the command; `namespace` is the context's default namespace."""

    def __init__(self, kubeconfig: str | None, context: str | None = None):
        configuration = kubernetes.client.Configuration()
        self.namespace = "default"
        try:
            explicit = kubeconfig or os.environ.get("KUBECONFIG")
            default_file = Path.home() / ".kube" / "config"
            if explicit or default_file.exists() or context:
                path = explicit or str(default_file)
                _load_kube_config(
                    config_file=path,
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,
                )
                _, active = _list_contexts(config_file=path)
                chosen = active
                if context:
                    contexts, _ = _list_contexts(config_file=path)
                    chosen = next(c for c in contexts if c["name"] == context)
                self.namespace = (chosen or {}).get("context", {}).get("namespace") or "default"
            else:
                _load_incluster(client_configuration=configuration)
                if SERVICE_ACCOUNT_NAMESPACE.exists():
                    self.namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
        except (ConfigException, OSError, StopIteration) as exc:
            raise CliError(f"no usable kubeconfig: {exc}", ExitCode.CONFIGURATION) from None
        except yaml.YAMLError as exc:
            # (the problem's position only: the file may hold credentials)
            where = getattr(exc, "problem_mark", None)
            at = f" at line {where.line + 1}" if where is not None else ""
            raise CliError(f"kubeconfig is not valid YAML{at}", ExitCode.CONFIGURATION) from None
        self._api = kubernetes.client.ApiClient(configuration)
        self._custom = kubernetes.client.CustomObjectsApi(self._api)
        self._core = kubernetes.client.CoreV1Api(self._api)

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    def list_renewals(
        self, namespace: str | None, selector: str | None = None
    ) -> list[dict[str, Any]]:
        """BundleRenewals in `namespace` (every namespace when None), optionally by label."""
        kwargs: dict[str, Any] = {"label_selector": selector} if selector else {}
        if namespace is None:
            what = "listing BundleRenewals in every namespace"
            answer = self._call(
                what,
                lambda: self._custom.list_cluster_custom_object(
                    API_GROUP, API_VERSION, PLURAL, **kwargs
                ),
            )
        else:
            what = f"listing BundleRenewals in namespace {namespace}"
            answer = self._call(
                what,
                lambda: self._custom.list_namespaced_custom_object(
                    API_GROUP, API_VERSION, namespace, PLURAL, **kwargs
                ),
            )
        return cast(list[dict[str, Any]], answer.get("items") or [])

    def get_renewal(self, namespace: str, name: str) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            self._call(
                f"reading BundleRenewal {namespace}/{name}",
                lambda: self._custom.get_namespaced_custom_object(
                    API_GROUP, API_VERSION, namespace, PLURAL, name
                ),
            ),
        )

    def patch_renewal_spec(self, namespace: str, name: str, spec: dict[str, Any]) -> None:
        self._call(
            f"patching BundleRenewal {namespace}/{name}",
            lambda: self._custom.patch_namespaced_custom_object(
                API_GROUP,
                API_VERSION,
                namespace,
                PLURAL,
                name,
                {"spec": spec},
                _content_type="application/merge-patch+json",
            ),
        )

    def events(self, namespace: str, name: str) -> list[Any]:
        """Events about the BundleRenewal `name`, oldest first."""
        answer = self._call(
            f"listing events of {namespace}/{name}",
            lambda: self._core.list_namespaced_event(
                namespace,
                field_selector=f"involvedObject.name={name},involvedObject.kind=BundleRenewal",
            ),
        )
        items = list(answer.items or [])
        items.sort(key=event_time)
        return items

    def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        secret = self._call(
            f"reading Secret {namespace}/{name}",
            lambda: self._core.read_namespaced_secret(name, namespace),
        )
        data: dict[str, str] = secret.data or {}
        return {key: base64.b64decode(value) for key, value in data.items()}

    @staticmethod
    def _call(what: str, request: Any) -> Any:
        try:
            return request()
        except ApiException as exc:
            code = ExitCode.NOT_FOUND if exc.status == 404 else ExitCode.API_ERROR
            # Only the status and reason: the body of a Secret read could carry its data.
            raise CliError(f"{what}: HTTP {exc.status} {exc.reason or ''}".rstrip(), code) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise CliError(
                f"{what}: no answer from the API server ({type(exc).__name__})", ExitCode.API_ERROR
            ) from None


def event_time(event: Any) -> Any:
    """An event's latest time (last, event, first or creation time), for sorting."""
    for value in (
        getattr(event, "last_timestamp", None),
        getattr(event, "event_time", None),
        getattr(event, "first_timestamp", None),
        getattr(getattr(event, "metadata", None), "creation_timestamp", None),
    ):
        if value is not None:
            return value
    return datetime.min.replace(tzinfo=UTC)
