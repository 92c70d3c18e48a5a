"""The container image, built here with podman and run as the Deployment runs it (issue 11).

The image is built from ./Dockerfile by scripts/image/build.sh (`make image`), on a Debian
bookworm base made from Debian's packages and cached under ~/.cache (image registries are out of
reach here). It then runs with the Deployment's security settings (user 10001, read-only root
filesystem, all capabilities dropped, no privilege escalation, the memory limit, a 16 MiB `/tmp`),
the settings of manifests/operator.env, the manifests' ServiceAccount and a kubeconfig mounted
read-only, on the host's network to reach the local API server and the simulator on loopback. It
must complete the seed's renewal, and Kopf's liveness endpoint must answer.

Without podman, runc or debootstrap the tests fail (never skip): `make image-tools` installs them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devtools.operator_image import (
    PODMAN_RUNTIME_FLAGS,
    BuiltImage,
    ImageOperator,
    build_image,
    missing_programs,
)
from tests.integration.operator_fixtures import (
    KubeCluster,
    Renewals,
    bind_credentials_reader,
    operator_env,
)
from tests.integration.scenario import (
    DOCUMENT_VALUE,
    END_USER_VALUE,
    assert_renewed,
    renewal_spec,
    seed_due_bundle,
)
from tests.measurements import report
from tests.sim_fixtures import Sim

CONTAINER_UID = 10001
COUNT_TRUSTED_CAS = "import ssl; print(ssl.create_default_context().cert_store_stats()['x509_ca'])"


@pytest.fixture(scope="module")
def image() -> BuiltImage:
    """The image, built now (the base and unchanged layers come from the caches)."""
    missing = missing_programs()
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not installed, so the image cannot be built or run: "
            "`make image-tools` installs the Debian packages podman, runc and debootstrap "
            "(.ci/run does)"
        )
    built = build_image()
    base = "cached" if "debootstrap" not in built.log else "made by debootstrap"
    report(
        f"image build (scripts/image/build.sh, base {base})",
        f"{built.seconds:.1f} s, {built.size_bytes / 1e6:.0f} MB",
    )
    return built


def test_the_image_runs_the_operator_as_user_10001(image: BuiltImage) -> None:
    config = json.loads(
        subprocess.run(
            ["podman", "image", "inspect", "--format", "{{json .Config}}", image.image_id],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert config["User"] == f"{CONTAINER_UID}:{CONTAINER_UID}"
    assert config["Entrypoint"] == ["python", "-m", "controller"]
    # Twilio is reached over HTTPS with the system's trust store: the image must have one.
    trust = subprocess.run(
        [
            *("podman", "run", "--rm", *PODMAN_RUNTIME_FLAGS),
            *("--entrypoint", "python", image.image_id, "-c", COUNT_TRUSTED_CAS),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(trust.stdout) > 100, trust


@pytest.fixture
def container_kubeconfig(service_account_kubeconfig: Path) -> Path:
    """The ServiceAccount's kubeconfig, readable by the container's user alone (as Kubernetes
    gives a pod its token)."""
    os.chown(service_account_kubeconfig, CONTAINER_UID, CONTAINER_UID)
    service_account_kubeconfig.chmod(0o400)
    return service_account_kubeconfig


@pytest.fixture
def image_operator(
    image: BuiltImage,
    kube: KubeCluster,
    sim: Sim,
    namespace: str,
    container_kubeconfig: Path,
    tmp_path: Path,
) -> Iterator[ImageOperator]:
    operator = ImageOperator(
        image.image_id,
        # Cluster-wide, as manifests/operator.env has it (the ServiceAccount may not list
        # namespaces, which Kopf tries, for a minute, when given names to watch).
        operator_env(kube, sim, namespace, WATCH_NAMESPACES=""),
        tmp_path / "operator.log",
        kubeconfig=container_kubeconfig,
    )
    try:
        yield operator
    finally:
        operator.stop()


def proc_status(operator: ImageOperator) -> dict[str, str]:
    """/proc/1/status of the container: what the operator's process really runs with."""
    result = operator.exec("cat", "/proc/1/status")
    assert result.returncode == 0, result.stderr
    return dict(
        (key, value.strip())
        for key, _, value in (line.partition(":") for line in result.stdout.splitlines())
    )


def test_the_image_completes_a_renewal_with_the_deployments_security_settings(
    sim: Sim,
    renewals: Renewals,
    image_operator: ImageOperator,
    container_kubeconfig: Path,
) -> None:
    bind_credentials_reader(renewals)
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("acme-fr-mobile", renewal_spec(case.bundle_sid))

    started = time.monotonic()
    image_operator.start(ready_timeout=120)
    ready = time.monotonic()
    status = renewals.wait_for_phase("acme-fr-mobile", "Completed", timeout=120)
    report("image: container start to liveness 200", f"{ready - started:.1f} s")
    report("image: ready to the renewal Completed", f"{time.monotonic() - ready:.1f} s")
    assert status.get("copySid") is None
    assert_renewed(sim, case)

    # Kopf's liveness endpoint answers, and so do the metrics, from the container.
    with urllib.request.urlopen(
        f"http://127.0.0.1:{image_operator.port}/healthz", timeout=5
    ) as response:
        assert response.status == 200
    metrics = image_operator.metrics()
    assert re.search(r"^bundle_renewal_renewals_completed_total\S* 1\.0$", metrics, re.M), metrics

    # The process runs as the Deployment says, seen from inside.
    proc = proc_status(image_operator)
    assert proc["Uid"].split() == [str(CONTAINER_UID)] * 4
    assert proc["Gid"].split() == [str(CONTAINER_UID)] * 4
    assert int(proc["CapEff"], 16) == int(proc["CapPrm"], 16) == int(proc["CapBnd"], 16) == 0
    assert proc["NoNewPrivs"] == "1"
    assert proc["Seccomp"] == "2"  # a filter: the runtime's default profile
    read_only = image_operator.exec("touch", "/opt/venv/written")
    assert read_only.returncode != 0
    assert "Read-only file system" in read_only.stderr
    assert image_operator.exec("touch", "/tmp/written").returncode == 0
    inspected = image_operator.inspect()
    assert inspected["HostConfig"]["Memory"] == 2**30  # the Deployment's limit, 1Gi
    mounts = {m["Destination"]: m for m in inspected["Mounts"]}
    assert mounts["/var/run/bundle-renewal-operator/kubeconfig"]["RW"] is False

    image_operator.stop()
    output = image_operator.output()
    # LOG_FORMAT=json from manifests/operator.env: the operator's lines are JSON.
    json_lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any("acme-fr-mobile" in json.dumps(line) for line in json_lines), output[-4000:]
    # No credential reaches the log: neither the Twilio token nor the ServiceAccount's.
    token = yaml.safe_load(container_kubeconfig.read_text())["users"][0]["user"]["token"]
    for secret in (case.account.auth_token, token, END_USER_VALUE, DOCUMENT_VALUE):
        assert secret not in output
