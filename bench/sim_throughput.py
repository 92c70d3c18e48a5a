"""Throughput of the Twilio simulator on loopback: ``make bench-sim``.

Starts ``python -m twilio_sim`` as its own process, seeds approved bundles through the admin API,
then drives it from this process with concurrent aiohttp requests, a mix of fetch (60%),
list (25%) and create (15%) calls with Basic auth, for a bounded count and time. Prints
requests/s and latency percentiles; exits 1 below ``--min-rps`` (default 1000).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import statistics
import subprocess
import sys
import time

import aiohttp

from twilio_sim.admin_client import AdminClient
from twilio_sim.server import free_port

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-token"
RC = "/v2/RegulatoryCompliance"


async def drive(base: str, bundles: list[str], total: int, seconds: float, concurrency: int
                ) -> tuple[int, int, float, list[float]]:  # fmt: skip
    rng = random.Random(7)
    token = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    latencies: list[float] = []
    failures = 0
    sent = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as session:
        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            nonlocal sent, failures
            while sent < total and time.perf_counter() < deadline:
                sent += 1
                roll = rng.random()
                t0 = time.perf_counter()
                if roll < 0.60:
                    req = session.get(f"{RC}/Bundles/{rng.choice(bundles)}")
                elif roll < 0.85:
                    req = session.get(f"{RC}/Bundles", params={"PageSize": "20"})
                else:
                    req = session.post(
                        f"{RC}/EndUsers",
                        data={"FriendlyName": "bench", "Type": "business",
                              "Attributes": '{"business_name": "Bench SAS"}'},
                    )  # fmt: skip
                async with req as resp:
                    await resp.read()
                    if resp.status >= 400:
                        failures += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return len(latencies), failures, elapsed, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=30000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--bundles", type=int, default=200)
    parser.add_argument("--min-rps", type=float, default=1000.0)
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "twilio_sim", "--port", str(port), "--log-level", "WARNING",
         "--account", f"{ACCOUNT_SID}:{AUTH_TOKEN}"],
    )  # fmt: skip
    try:
        admin = AdminClient(f"http://127.0.0.1:{port}")
        admin.wait_ready(timeout=30)
        bundles = [
            admin.seed_approved_bundle(ACCOUNT_SID, phone_numbers=1)["bundle_sid"]
            for _ in range(args.bundles)
        ]
        # Warm-up, then the measured run.
        asyncio.run(drive(admin.base_url, bundles, 500, 5, args.concurrency))
        done, failures, elapsed, lat = asyncio.run(
            drive(admin.base_url, bundles, args.requests, args.seconds, args.concurrency)
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    rps = done / elapsed
    q = statistics.quantiles(lat, n=100)
    print(
        f"twilio-sim throughput: {done} requests in {elapsed:.2f} s = {rps:.0f} req/s "
        f"(concurrency {args.concurrency}, mix 60% fetch / 25% list / 15% create, "
        f"{failures} errors); latency p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms"
    )
    if failures:
        print("FAIL: some requests failed", file=sys.stderr)
        return 1
    if rps < args.min_rps:
        print(f"FAIL: below {args.min_rps:.0f} req/s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
