"""`make fuzz`: the renewal's simulation test (renewal_machine.py) for as long as it is given
(or until Ctrl-C), in batches of fresh random histories, then its figures: histories, steps,
reconciles, Twilio requests, faults injected by kind, invariant checks, and their rates per
hour. A failure stops the run with Hypothesis's shrunk example, ready to keep as a regression
test
(test_renewal_machine.py).

    python -m tests.unit.engine.fuzz_renewals --minutes 60 [--steps 50] [--batch 500]
"""

from __future__ import annotations

import argparse
import sys
import time

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.unit.engine.renewal_machine import TOTALS, RenewalMachine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--steps", type=int, default=50, help="rules per history, at most")
    parser.add_argument("--batch", type=int, default=500, help="histories per Hypothesis run")
    args = parser.parse_args(argv)
    profile = settings(
        max_examples=args.batch,
        stateful_step_count=args.steps,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    start = time.monotonic()
    end = start + args.minutes * 60
    failed = False
    try:
        while time.monotonic() < end:
            run_state_machine_as_test(RenewalMachine, settings=profile)
    except KeyboardInterrupt:
        pass  # Ctrl-C: the figures so far
    except Exception:
        failed = True
        raise
    finally:
        _print_figures(time.monotonic() - start, failed)
    return 0


def _print_figures(seconds: float, failed: bool) -> None:
    hours = seconds / 3600
    t = TOTALS
    print(f"\nmake fuzz: {'FAILED' if failed else 'passed'} after {seconds:.0f} s", file=sys.stderr)
    for label, value in (
        ("histories", t.histories),
        ("steps (rules run)", t.steps),
        ("reconciles", t.reconciles),
        ("Twilio requests", t.requests),
        ("renewals completed at settling", t.completed),
        ("invariant checks", t.invariant_checks),
    ):
        print(f"  {label:34} {value:>10,}  ({value / hours:,.0f} per hour)", file=sys.stderr)
    for kind, count in sorted(t.faults.items()):
        print(f"  fault: {kind:27} {count:>10,}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
