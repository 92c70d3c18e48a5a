"""ComplianceAccount benchmark (issue 20): one account of many bundles, some with a deadline and
some of those covered, scanned by the operator on a local control plane and the simulator.

    python -m bench.accounts                      # 10,000 bundles, 500 dated
    python -m bench.accounts --bundles 200 --dated 20 --covered 10

Scenarios, one after the other on one operator (webhook on):
- keep: `statusCallbacks: Keep`, from creating the resource to its first status;
- register: a second ComplianceAccount with `Register`: its first scan gives every approved
  bundle the operator's StatusCallback (a fresh read and a write each);
- rescan: that one's next whole scan (a spec change), when every bundle calls the operator.
Each prints the Twilio requests it cost (by route), its seconds, and the operator's VmRSS. No
figure is compared with a target here: speed goals are read, not gated.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from kubernetes import client

from bench import fleet_kube
from bench.fleet_kube import Fleet
from bench.fleet_procs import memory
from bench.fleet_sim import SimProcess
from devtools.controlplane import LocalControlPlane
from devtools.controlplane.testing import KubeCluster
from devtools.operator_runner import REPO_ROOT, OperatorProcess
from twilio_sim.server import free_port

GROUP, VERSION, ACCOUNTS = "twilio-compliance.io", "v1alpha1", "complianceaccounts"
CRDS = [REPO_ROOT / "crds" / "bundlerenewals.yaml", REPO_ROOT / "crds" / "complianceaccounts.yaml"]
NAMESPACE = "accounts-bench"


def requests(sim: SimProcess, account_sid: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for row in sim.admin.stats()["requests"]:
        if row["account_sid"] == account_sid:
            counts[f"{row['method']} {row['route']}"] += row["count"]
    return counts


def wait_status(
    custom: client.CustomObjectsApi, name: str, check: Any, timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = cast(
            dict[str, Any],
            custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, ACCOUNTS, name),
        )
        status = cast(dict[str, Any], body.get("status") or {})
        if check(status):
            return status
        time.sleep(0.2)
    raise RuntimeError(f"{name}: not done within {timeout:.0f} s")


def scenario(
    what: str,
    sim: SimProcess,
    operator: OperatorProcess,
    account_sid: str,
    act: Any,
) -> dict[str, Any]:
    assert operator.pid is not None
    before, started = requests(sim, account_sid), time.monotonic()
    status = act()
    seconds = time.monotonic() - started
    made = requests(sim, account_sid) - before
    result = {
        "scenario": what,
        "seconds": round(seconds, 2),
        "twilio_requests": sum(made.values()),
        "by_route": dict(sorted(made.items())),
        "operator_rss_mib": round(memory(operator.pid).rss_mib, 1),
        "counts": [status.get(k) for k in ("bundlesWithDeadline", "covered", "uncovered")],
        "callbacks_registered": status.get("callbacksRegistered"),
    }
    print(json.dumps(result), flush=True)
    return result


def run(bundles: int, dated: int, covered: int, workdir: Path) -> list[dict[str, Any]]:
    results = []
    with LocalControlPlane() as plane:
        sim = SimProcess(workdir / "twilio-sim.log", REPO_ROOT)
        try:
            kube = KubeCluster(
                kubeconfig_path=plane.endpoints.kubeconfig_path,
                server=plane.endpoints.server,
                admin_token=plane.endpoints.admin_token,
                local=True,
            )
            for crd in CRDS:
                kube.kubectl("apply", "-f", str(crd))
            kube.kubectl("wait", "--for=condition=Established", f"crd/{ACCOUNTS}.{GROUP}")
            account = sim.admin.create_account(friendly_name="accounts benchmark")
            sid = account["account_sid"]
            due = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
            started = time.monotonic()
            dated_sids = [
                sim.admin.seed_approved_bundle(sid, phone_numbers=0, valid_until=due)["bundle_sid"]
                for _ in range(dated)
            ]
            for _ in range(bundles - dated):
                sim.admin.seed_approved_bundle(sid, phone_numbers=0)
            print(f"seeded {bundles} bundles in {time.monotonic() - started:.0f} s", flush=True)
            api = kube.api_client()
            fleet = Fleet(api, NAMESPACE)
            fleet.create_namespace({"accountSid": sid, "authToken": account["auth_token"]})
            fleet.create([fleet_kube.spec(s, suspend=True) for s in dated_sids[:covered]])
            port = free_port()
            env = {
                "KUBECONFIG": str(plane.endpoints.kubeconfig_path),
                "TWILIO_BASE_URL": sim.base_url,
                "WATCH_NAMESPACES": NAMESPACE,
                "WEBHOOK_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "WEBHOOK_HOST": "127.0.0.1",
                "WEBHOOK_PORT": str(port),
            }
            operator = OperatorProcess(env, workdir / "operator.log")
            operator.start()
            try:
                assert operator.pid is not None
                print(f"operator VmRSS at start: {memory(operator.pid).rss_mib:.1f} MiB")
                custom = client.CustomObjectsApi(api)

                def create(name: str, callbacks: str) -> Any:
                    spec = {
                        "credentialsSecretRef": {"name": fleet_kube.CREDENTIALS_SECRET},
                        "statusCallbacks": callbacks,
                    }
                    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ComplianceAccount",
                            "metadata": {"name": name}, "spec": spec}  # fmt: skip
                    custom.create_namespaced_custom_object(
                        GROUP, VERSION, NAMESPACE, ACCOUNTS, body
                    )
                    check = (
                        (lambda s: s.get("callbacksRegistered") == bundles)
                        if callbacks == "Register"
                        else (lambda s: s.get("lastScanTime"))
                    )
                    return wait_status(custom, name, check, timeout=1800)

                def rescan() -> Any:
                    custom.patch_namespaced_custom_object(
                        GROUP, VERSION, NAMESPACE, ACCOUNTS, "register",
                        {"spec": {"scanInterval": "2h"}},
                    )  # fmt: skip
                    return wait_status(
                        custom, "register", lambda s: s.get("observedGeneration") == 2, 600
                    )

                results.append(scenario("keep", sim, operator, sid, lambda: create("keep", "Keep")))
                results.append(
                    scenario("register", sim, operator, sid, lambda: create("register", "Register"))
                )
                results.append(scenario("rescan", sim, operator, sid, rescan))
            finally:
                operator.stop()
        finally:
            sim.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.accounts", description=__doc__.split("\n")[0])
    parser.add_argument("--bundles", type=int, default=10_000)
    parser.add_argument("--dated", type=int, default=500)
    parser.add_argument("--covered", type=int, default=250)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args(argv)
    if not 0 <= args.covered <= args.dated <= args.bundles:
        parser.error("need 0 <= --covered <= --dated <= --bundles")
    with tempfile.TemporaryDirectory(prefix="bench-accounts-") as tmp:
        results = run(args.bundles, args.dated, args.covered, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
