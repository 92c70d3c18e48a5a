"""Fleet benchmark (issue 10): ``make bench-fleet``, or ``make bench-fleet-short`` for CI.

One invocation, one local control plane (etcd + kube-apiserver), one simulator process set up
as the issue says (100 ms per request, 100 concurrent requests per account, review decided 2 s
after submission). It renews fleets of N bundles with the operator at default settings (webhook
on, and polling only), and with the guide script (Twilio's manual sequence with the official SDK,
one renewal after another and on 10 threads, run on a sample and scaled to N when longer), then
deletes each fleet (or a sample of it), and finally loads the operator with many idle (suspended)
resources for its memory. It prints every figure side by side (``bench.fleet_report``) and can
write them as JSON. Figures are measured, never asserted: the smoke test only checks that each
one was produced and that every renewal completed with exactly one copy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twilio.rest import Client

from bench import fleet_kube, guide_script
from bench.fleet_kube import Fleet, describe, scrape_requests, writes_by_kind
from bench.fleet_procs import CpuMeter, memory
from bench.fleet_report import bound_seconds, render
from bench.fleet_sim import (
    CallSnapshot,
    FleetAccount,
    Profile,
    SimProcess,
    calls,
    make_due,
    renewal_problems,
)
from bench.fleet_sim import seed_account as seed
from controller.core.settings import OperatorSettings
from devtools.controlplane import LocalControlPlane
from devtools.controlplane.testing import KubeCluster
from devtools.operator_runner import REPO_ROOT, OperatorProcess
from twilio_sim.server import free_port

MODES = ("webhook", "polling")
CRD = REPO_ROOT / "crds" / "bundlerenewals.yaml"


@dataclass
class Options:
    sizes: list[int]
    modes: list[str]
    idle: int
    startup: int
    guide_threads: int
    guide_sample_sequential: int
    guide_sample_threads: int
    guide_poll_seconds: float
    timeout: float
    delete_timeout: float
    delete_sample: int
    profile: Profile
    workdir: Path
    json_path: Path | None
    render_path: Path | None


class Bench:
    """The processes of one run and the scenarios run on them."""

    def __init__(self, options: Options, plane: LocalControlPlane, sim: SimProcess) -> None:
        self.options = options
        self.plane = plane
        self.sim = sim
        self.kube = KubeCluster(
            kubeconfig_path=plane.endpoints.kubeconfig_path,
            server=plane.endpoints.server,
            admin_token=plane.endpoints.admin_token,
            local=True,
        )
        self.api = self.kube.api_client()
        self.api.configuration.connection_pool_maxsize = 16

    def operator(self, namespace: str, mode: str, *, settle: bool = True) -> OperatorProcess:
        """An operator with default settings but for where things are (and the webhook's
        address when on), watching this scenario's namespace only; started, live, and with
        `settle` a second later (its first list and watch in place)."""
        env = {
            "KUBECONFIG": str(self.kube.kubeconfig_path),
            "TWILIO_BASE_URL": self.sim.base_url,
            "WATCH_NAMESPACES": namespace,
        }
        if mode == "webhook":
            port = free_port()
            env |= {
                "WEBHOOK_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "WEBHOOK_HOST": "127.0.0.1",
                "WEBHOOK_PORT": str(port),
            }
        log = self.options.workdir / f"operator-{namespace}.log"
        process = OperatorProcess(env, log)
        process.start()
        if settle:
            time.sleep(1.0)  # its first (empty) list and watch in place
        return process

    def meter(self, operator: OperatorProcess) -> CpuMeter:
        assert operator.pid is not None
        return CpuMeter({"operator": operator.pid, **self.plane.pids, "twilio-sim": self.sim.pid})

    def run_operator(self, mode: str, account: FleetAccount) -> dict[str, Any]:
        n = len(account.originals)
        fleet = Fleet(self.api, f"fleet-{mode}-{n}")
        fleet.create_namespace({"accountSid": account.sid, "authToken": account.auth_token})
        operator = self.operator(fleet.namespace, mode)
        assert operator.pid is not None
        try:
            start_memory = memory(operator.pid)
            cpu = self.meter(operator)
            kube_before = scrape_requests(self.plane.endpoints)
            before = calls(self.sim.admin, account.sid)
            cpu.start()
            started = time.monotonic()
            fleet.create([fleet_kube.spec(sid) for sid in account.originals])
            done = fleet.wait_for_phase("Completed", n, self.options.timeout)
            seconds = time.monotonic() - started
            to_completed = decision_to_completed(
                fleet.last_renewals(), self.options.profile.review_seconds
            )
            used = cpu.stop()
            kube_after = scrape_requests(self.plane.endpoints)
            made = calls(self.sim.admin, account.sid).minus(before)
            end_memory = memory(operator.pid)
            problems = renewal_problems(self.sim.admin, account, made.copies_created)
            if done < n:
                problems.insert(0, f"{n - done} of {n} not Completed after {seconds:.0f} s")
            deletion = self.delete(fleet, account, n)
        finally:
            operator.stop()
        bound = bound_seconds(n, self.options.profile)
        return {
            "mode": mode,
            "renewals": n,
            "seconds": seconds,
            "bound_seconds": bound,
            "time_over_bound": seconds / bound,
            "decision_to_completed_seconds": to_completed,
            **per_renewal(made, n),
            "kube_writes_per_renewal": {
                k: v / n for k, v in writes_by_kind(kube_before, kube_after).items()
            },
            "kube_writes": describe(fleet_kube.writes(kube_before, kube_after)),
            "cpu_seconds_per_renewal": {k: v / n for k, v in used.items()},
            "memory_start": asdict(start_memory),
            "memory_end": asdict(end_memory),
            "deletion": deletion,
            "problems": problems,
        }

    def delete(self, fleet: Fleet, account: FleetAccount, n: int) -> dict[str, Any]:
        """Delete the fleet, or a sample of it when larger than ``delete_sample`` (its clean-up
        cost per resource depends on the account's size, not on how many go at once)."""
        sample = min(n, self.options.delete_sample)
        names = None if sample == n else [f"renewal-{i}" for i in range(sample)]
        kube_before = scrape_requests(self.plane.endpoints)
        before = calls(self.sim.admin, account.sid)
        started = time.monotonic()
        left = fleet.delete(names, self.options.delete_timeout)
        seconds = time.monotonic() - started
        made = calls(self.sim.admin, account.sid).minus(before)
        kube = fleet_kube.writes(kube_before, scrape_requests(self.plane.endpoints))
        return {
            "deleted": sample,
            "seconds": seconds,
            "left": left,
            "calls_per_resource": made.total / sample,
            "calls_by_route": {k: v / sample for k, v in sorted(made.by_route.items())},
            "kube_writes_per_resource": sum(kube.values()) / sample,
            "kube_writes": describe(kube),
        }

    def run_guide(self, account: FleetAccount, threads: int, renewals: int) -> dict[str, Any]:
        """The guide script on the account's originals (a sample of the N it stands for)."""

        def make_client() -> Client:
            client = Client(account.sid, account.auth_token)
            client.numbers.base_url = self.sim.base_url
            return client

        sampled = len(account.originals)
        before = calls(self.sim.admin, account.sid)
        run = guide_script.run(
            make_client, account.originals, threads, self.options.guide_poll_seconds
        )
        made = calls(self.sim.admin, account.sid).minus(before)
        problems = [
            *run.failures[:3],
            *renewal_problems(self.sim.admin, account, made.copies_created),
        ]
        return {
            "threads": threads,
            "renewals": renewals,
            "sampled": sampled,
            "sample_seconds": run.seconds,
            "seconds": run.seconds * renewals / sampled,
            **per_renewal(made, sampled),
            "problems": problems,
        }

    def run_startup(self, count: int) -> dict[str, Any]:
        """`count` suspended resources exist before the operator starts (as after an upgrade or
        a node loss): how long from starting its process until every one has a status (issue
        10's target: 30 s for 1,000; 715 of them still had none after 30 s, before)."""
        fleet = self.suspended_fleet("startup", count)
        fleet.create(suspended_specs(count))
        started = time.monotonic()
        operator = self.operator(fleet.namespace, "polling", settle=False)
        try:
            ready = time.monotonic() - started
            settled = fleet.wait_for_phase("Suspended", count, self.options.timeout)
            seconds = time.monotonic() - started
        finally:
            operator.stop()
        return {**settled_figures(count, settled, seconds), "ready_seconds": ready}

    def run_idle(self, count: int) -> dict[str, Any]:
        """Suspended resources (no Twilio call, no Secret read): what holding them costs."""
        fleet = self.suspended_fleet("idle", count)
        operator = self.operator(fleet.namespace, "polling")
        assert operator.pid is not None
        try:
            start_memory = memory(operator.pid)
            cpu = self.meter(operator)
            kube_before = scrape_requests(self.plane.endpoints)
            cpu.start()
            started = time.monotonic()
            fleet.create(suspended_specs(count))
            settled = fleet.wait_for_phase("Suspended", count, self.options.timeout)
            seconds = time.monotonic() - started
            used = cpu.stop()
            kube = fleet_kube.writes(kube_before, scrape_requests(self.plane.endpoints))
            end_memory = memory(operator.pid)
        finally:
            operator.stop()
        return {
            **settled_figures(count, settled, seconds),
            "memory_start": asdict(start_memory),
            "memory_end": asdict(end_memory),
            "kube_writes_per_resource": sum(kube.values()) / count,
            "kube_writes": describe(kube),
            "cpu_seconds_per_resource": {k: v / count for k, v in used.items()},
        }

    def suspended_fleet(self, scenario: str, count: int) -> Fleet:
        """The namespace of a fleet of suspended resources (credentials never read)."""
        fleet = Fleet(self.api, f"fleet-{scenario}-{count}")
        fleet.create_namespace({"accountSid": "AC" + "0" * 32, "authToken": "unused"})
        return fleet


def suspended_specs(count: int) -> list[dict[str, Any]]:
    return [fleet_kube.spec(f"BU{i:032x}", suspend=True) for i in range(count)]


def settled_figures(count: int, settled: int, seconds: float) -> dict[str, Any]:
    """A fleet of suspended resources: how many got their status (Suspended), in how long."""
    missing = [] if settled == count else [f"{count - settled} without a status"]
    return {"resources": count, "settled": settled, "seconds": seconds, "problems": missing}


def decision_to_completed(records: list[dict[str, Any]], review_seconds: float) -> dict[str, Any]:
    """From Twilio's decision to Completed, per renewal: the simulator decides `review_seconds`
    after the submission, so completedAt - submittedAt - review_seconds (within a request's
    latency of the truth: submittedAt is the operator's clock around the submit call)."""
    delays = sorted(
        (_instant(r["completedAt"]) - _instant(r["submittedAt"])).total_seconds() - review_seconds
        for r in records
        if r.get("completedAt") and r.get("submittedAt")
    )
    if not delays:
        return {"renewals": 0, "median": None, "p90": None}
    return {
        "renewals": len(delays),
        "median": statistics.median(delays),
        "p90": delays[min(len(delays) - 1, int(0.9 * len(delays)))],
    }


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)  # Python 3.11 reads the "Z" suffix


def per_renewal(made: CallSnapshot, n: int) -> dict[str, Any]:
    return {
        "calls_per_renewal": {k: v / n for k, v in sorted(made.by_route.items())},
        "calls_total_per_renewal": made.total / n,
        "calls_429_per_renewal": made.by_status[429] / n,
        "polls_per_renewal": made.polls / n,
    }


def run(options: Options, command: str) -> dict[str, Any]:
    began = time.monotonic()
    accounts: dict[tuple[str, int], FleetAccount] = {}
    with LocalControlPlane() as plane:
        sim = SimProcess(options.workdir / "twilio-sim.log", REPO_ROOT)
        try:
            sim.admin.set_config(**options.profile.sim_config())
            bench = Bench(options, plane, sim)
            bench.kube.kubectl("apply", "-f", str(CRD))
            bench.kube.kubectl(
                "wait", "--for=condition=Established", "crd/bundlerenewals.twilio-compliance.io"
            )
            for n in options.sizes:
                for mode in options.modes:
                    accounts[(mode, n)] = seed(sim.admin, n)
                accounts[("seq", n)] = seed(sim.admin, min(n, options.guide_sample_sequential))
                accounts[("threads", n)] = seed(sim.admin, min(n, options.guide_sample_threads))
            make_due(sim.admin, list(accounts.values()))
            ops, guides = [], []
            for n in options.sizes:
                for mode in options.modes:
                    ops.append(bench.run_operator(mode, accounts[(mode, n)]))
                    done = ops[-1]
                    progress(
                        f"operator {mode} {n}: {done['seconds']:.1f} s; deleting"
                        f" {done['deletion']['deleted']}: {done['deletion']['seconds']:.1f} s"
                    )
                guides.append(bench.run_guide(accounts[("seq", n)], 1, n))
                guides.append(bench.run_guide(accounts[("threads", n)], options.guide_threads, n))
                progress(
                    f"guide {n}: {guides[-2]['seconds']:.1f} s / {guides[-1]['seconds']:.1f} s"
                )
            startup = bench.run_startup(options.startup) if options.startup else None
            if startup is not None:
                progress(
                    f"start-up with {startup['resources']} resources: every status"
                    f" in {startup['seconds']:.1f} s"
                )
            idle = bench.run_idle(options.idle) if options.idle else None
            bench.api.close()  # type: ignore[no-untyped-call]
        finally:
            sim.stop()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "command": command,
        "profile": asdict(options.profile),
        "sizes": options.sizes,
        "guide_poll_seconds": options.guide_poll_seconds,
        "operator": ops,
        "guide": guides,
        "startup": startup,
        "idle": idle,
        "workdir": str(options.workdir),
        "wall_seconds": time.monotonic() - began,
    }


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def progress(message: str) -> None:
    print(f"[bench-fleet] {message}", file=sys.stderr, flush=True)


def parse(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--short", action="store_true",
                   help="CI size: 10 renewals, 100 idle, small guide samples")  # fmt: skip
    p.add_argument("--sizes", default="50,200,1000", help="fleet sizes N, comma-separated")
    p.add_argument("--modes", default=",".join(MODES), help="operator variants: webhook,polling")
    p.add_argument("--idle", type=int, default=10000, help="idle resources for memory (0: none)")
    p.add_argument("--startup", type=int, default=1000,
                   help="resources in place when the operator starts (0: none)")  # fmt: skip
    p.add_argument("--guide-threads", type=int, default=10)
    p.add_argument("--guide-sample-sequential", type=int, default=10)
    p.add_argument("--guide-sample-threads", type=int, default=100)
    p.add_argument("--guide-poll-seconds", type=float, default=0.5)
    p.add_argument("--latency-ms", type=float, default=100.0)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--review-seconds", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=3600.0, help="per fleet, seconds")
    p.add_argument("--delete-timeout", type=float, default=1800.0, help="per fleet, seconds")
    p.add_argument("--delete-sample", type=int, default=200,
                   help="larger fleets delete only this many of their resources")  # fmt: skip
    p.add_argument("--workdir", type=Path, default=None, help="logs (default: a new temp dir)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--render", type=Path, default=None, metavar="JSON",
                   help="run nothing: print the report of a run saved with --json")  # fmt: skip
    a = p.parse_args(argv)
    if a.short:
        a.sizes, a.idle, a.guide_sample_sequential, a.guide_sample_threads = "10", 100, 3, 10
        a.startup = min(a.startup, 50)
        a.timeout, a.delete_timeout = min(a.timeout, 300), min(a.delete_timeout, 300)
    modes = [m for m in a.modes.split(",") if m]
    if not set(modes) <= set(MODES):
        p.error(f"--modes: choose from {', '.join(MODES)}")
    workdir = Path(".")  # --render writes nothing
    if a.render is None:
        workdir = a.workdir or Path(tempfile.mkdtemp(prefix="bench-fleet-"))
        workdir.mkdir(parents=True, exist_ok=True)
    return Options(
        sizes=[int(s) for s in a.sizes.split(",") if s],
        modes=modes,
        idle=a.idle,
        startup=a.startup,
        guide_threads=a.guide_threads,
        guide_sample_sequential=a.guide_sample_sequential,
        guide_sample_threads=a.guide_sample_threads,
        guide_poll_seconds=a.guide_poll_seconds,
        timeout=a.timeout,
        delete_timeout=a.delete_timeout,
        delete_sample=a.delete_sample,
        profile=Profile(a.latency_ms, a.concurrency, a.review_seconds),
        workdir=workdir,
        json_path=a.json,
        render_path=a.render,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    if options.render_path is not None:
        print(render(json.loads(options.render_path.read_text())))
        return 0
    command = "python -m bench.fleet " + " ".join(sys.argv[1:] if argv is None else argv)
    progress(f"logs in {options.workdir}")
    # The operators inherit this environment: a setting left in it would void "defaults".
    for name in OperatorSettings.model_fields:
        if os.environ.pop(name.upper(), None) is not None:
            progress(f"ignoring {name.upper()} from the environment: operators run on defaults")
    results = run(options, command.strip())
    print(render(results))
    if options.json_path is not None:
        options.json_path.write_text(json.dumps(results, indent=2) + "\n")
    scenarios = [results[name] for name in ("startup", "idle") if results.get(name)]
    failed = [r for r in [*results["operator"], *results["guide"], *scenarios] if r["problems"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
