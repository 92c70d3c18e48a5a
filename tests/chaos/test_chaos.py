"""The chaos run (issue 11): renewals over several accounts and namespaces while Twilio fails
(429s, 500s, dropped connections, latency), the operator is SIGKILLed and restarted, and the
control plane is restarted; a few renewals are rejected by the test's reviewer and fixed
through their spec. Afterwards nothing may be lost: every renewal completed, one copy per
original, no write to an original but ReplaceItems, no copy left, phone numbers unchanged, no
credential or value anywhere outside the spec and the Secrets. Nor may the operator's log hold
a traceback or a Kopf "failed with an exception": every fault here is one it expects.

A fault-free baseline runs first (same operator, same kind of bundles, no fault, kill or
restart) to compare Twilio requests per completed renewal; the long run (``make chaos``)
asserts the ratio, the short one (the default, in CI) reports it. Sizes and rates:
tests/chaos/settings.py; the figures show in pytest's ``measurements`` summary.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from devtools.controlplane import LocalControlPlane
from devtools.controlplane.testing import KubeCluster
from devtools.operator_runner import OperatorProcess
from tests.chaos import checks
from tests.chaos.cluster_view import ClusterView, Key, key, phase, unfinished
from tests.chaos.disruptions import Disruptor, restart_cost
from tests.chaos.figures import (
    faults_by_kind,
    per_renewal,
    requests_by_account,
    where_the_extra_goes,
)
from tests.chaos.fleet import Fleet, create_namespaces_and_secrets, seed_fleet
from tests.chaos.reviewer import Reviewer
from tests.chaos.settings import ChaosSettings
from tests.integration.operator_fixtures import FAST_SETTINGS
from tests.measurements import report
from tests.sim_fixtures import Sim

pytestmark = pytest.mark.integration  # a control plane of its own (conftest.py)

BASELINE_TIMEOUT = 120.0
# Successful Twilio writes of a renewal: create the copy, update its end-user and excerpt,
# evaluate, submit, ReplaceItems, delete the copy; a rejection adds an update, an evaluation and
# a submission. They scale the disruptions' schedule (tests/chaos/disruptions.py).
WRITES = 7
REWRITES = 3
# Lines of the operator log's tracebacks shown (the summary and the failure): a defect that
# throws on every resource would otherwise print hundreds of the same line.
SHOWN = 20


def _operator(kube: KubeCluster, sim: Sim, fleet: Fleet, log: Path) -> OperatorProcess:
    """The operator watching the fleet's namespaces. A Ready renewal's hourly light check keeps
    its production interval: at the tests' 30 s it would add reads that depend on how long the
    run lasts, not on what the renewals needed."""
    env = {
        **FAST_SETTINGS,
        "LIGHT_CHECK_INTERVAL_SECONDS": "3600",
        "KUBECONFIG": str(kube.kubeconfig_path),
        "WATCH_NAMESPACES": ",".join(fleet.namespaces),
        "TWILIO_BASE_URL": sim.base_url,
    }
    return OperatorProcess(env, log)


def _wait_completed(view: ClusterView, reviewer: Reviewer, keys: set[Key], timeout: float) -> float:
    started = time.monotonic()
    objects: dict[Key, dict[str, Any]] = {}
    while time.monotonic() - started < timeout and reviewer.error is None:
        objects = {k: v for k, v in (view.objects() or objects).items() if k in keys}
        if not unfinished(objects, keys):
            return time.monotonic() - started
        time.sleep(0.25)
    lines = unfinished(objects, keys)
    raise AssertionError(
        "\n".join([f"the baseline did not complete within {timeout:.0f} s:", *lines])
        + f"\nreviews pending: {reviewer.pending()}"
    ) from reviewer.error


def test_renewals_survive_twilio_faults_operator_kills_and_an_apiserver_restart(
    chaos_plane: LocalControlPlane, chaos_kube: KubeCluster, chaos_sim: Sim, tmp_path: Path
) -> None:
    settings = ChaosSettings.from_env()
    report("chaos: settings", settings.describe())
    rng = random.Random(settings.seed)
    sim = chaos_sim
    fleet = seed_fleet(sim, settings, rng)
    log = tmp_path / "operator.log"
    with chaos_kube.api_client() as api:
        view = ClusterView(api)
        create_namespaces_and_secrets(view.core, fleet)
        operator = _operator(chaos_kube, sim, fleet, log)
        reviewer = Reviewer(sim.admin, view, fleet.renewals("baseline-by-hand", "chaos-by-hand"))
        operator.start()
        reviewer.start()
        try:
            baseline = fleet.renewals("baseline-auto", "baseline-by-hand")
            for renewal in baseline:
                view.create(renewal)
            baseline_seconds = _wait_completed(
                view, reviewer, {key(r) for r in baseline}, BASELINE_TIMEOUT
            )
            baseline_stats = sim.stats()
            baseline_counts = requests_by_account(baseline_stats)

            sim.set_config(
                faults={
                    "rate_limit_rate": settings.rate_limit_rate,
                    "error_rate": settings.error_rate,
                    "drop_rate": settings.drop_rate,
                },
                latency={"distribution": "exponential", "mean_ms": settings.latency_ms},
            )
            chaos = fleet.renewals("chaos-auto", "chaos-by-hand")
            disruptor = Disruptor(settings, rng, operator, chaos_plane, view, reviewer, sim)
            for renewal in chaos:
                view.create(renewal)
            accounts = {
                a.sid for g in ("chaos-auto", "chaos-by-hand") for a in fleet.groups[g].accounts
            }
            least = WRITES * len(chaos) + REWRITES * settings.rejections
            disruptor.drive({key(r) for r in chaos}, accounts, least)
            sim.set_config(faults={"rate_limit_rate": 0, "error_rate": 0, "drop_rate": 0})
            final_stats = sim.stats()
            restart = restart_cost(operator, sim)
        finally:
            reviewer.stop()
            operator.stop()
        tally = disruptor.tally

        every = fleet.renewals(*fleet.groups)
        write_problems, original_writes = checks.writes_to_originals(sim, every)
        lost = {
            "not completed": checks.completed(view, every),
            "writes to originals": write_problems,
            "originals": checks.originals_renewed(sim, fleet),
            "leaks": checks.leaks(view, fleet, log),
        }
        escaped = checks.escaped_exceptions(log, fleet)
        done = {name for (_, name), o in (view.objects() or {}).items() if phase(o) == "Completed"}

    final_counts = requests_by_account(final_stats)
    figures = per_renewal(baseline_counts, final_counts, fleet.groups, done)
    faults = faults_by_kind(
        final_stats, [fleet.groups["chaos-auto"], fleet.groups["chaos-by-hand"]]
    )
    chaos_requests = figures.chaos_total
    report(
        "chaos: renewals",
        f"{len(chaos)} under chaos ({len(fleet.groups['chaos-by-hand'].renewals)} rejected once "
        f"and fixed through the spec) in {settings.accounts + 1} accounts and "
        f"{settings.namespaces} namespaces, "
        f"{'given up after' if tally.unfinished else 'completed in'} {tally.seconds:.1f} s; "
        f"{len(baseline)} fault-free first, in {baseline_seconds:.1f} s",
    )
    report(
        "chaos: faults injected (Twilio answers)",
        f"{faults['429']} x 429, {faults['500']} x 500, {faults['dropped']} dropped "
        f"of {chaos_requests} requests ({sum(faults.values()) / chaos_requests:.1%}); "
        f"latency exponential, mean {settings.latency_ms:.0f} ms",
    )
    outages = ", ".join(f"{s:.1f} s" for s in tally.apiserver_outage_seconds) or "-"
    report(
        "chaos: disruptions",
        f"{tally.kills} operator SIGKILLs (restarted each time), {tally.apiserver_restarts} "
        f"control-plane restarts (out {outages}), "
        f"{tally.unexpected_exits} unexpected operator exits",
    )
    for line in tally.timeline:
        report("chaos: timeline", line)
    for line in figures.lines():
        report("chaos: Twilio requests per completed renewal", line)
    everyone = len(every)
    report(
        "chaos: one more operator restart afterwards (not counted above), no fault",
        f"{sum(restart.values())} Twilio requests for {everyone} BundleRenewals "
        f"({sum(restart.values()) / everyone:.2f} each): "
        + ", ".join(f"{n} {route}" for route, n in sorted(restart.items())),
    )
    for line in where_the_extra_goes(baseline_stats, final_stats, fleet.groups, done):
        report("chaos: requests per renewal (automatic review) by route", line)
    report("chaos: writes under the originals' paths", str(dict(original_writes)))
    report(
        "chaos: lost",
        ", ".join(f"{what}: {len(problems)}" for what, problems in lost.items()),
    )
    report(
        "chaos: operator log (every start)",
        f"{len(escaped)} tracebacks or Kopf 'failed with an exception' lines",
    )
    for line in escaped[:SHOWN]:
        report("chaos: operator log", line)

    assert {what: problems for what, problems in lost.items() if problems} == {}, "\n".join(
        tally.unfinished
    )
    assert escaped == [], f"{len(escaped)} escaped exceptions in {log}:\n" + "\n".join(
        escaped[:SHOWN]
    )
    assert tally.unexpected_exits == 0, tally.timeline
    assert tally.events_left == [], "the renewals completed before these disruptions fired"
    assert tally.kills == settings.kills
    assert tally.apiserver_restarts == settings.apiserver_restarts
    assert faults["429"] > 0, faults  # the faults did happen
    assert faults["500"] > 0, faults
    if settings.assert_ratio:
        assert figures.ratio <= settings.max_ratio, figures.lines()
