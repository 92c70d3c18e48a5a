"""The API server accepts every object in examples/ (server-side dry-run create, CRD applied).

The pydantic side is tests/manifests/test_examples.py; the demo (tests/integration/test_demo.py)
applies them for real and checks where each ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.operator_fixtures import KubeCluster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_the_api_server_accepts_the_example(
    path: Path, kube: KubeCluster, crd: str, namespace: str
) -> None:
    result = kube.kubectl("create", "--dry-run=server", "-n", namespace, "-f", str(path))
    created = [line for line in result.stdout.splitlines() if line.strip()]
    assert created, result.stderr
    assert all("created (server dry run)" in line for line in created), result.stdout
