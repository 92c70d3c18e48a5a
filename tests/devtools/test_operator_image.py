"""The image run's podman flags come from the Deployment, and nothing there goes unmapped.

tests/integration/test_image.py runs the image with these flags and checks, from inside the
container, that they took effect; here, that they say what manifests/deployment.yaml says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.operator_image import DEPLOYMENT, deployment_run_flags


def test_the_flags_are_the_deployments_security_settings() -> None:
    assert deployment_run_flags() == [
        *("--user", "10001:10001"),
        *("--read-only", "--read-only-tmpfs=false"),
        *("--security-opt", "no-new-privileges"),
        *("--cap-drop", "ALL"),
        *("--memory", "1g"),
        *("--tmpfs", "/tmp:rw,size=16m,mode=1777"),
    ]


def edited(tmp_path: Path, edit: Any) -> Path:
    doc = yaml.safe_load(DEPLOYMENT.read_text())
    edit(doc["spec"]["template"]["spec"])
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_security_setting_with_no_flag_is_an_error(tmp_path: Path) -> None:
    def privileged(pod: dict[str, Any]) -> None:
        pod["containers"][0]["securityContext"]["privileged"] = False

    with pytest.raises(ValueError, match="privileged"):
        deployment_run_flags(edited(tmp_path, privileged))


def test_an_added_capability_is_an_error(tmp_path: Path) -> None:
    def add(pod: dict[str, Any]) -> None:
        pod["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]

    with pytest.raises(ValueError, match="NET_BIND_SERVICE"):
        deployment_run_flags(edited(tmp_path, add))
