"""The operator's configuration, typed and read from the environment once at start-up.

`__main__` builds one `OperatorSettings` and passes it down to whatever needs it; no module keeps
a global instance, so tests can run several differently configured operators side by side.
Every field is read from the environment variable of the same name in upper case
(`POLL_INTERVAL_SECONDS`, `TWILIO_BASE_URL`, ...); see the field descriptions, which the docs'
reference/settings.md lists as the operator's configuration reference.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Environment variables an earlier version read, and what replaced them. They are ignored; the
#: operator warns at start-up so that a stale setting does not go unnoticed.
REPLACED_VARIABLES = {"STATUS_CALLBACK_URL": "WEBHOOK_PUBLIC_URL"}


def replaced_variables_in(environ: Mapping[str, str]) -> list[str]:
    """A warning for each replaced variable set in `environ` (names only, never values)."""
    present = {name.upper() for name in environ}
    return [
        f"{old} is set but no longer read: it was replaced by {new} (see the docs'"
        " operations/webhook.md); without WEBHOOK_PUBLIC_URL the operator only polls"
        for old, new in REPLACED_VARIABLES.items()
        if old in present
    ]


class LogFormat(StrEnum):
    """How log lines look: `plain` for people, `full` adds the logger name, `json` for machines."""

    PLAIN = "plain"
    FULL = "full"
    JSON = "json"


class OperatorSettings(BaseSettings):
    """Everything an operator process can be told from outside, with production defaults."""

    model_config = SettingsConfigDict(case_sensitive=False, frozen=True, extra="ignore")

    poll_interval_seconds: float = Field(
        30.0,
        gt=0,
        description="First delay between polls of a copy under Twilio's review (it then grows).",
    )
    poll_interval_max_seconds: float = Field(
        1800.0,
        gt=0,
        description="Longest delay between polls of a copy under review (the delay grows).",
    )
    light_check_interval_seconds: float = Field(
        3600.0,
        gt=0,
        description="How often a Ready renewal re-reads its original bundle (valid_until, status).",
    )
    backoff_base_seconds: float = Field(
        5.0,
        gt=0,
        description="First delay after a transient failure; it doubles with each further failure.",
    )
    backoff_max_seconds: float = Field(
        600.0,
        gt=0,
        description="Upper bound of the delay between retries after transient failures.",
    )
    history_limit: int = Field(
        5,
        ge=0,
        description="How many renewals each resource's status.history keeps, newest first (like "
        "cert-manager's revisionHistoryLimit); 0 keeps none.",
    )
    write_budget_per_reconcile: int = Field(
        40,
        ge=1,
        description="At most this many Twilio writes for one resource in one reconcile; beyond "
        "it the resource is Stalled (WriteBudgetExceeded) instead of looping.",
    )
    write_budget_per_hour: int = Field(
        120,
        ge=1,
        description="At most this many Twilio writes for one resource within an hour.",
    )
    regulation_cache_seconds: float = Field(
        3600.0,
        gt=0,
        description="How long what a regulation accepts (read for the preflight and dry runs) is "
        "kept per account before it is read again; a refusal is always checked with a fresh read.",
    )
    twilio_concurrency_per_account: int = Field(
        100,
        ge=1,
        description=(
            "At most this many requests in flight to Twilio per account at any time: the ceiling"
            " of the adaptive limit, which starts at TWILIO_CONCURRENCY_INITIAL, grows while"
            " Twilio answers promptly and shrinks on 429s or slowing answers."
        ),
    )
    twilio_concurrency_initial: int = Field(
        8,
        ge=1,
        description=(
            "Where each account's adaptive limit starts (capped at TWILIO_CONCURRENCY_PER_ACCOUNT)."
        ),
    )
    twilio_concurrency_adaptive: bool = Field(
        True,
        description=(
            "false: no adaptation, exactly TWILIO_CONCURRENCY_PER_ACCOUNT requests in flight at"
            " most per account (the behaviour before the adaptive limit)."
        ),
    )
    twilio_max_attempts: int = Field(
        4,
        ge=1,
        description=(
            "Attempts per Twilio request, the first included: 429, 5xx and connection errors are"
            " retried with jittered exponential backoff when the request is safe to repeat."
        ),
    )
    twilio_timeout_seconds: float = Field(
        30.0, gt=0, description="Time-out of one HTTP request to Twilio."
    )
    watch_namespaces: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description=(
            "Comma-separated namespaces (globs allowed) to watch; empty means cluster-wide."
        ),
    )
    twilio_base_url: AnyHttpUrl = Field(
        AnyHttpUrl("https://numbers.twilio.com"),
        description="Base URL of Twilio's Numbers API (a simulator or proxy in tests).",
    )
    twilio_upload_base_url: AnyHttpUrl | None = Field(
        None,
        description=(
            "Base URL for creating supporting documents with a file (multipart upload). Unset:"
            " Twilio's upload host when TWILIO_BASE_URL is Twilio's, else TWILIO_BASE_URL."
        ),
    )
    webhook_public_url: AnyHttpUrl | None = Field(
        None,
        description=(
            "Public base URL at which Twilio reaches the operator's status-callback receiver"
            " (scheme, host, optional port and path prefix; e.g. https://renewals.example.com)."
            " Set: the receiver listens on WEBHOOK_PORT and the copies the operator submits get"
            " this URL + WEBHOOK_PATH as StatusCallback. Unset: no receiver, polling only."
        ),
    )
    webhook_path: str = Field(
        "/twilio/bundle-status",
        pattern=r"^/[A-Za-z0-9._~/-]*$",
        description="Path of the status-callback receiver (the same in the public URL).",
    )
    webhook_port: int = Field(
        8081, ge=1, le=65535, description="Port the status-callback receiver listens on."
    )
    webhook_host: str = Field(
        "0.0.0.0",
        description="Address the status-callback receiver listens on (0.0.0.0: every interface).",
    )
    webhook_trust_forwarded_headers: bool = Field(
        False,
        description=(
            "Take the scheme and host of the URL Twilio signed from X-Forwarded-Proto and"
            " X-Forwarded-Host. Only behind a proxy that always sets them (an Ingress): otherwise"
            " a client could choose the URL its signature is checked against."
        ),
    )
    webhook_max_body_bytes: int = Field(
        16384,
        ge=256,
        description="Larger callback bodies are refused (413) without being read.",
    )
    webhook_token_cache_seconds: float = Field(
        30.0,
        ge=0,
        description=(
            "How long the receiver keeps an account's auth token read from the credentials"
            " Secret (a rotated token is picked up after this long)."
        ),
    )
    webhook_set_callback_on_originals: bool = Field(
        False,
        description=(
            "Also set the receiver's URL as StatusCallback on original bundles that have none"
            " (a separate update of that field alone), so a regulation change that gives one a"
            " valid_until starts its renewal at once instead of at the next light check."
        ),
    )
    metrics_port: int = Field(
        8082,
        ge=0,
        le=65535,
        description="Port of the Prometheus endpoint (GET /metrics); 0 or empty: no endpoint.",
    )
    metrics_host: str = Field(
        "0.0.0.0",
        description="Address the Prometheus endpoint listens on (0.0.0.0: every interface).",
    )
    liveness_endpoint: str | None = Field(
        None,
        description=(
            "Where Kopf serves the liveness probe, e.g. http://0.0.0.0:8080/healthz; it answers"
            " 500 while Kopf does not watch BundleRenewals, so that Kubernetes restarts the pod."
        ),
    )
    peering_name: str = Field(
        "",
        pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$",
        description=(
            "Name of the ClusterKopfPeering (cluster-wide operator) or of the KopfPeering in each"
            " watched namespace that the replicas share: one replica works, the others wait"
            " paused (docs: operations/replicas.md). Empty: standalone, run one replica."
        ),
    )
    peering_priority: int | None = Field(
        None,
        description=(
            "This replica's peering priority (the highest live one works). Empty: derived from"
            " the start time, so the longest-running replica keeps working and a restarted one"
            " never preempts it."
        ),
    )
    peering_lifetime_seconds: int = Field(
        60,
        ge=10,
        le=3600,
        description=(
            "How long a replica's peering keep-alive counts as alive (Kopf renews it 5-10 s"
            " before it expires): a killed working replica is replaced within this time."
        ),
    )
    pod_name: str = Field(
        "",
        description=(
            "The pod's name (the Deployment sets it from metadata.name): the replica's peering"
            " identity, so that a container restarted in its pod takes its own keep-alive entry"
            " over instead of waiting for it to expire. Empty: user@host/start time."
        ),
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: LogFormat = Field(LogFormat.PLAIN, description="plain, full or json.")

    @field_validator("watch_namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("log level must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _empty_port_is_off(cls, value: object) -> object:
        return 0 if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_public_url", "peering_priority", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_public_url")
    @classmethod
    def _base_url_only(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and (value.query or value.fragment):
            raise ValueError("WEBHOOK_PUBLIC_URL must have no query or fragment")
        return value

    @model_validator(mode="after")
    def _backoff_bounds(self) -> OperatorSettings:
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise ValueError("BACKOFF_MAX_SECONDS must not be below BACKOFF_BASE_SECONDS")
        if self.poll_interval_max_seconds < self.poll_interval_seconds:
            raise ValueError("POLL_INTERVAL_MAX_SECONDS must not be below POLL_INTERVAL_SECONDS")
        return self

    @property
    def clusterwide(self) -> bool:
        return not self.watch_namespaces

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]

    def twilio_base(self) -> str:
        """The Numbers API base URL without a trailing slash, as the SDK's `base_url` wants it."""
        return str(self.twilio_base_url).rstrip("/")

    @property
    def peering_enabled(self) -> bool:
        return bool(self.peering_name)

    @property
    def webhook_enabled(self) -> bool:
        return self.webhook_public_url is not None

    @property
    def metrics_enabled(self) -> bool:
        return self.metrics_port != 0

    def status_callback_url(self) -> str | None:
        """The URL Twilio is given as StatusCallback: public base URL + path; None without one."""
        if self.webhook_public_url is None:
            return None
        return str(self.webhook_public_url).rstrip("/") + self.webhook_path

    def twilio_upload_base(self) -> str | None:
        if self.twilio_upload_base_url is None:
            return None
        return str(self.twilio_upload_base_url).rstrip("/")
