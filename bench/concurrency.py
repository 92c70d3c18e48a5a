"""Fixed-4 FIFO against the adaptive limit with priorities: ``python bench/concurrency.py``.

K logical renewals of M sequential requests each (fetch_bundle) go through the real gateway
factory to the Twilio simulator, started as its own process with a constant latency (100 ms)
and a per-account cap (100 concurrent requests, 429 / 20429 beyond it), once per mode:

- fixed-4 FIFO: the operator before issue 10 (TWILIO_CONCURRENCY_PER_ACCOUNT=4, one queue);
- adaptive FIFO: the AIMD limit (8 up to `--ceiling`, 100), no priority (an unwired caller);
- adaptive + priority: the same, each renewal's gateway with the time the renewal began.

Prints, side by side, the total time, the time to the first and to the median completed
renewal, the 429s the simulator answered, the errors that reached a renewal, the largest limit
seen and how often it was cut, then the ratios of fixed-4 FIFO to adaptive + priority. Retries
are the gateway's defaults (4 attempts, full jitter from 0.5 s), as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Measure the checkout this file is in, not whichever one the virtualenv installed.
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from controller.adapters.twilio_gateway.config import GatewaySettings  # noqa: E402
from controller.adapters.twilio_gateway.factory import SdkTwilioGatewayFactory  # noqa: E402
from controller.adapters.twilio_gateway.port import TwilioCredentials  # noqa: E402
from twilio_sim.admin_client import AdminClient  # noqa: E402
from twilio_sim.server import free_port  # noqa: E402

ACCOUNT_SID = "AC" + "c" * 32
AUTH_TOKEN = "bench-token"
CREDENTIALS = TwilioCredentials(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)


@dataclass
class Mode:
    name: str
    settings: GatewaySettings
    prioritised: bool


@dataclass
class Result:
    total: float
    completions: list[float]
    too_many: int
    errors: int
    peak_limit: int
    cuts: int


async def run(base_url: str, bundle_sid: str, mode: Mode, renewals: int, requests: int) -> Result:
    factory = SdkTwilioGatewayFactory(mode.settings.model_copy(update={"base_url": base_url}))
    slots = factory.limiter_for(ACCOUNT_SID)
    peak = slots.limit
    completions: list[float] = []
    start = time.perf_counter()

    async def renewal() -> None:
        began = time.time()
        gateway = factory.for_credentials(CREDENTIALS, priority=began if mode.prioritised else None)
        for _ in range(requests):
            await gateway.fetch_bundle(bundle_sid)
        completions.append(time.perf_counter() - start)

    async def watch_limit() -> None:
        nonlocal peak
        while True:
            peak = max(peak, slots.limit)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch_limit())
    try:
        outcomes = await asyncio.gather(
            *(renewal() for _ in range(renewals)), return_exceptions=True
        )
    finally:
        watcher.cancel()
        await factory.close()
    total = time.perf_counter() - start
    errors = sum(isinstance(outcome, BaseException) for outcome in outcomes)
    return Result(total, sorted(completions), 0, errors, peak, slots.generation)


def first(result: Result) -> float:
    return result.completions[0] if result.completions else float("nan")


def median(result: Result) -> float:
    return statistics.median(result.completions) if result.completions else float("nan")


def answered_429(stats: dict[str, Any]) -> int:
    return sum(row["count"] for row in stats["requests"] if row["status"] == 429)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renewals", type=int, default=300, help="K logical renewals")
    parser.add_argument("--requests", type=int, default=10, help="M sequential requests each")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--cap", type=int, default=100, help="simulator's per-account cap")
    parser.add_argument(
        "--ceiling", type=int, default=100, help="TWILIO_CONCURRENCY_PER_ACCOUNT of the adaptive"
    )
    args = parser.parse_args()
    adaptive = GatewaySettings(max_concurrent_requests_per_account=args.ceiling)

    modes = [
        Mode(
            "fixed-4 FIFO",
            GatewaySettings(max_concurrent_requests_per_account=4, adaptive_concurrency=False),
            prioritised=False,
        ),
        Mode("adaptive FIFO", adaptive, prioritised=False),
        Mode("adaptive + priority", adaptive, prioritised=True),
    ]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "twilio_sim", "--port", str(port), "--log-level", "WARNING",
         "--account", f"{ACCOUNT_SID}:{AUTH_TOKEN}"],
        cwd=REPO_ROOT,
    )  # fmt: skip
    results: dict[str, Result] = {}
    try:
        admin = AdminClient(f"http://127.0.0.1:{port}")
        admin.wait_ready(timeout=30)
        bundle_sid = admin.seed_approved_bundle(ACCOUNT_SID, phone_numbers=1)["bundle_sid"]
        admin.set_config(
            latency={"distribution": "constant", "mean_ms": args.latency_ms},
            max_concurrent_requests_per_account=args.cap,
        )
        for mode in modes:
            before = answered_429(admin.stats())
            result = asyncio.run(
                run(admin.base_url, bundle_sid, mode, args.renewals, args.requests)
            )
            result.too_many = answered_429(admin.stats()) - before
            results[mode.name] = result
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(
        f"{args.renewals} renewals x {args.requests} sequential fetch_bundle, simulator latency "
        f"{args.latency_ms:.0f} ms, 429 beyond {args.cap} concurrent requests per account; "
        f"adaptive limit from 8 up to {args.ceiling}"
    )
    header = f"{'':22}" + "".join(f"{name:>22}" for name in results)
    print(header)
    rows = {
        "total (s)": [f"{r.total:.2f}" for r in results.values()],
        "first renewal done (s)": [f"{first(r):.2f}" for r in results.values()],
        "median renewal done (s)": [f"{median(r):.2f}" for r in results.values()],
        "429s answered": [str(r.too_many) for r in results.values()],
        "errors to renewals": [str(r.errors) for r in results.values()],
        "largest limit": [str(r.peak_limit) for r in results.values()],
        "limit cuts": [str(r.cuts) for r in results.values()],
    }
    for label, cells in rows.items():
        print(f"{label:22}" + "".join(f"{cell:>22}" for cell in cells))
    fixed, best = results["fixed-4 FIFO"], results["adaptive + priority"]
    print(
        f"fixed-4 FIFO / adaptive + priority: total {fixed.total / best.total:.1f}x, "
        f"first renewal {first(fixed) / first(best):.1f}x, "
        f"median renewal {median(fixed) / median(best):.1f}x"
    )
    return 1 if any(r.errors for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
