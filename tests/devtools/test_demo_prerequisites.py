"""devtools/demo/ checks its prerequisites before starting anything: a kubectl that can run
`apply -k manifests/` (>= 1.24), and for kind, kind and a Docker engine; what is missing is named
with how to get it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.demo import __main__ as demo
from devtools.demo.common import missing_prerequisites


def fake_kubectl(tmp_path: Path, minor: str) -> Path:
    """An executable answering `version --client -o json` like a kubectl 1.<minor>."""
    answer = json.dumps({"clientVersion": {"major": "1", "minor": minor}})
    path = tmp_path / f"kubectl-1.{minor}"
    path.write_text(f"#!/bin/sh\necho '{answer}'\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("minor", "ok"), [("20", False), ("23", False), ("24", True), ("30+", True)]
)
def test_a_kubectl_older_than_1_24_is_named_with_how_to_get_a_newer_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minor: str, ok: bool
) -> None:
    monkeypatch.setenv("BRO_KUBECTL", str(fake_kubectl(tmp_path, minor)))
    missing = missing_prerequisites(kind=False)
    if ok:
        assert missing == []
    else:
        (message,) = missing
        assert "kubectl >= 1.24" in message
        assert "BRO_KUBECTL" in message
        assert f"version 1.{minor}" in message


def test_a_kubectl_that_does_not_run_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRO_KUBECTL", str(tmp_path / "no-such-kubectl"))
    (message,) = missing_prerequisites(kind=False)
    assert "does not run" in message


def test_the_demo_exits_2_with_one_message_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRO_KUBECTL", str(fake_kubectl(tmp_path, "20")))
    monkeypatch.setenv("CLUSTER", "local")
    assert demo.main(["--workdir", str(tmp_path / "demo")]) == 2
    out = capsys.readouterr().out
    assert out.startswith("[demo] cannot start: this machine lacks")
    assert "kubectl >= 1.24" in out
    assert "control plane" not in out
    assert not (tmp_path / "demo").exists()
