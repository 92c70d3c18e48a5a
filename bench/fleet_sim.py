"""The simulated Twilio of the fleet benchmark: its own process, configured as issue 10 says.

A separate process (``python -m twilio_sim``) so that neither the harness nor the guide script's
threads share its event loop, and so that its CPU can be read like the other processes'. Every
scenario gets its own account, so the simulator's per-account statistics are that scenario's
Twilio calls and polls.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from twilio_sim.admin_client import AdminClient
from twilio_sim.regulations import FRANCE_MOBILE_BUSINESS_SID
from twilio_sim.server import free_port

RC = "/v2/RegulatoryCompliance"
COPIES_ROUTE = f"POST {RC}/Bundles/{{BundleSid}}/Copies"

# What the renewal writes: the fields the simulator's default regulation change adds.
END_USER_ATTRIBUTES = {"business_registration_authority": "Registre du commerce de Paris"}
DOCUMENT_TYPE = "commercial_registrar_excerpt"
DOCUMENT_ATTRIBUTES = {"issue_date": "2026-01-15"}


@dataclass(frozen=True)
class Profile:
    """Twilio as the benchmark assumes it: per-request latency, a per-account cap on
    concurrent requests (429 beyond it), and the time from submission to the decision."""

    latency_ms: float = 100.0
    concurrency: int = 100
    review_seconds: float = 2.0

    def sim_config(self) -> dict[str, Any]:
        # pending-review -> in-review after a quarter of the review, the decision at its end:
        # both transitions fire a status callback, as at Twilio.
        in_review = self.review_seconds / 4
        return {
            "latency": {"distribution": "constant", "mean_ms": self.latency_ms},
            "max_concurrent_requests_per_account": self.concurrency,
            "review": {
                "mode": "auto",
                "in_review_after_seconds": in_review,
                "decision_after_seconds": self.review_seconds - in_review,
            },
            "callback_concurrency": 50,
        }


@dataclass
class FleetAccount:
    """A simulator account holding the approved bundles one scenario renews."""

    sid: str
    auth_token: str
    originals: list[str] = field(default_factory=list)


class SimProcess:
    """``python -m twilio_sim`` on a free loopback port, from this checkout."""

    def __init__(self, log_path: Path, cwd: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.admin = AdminClient(self.base_url, timeout=120)
        self._log: IO[bytes] = log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "twilio_sim", "--port", str(self.port),
             "--log-level", "WARNING"],
            cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.admin.wait_ready(timeout=30)

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._log.close()


def seed_account(admin: AdminClient, bundles: int) -> FleetAccount:
    """A new account with ``bundles`` approved bundles (one phone number each)."""
    created = admin.create_account(friendly_name="fleet benchmark")
    account = FleetAccount(created["account_sid"], created["auth_token"])
    for _ in range(bundles):
        seeded = admin.seed_approved_bundle(account.sid, phone_numbers=1)
        account.originals.append(seeded["bundle_sid"])
    return account


def make_due(admin: AdminClient, accounts: list[FleetAccount]) -> None:
    """One regulation change gives every seeded bundle a valid_until: all are due at once."""
    affected = set(admin.change_regulation(FRANCE_MOBILE_BUSINESS_SID)["affected_bundle_sids"])
    missing = [sid for a in accounts for sid in a.originals if sid not in affected]
    if missing:
        raise RuntimeError(f"{len(missing)} seeded bundles were not made due, e.g. {missing[0]}")


@dataclass(frozen=True)
class CallSnapshot:
    """One account's Twilio requests so far: by ``METHOD route`` (any status), by status, and
    its polls (fetches of a bundle under review)."""

    by_route: Counter[str]
    by_status: Counter[int]
    copies_created: int
    polls: int

    def minus(self, before: CallSnapshot) -> CallSnapshot:
        return CallSnapshot(
            self.by_route - before.by_route,
            self.by_status - before.by_status,
            self.copies_created - before.copies_created,
            self.polls - before.polls,
        )

    @property
    def total(self) -> int:
        return sum(self.by_route.values())


def calls(admin: AdminClient, account_sid: str) -> CallSnapshot:
    stats = admin.stats()
    by_route: Counter[str] = Counter()
    by_status: Counter[int] = Counter()
    copies = 0
    for row in stats["requests"]:
        if row["account_sid"] != account_sid:
            continue
        route = f"{row['method']} {row['route']}"
        by_route[route] += row["count"]
        by_status[row["status"]] += row["count"]
        if route == COPIES_ROUTE and row["status"] == 201:
            copies += row["count"]
    return CallSnapshot(by_route, by_status, copies, int(stats["review_polls"].get(account_sid, 0)))


def renewal_problems(admin: AdminClient, account: FleetAccount, copies_created: int) -> list[str]:
    """Why the account's renewals are not all done with exactly one copy each (empty: they are).

    Every original must be approved with its valid_until cleared, no copy may be left, and the
    account must have created exactly one copy per original: each renewal needs at least one,
    so as many copies as originals means one each.
    """
    problems = []
    state = next(a for a in admin.state()["accounts"] if a["account_sid"] == account.sid)
    bundles = {b["sid"]: b for b in state["bundles"]}
    not_renewed = [
        sid
        for sid in account.originals
        if bundles[sid]["status"] != "twilio-approved" or bundles[sid]["valid_until"] is not None
    ]
    if not_renewed:
        problems.append(f"{len(not_renewed)} originals not renewed, e.g. {not_renewed[0]}")
    left = [b["sid"] for b in state["bundles"] if b.get("copy_of")]
    if left:
        problems.append(f"{len(left)} copies left behind, e.g. {left[0]}")
    if copies_created != len(account.originals):
        problems.append(f"{copies_created} copies made for {len(account.originals)} originals")
    return problems
