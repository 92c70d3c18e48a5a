"""Watching the examples settle, and what to show people once they have."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from devtools.controlplane import kubectl_command
from devtools.demo.common import (
    NAMESPACE,
    Kubectl,
    elapsed,
    say,
)
from devtools.demo.seeding import (
    ACCOUNT_EXAMPLE,
    EXAMPLE_RENEWALS,
)


def phases(kubectl: Kubectl) -> dict[str, str]:
    listing = kubectl("get", "bundlerenewals", "-n", NAMESPACE, "-o", "yaml")
    items = yaml.safe_load(listing.stdout)["items"]
    return {
        item["metadata"]["name"]: (item.get("status") or {}).get("phase") or "" for item in items
    }


def watch_until_settled(kubectl: Kubectl, timeout: float) -> bool:
    """Show `kubectl get bundlerenewals` as it changes; True when every example is as expected."""
    expected = {e.name: e.expected_phase for e in EXAMPLE_RENEWALS}
    deadline = time.monotonic() + timeout
    last = ""

    def show_table() -> None:
        nonlocal last
        table = kubectl("get", "bundlerenewals", "-n", NAMESPACE).stdout
        if table != last:
            print(f"\n$ kubectl get bundlerenewals -n {NAMESPACE}\n{table}", end="", flush=True)
            last = table

    while True:
        show_table()
        current = phases(kubectl)
        account = account_status(kubectl)
        if (
            all(current.get(name) == phase for name, phase in expected.items())
            and account.get("uncovered") == 1
        ):
            show_table()  # the phases may have settled after the table above was read
            print(
                f"\n$ kubectl get complianceaccounts -n {NAMESPACE}\n"
                + kubectl("get", "complianceaccounts", "-n", NAMESPACE).stdout,
                end="",
                flush=True,
            )
            return True
        if time.monotonic() > deadline:
            for name, phase in expected.items():
                if current.get(name) != phase:
                    say(f"{name}: expected {phase}, is {current.get(name) or 'no phase'}")
            if account.get("uncovered") != 1:
                say(f"{ACCOUNT_EXAMPLE}: expected 1 uncovered bundle, status {account}")
            return False
        time.sleep(1.0)


def account_status(kubectl: Kubectl) -> dict[str, Any]:
    """The example ComplianceAccount's status ({} before its first scan)."""
    listing = kubectl("get", "complianceaccounts", "-n", NAMESPACE, "-o", "yaml")
    for item in yaml.safe_load(listing.stdout)["items"]:
        if item["metadata"]["name"] == ACCOUNT_EXAMPLE:
            return dict(item.get("status") or {})
    return {}


def report_settled(settled: bool, timeout: float, started: float, applied: float) -> None:
    if settled:
        say(
            f"every example reached its intended state {elapsed(started)} after the demo started"
            f" ({elapsed(applied)} after examples/ were applied)"
        )
    else:
        say(f"not every example settled within {timeout:.0f} s")


def look_around(
    kubeconfig: Path, twilio_url: str, operator_log: Path, metrics_url: str, workdir: Path
) -> None:
    kubectl = " ".join(kubectl_command())
    print(
        f"""
Look around (in another terminal):
  export KUBECONFIG={kubeconfig}
  {kubectl} get br -n {NAMESPACE} -o wide
  {kubectl} get ca -n {NAMESPACE} {ACCOUNT_EXAMPLE} -o yaml     # every deadline of the account
  {kubectl} describe br -n {NAMESPACE} acme-fr-mobile      # events for every step
  {kubectl} get br -n {NAMESPACE} acme-fr-mobile -o jsonpath='{{.status}}'
  {kubectl} get br -n {NAMESPACE} jane-doe-gb-mobile -o yaml   # personal data: Secret refs only
  {kubectl} patch br -n {NAMESPACE} acme-fr-landline-paused --type=merge \\
      -p '{{"spec":{{"suspend":false}}}}'                      # resume the suspended one
  curl -s {twilio_url}/_sim/state | python3 -m json.tool     # the simulated Twilio
  curl -s {metrics_url} | grep -v '^#'                  # the operator's metrics
  tail -f {operator_log}
Files: {workdir}
Stop: Ctrl-C here (stops everything the demo started).
""",
        flush=True,
    )
