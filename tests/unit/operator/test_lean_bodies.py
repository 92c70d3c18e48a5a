"""Kopf's event processor, once wrapped, stores bodies without metadata.managedFields
(controller.operator.lean_bodies says why), and a Kopf without that processor is left alone."""

from __future__ import annotations

import asyncio
import importlib
import logging
from types import SimpleNamespace
from typing import Any

import pytest

import controller.__main__ as entry_point
from controller.operator import lean_bodies

KOPF_PROCESSING = "kopf._core.reactor.processing"


def event(**metadata: Any) -> dict[str, Any]:
    return {"type": "MODIFIED", "object": {"metadata": {"name": "acme", **metadata}, "spec": {}}}


class Recorder:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def process_resource_event(self, *, raw_event: dict[str, Any], **_: Any) -> str:
        self.seen.append(raw_event)
        return "patched-version"


def test_the_wrapped_processor_gets_the_event_without_managed_fields() -> None:
    recorder = Recorder()
    module = SimpleNamespace(process_resource_event=recorder.process_resource_event)
    assert lean_bodies.install(module) is True
    raw = event(managedFields=[{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}], uid="u-1")

    answer = asyncio.run(module.process_resource_event(raw_event=raw, consistency_time=None))

    assert answer == "patched-version"  # the processor's answer is passed back
    [seen] = recorder.seen
    assert seen["object"]["metadata"] == {"name": "acme", "uid": "u-1"}
    assert seen["object"]["spec"] == {}


def test_installing_twice_wraps_once() -> None:
    recorder = Recorder()
    module = SimpleNamespace(process_resource_event=recorder.process_resource_event)
    lean_bodies.install(module)
    once = module.process_resource_event
    assert once is not recorder.process_resource_event
    lean_bodies.install(module)
    assert module.process_resource_event is once


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "ERROR"},
        {"type": "ADDED", "object": {"kind": "Status"}},
        {"type": "ADDED", "object": {"metadata": None}},
        event(),
    ],
)
def test_events_without_managed_fields_pass_unchanged(raw: dict[str, Any]) -> None:
    before = repr(raw)
    lean_bodies.drop_managed_fields(raw)
    assert repr(raw) == before


def test_this_kopf_has_the_processor_and_it_gets_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards a Kopf upgrade: the processor is where lean_bodies looks for it."""
    processing = importlib.import_module(KOPF_PROCESSING)
    original = processing.process_resource_event
    monkeypatch.setattr(processing, "process_resource_event", original)  # restored after
    assert lean_bodies.install() is True
    assert processing.process_resource_event is not original
    assert processing.process_resource_event.__wrapped__ is original


def test_a_kopf_without_the_processor_is_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    module = SimpleNamespace()
    with caplog.at_level(logging.WARNING, logger="controller.operator.lean_bodies"):
        assert lean_bodies.install(module) is False
    assert vars(module) == {}
    assert "Kopf keeps managedFields" in caplog.text


def test_the_operator_wraps_the_processor_before_kopf_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    processing = importlib.import_module(KOPF_PROCESSING)
    original = processing.process_resource_event
    monkeypatch.setattr(processing, "process_resource_event", original)  # restored after
    wrapped_at_start: list[bool] = []
    monkeypatch.setattr(entry_point, "configure_logging", lambda settings: None)
    monkeypatch.setattr(entry_point, "shrink_tls_read_buffers", lambda: True)
    monkeypatch.setattr(
        entry_point.kopf,
        "run",
        lambda **_: wrapped_at_start.append(processing.process_resource_event is not original),
    )
    assert entry_point.main() == 0
    assert wrapped_at_start == [True]
