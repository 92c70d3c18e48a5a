"""OperatorSettings: read from the environment, validated, defaults as documented."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError

import controller.__main__ as entry_point
from controller.core.plan import Policy
from controller.core.settings import LogFormat, OperatorSettings, replaced_variables_in
from controller.engine.reconcile import policy_from_settings
from controller.operator.runtime import gateway_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OperatorSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_defaults_point_at_twilio_and_watch_the_whole_cluster() -> None:
    settings = OperatorSettings()
    assert settings.twilio_base() == "https://numbers.twilio.com"
    assert settings.twilio_upload_base() is None
    assert settings.clusterwide
    assert settings.status_callback_url() is None
    assert not settings.webhook_enabled
    assert not settings.webhook_trust_forwarded_headers
    assert not settings.webhook_set_callback_on_originals
    assert settings.log_format is LogFormat.PLAIN


def test_an_empty_webhook_public_url_means_no_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_PUBLIC_URL", "")
    assert not OperatorSettings().webhook_enabled


@pytest.mark.parametrize(("value", "port"), [(None, 8082), ("9100", 9100), ("0", 0), ("", 0)])
def test_metrics_port_defaults_to_8082_and_zero_or_empty_disables_it(
    monkeypatch: pytest.MonkeyPatch, value: str | None, port: int
) -> None:
    if value is not None:
        monkeypatch.setenv("METRICS_PORT", value)
    settings = OperatorSettings()
    assert settings.metrics_port == port
    assert settings.metrics_enabled is (port != 0)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_BASE_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "0.5")
    monkeypatch.setenv("WATCH_NAMESPACES", "telecom, billing ,")
    monkeypatch.setenv("TWILIO_CONCURRENCY_PER_ACCOUNT", "2")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("WEBHOOK_PUBLIC_URL", "https://op.example/renewals/")
    monkeypatch.setenv("WEBHOOK_PATH", "/twilio/status")
    settings = OperatorSettings()
    assert settings.twilio_base() == "http://127.0.0.1:8081"
    assert settings.poll_interval_seconds == 0.5
    assert settings.watch_namespaces == ("telecom", "billing")
    assert not settings.clusterwide
    assert settings.twilio_concurrency_per_account == 2
    assert settings.log_level == "DEBUG"
    assert settings.log_level_number == 10
    assert settings.log_format is LogFormat.JSON
    assert settings.webhook_enabled
    assert settings.status_callback_url() == "https://op.example/renewals/twilio/status"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("POLL_INTERVAL_SECONDS", "0", id="zero-poll-interval"),
        pytest.param("TWILIO_CONCURRENCY_PER_ACCOUNT", "0", id="zero-concurrency"),
        pytest.param("TWILIO_BASE_URL", "not a url", id="bad-url"),
        pytest.param("LOG_LEVEL", "chatty", id="unknown-level"),
        pytest.param("BACKOFF_MAX_SECONDS", "1", id="max-below-base"),
        pytest.param("WEBHOOK_PUBLIC_URL", "https://op.example/?x=1", id="public-url-query"),
        pytest.param("WEBHOOK_PATH", "twilio", id="relative-webhook-path"),
        pytest.param("WEBHOOK_PORT", "70000", id="webhook-port"),
        pytest.param("METRICS_PORT", "70000", id="metrics-port"),
        pytest.param("METRICS_PORT", "-1", id="negative-metrics-port"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        OperatorSettings()


def test_settings_are_immutable_once_built() -> None:
    settings = OperatorSettings()
    with pytest.raises(ValidationError):
        settings.poll_interval_seconds = 1  # type: ignore[misc]


def test_replaced_variables_are_named_without_their_values() -> None:
    url = "https://old.example/callbacks"
    assert replaced_variables_in({"PATH": "/usr/bin"}) == []
    (warning,) = replaced_variables_in({"STATUS_CALLBACK_URL": url})
    assert "STATUS_CALLBACK_URL" in warning
    assert "WEBHOOK_PUBLIC_URL" in warning
    assert url not in warning


def test_the_operator_warns_at_start_up_about_status_callback_url(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(entry_point, "configure_logging", lambda settings: None)
    monkeypatch.setattr(entry_point.lean_bodies, "install", lambda: True)  # Kopf left as it is
    monkeypatch.setattr(entry_point.kopf, "run", lambda **kwargs: started.append(kwargs))
    monkeypatch.setenv("STATUS_CALLBACK_URL", "https://old.example/callbacks")
    with caplog.at_level(logging.WARNING, logger="controller.__main__"):
        assert entry_point.main() == 0
    assert len(started) == 1  # a warning, not a refusal: the operator still starts
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("STATUS_CALLBACK_URL" in w and "WEBHOOK_PUBLIC_URL" in w for w in warnings)

    caplog.clear()
    monkeypatch.delenv("STATUS_CALLBACK_URL")
    with caplog.at_level(logging.WARNING, logger="controller.__main__"):
        assert entry_point.main() == 0
    assert not [r for r in caplog.records if "STATUS_CALLBACK_URL" in r.getMessage()]


def test_the_workflow_policy_defaults_are_the_settings_defaults() -> None:
    """Policy's own defaults (used by tests and any caller without settings) must not drift from
    what the operator runs with by default (they once did: backoff_max 900 against 600)."""
    assert policy_from_settings(OperatorSettings()) == Policy()


def test_twilio_concurrency_adapts_between_8_and_100_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = gateway_settings(OperatorSettings()).concurrency_policy()
    assert (policy.initial, policy.floor, policy.ceiling) == (8, 1, 100)
    monkeypatch.setenv("TWILIO_CONCURRENCY_PER_ACCOUNT", "30")
    monkeypatch.setenv("TWILIO_CONCURRENCY_INITIAL", "12")
    policy = gateway_settings(OperatorSettings()).concurrency_policy()
    assert (policy.initial, policy.ceiling) == (12, 30)
    monkeypatch.setenv("TWILIO_CONCURRENCY_ADAPTIVE", "false")
    policy = gateway_settings(OperatorSettings()).concurrency_policy()
    assert (policy.initial, policy.floor, policy.ceiling) == (30, 30, 30)
