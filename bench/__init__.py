"""Benchmarks: measured here and printed side by side, never asserted as timed tests.

``make bench-sim`` (sim_throughput.py) and ``make bench-fleet`` (fleet.py); run them from the
repository root as modules (``python -m bench.fleet``) so that this checkout's packages load.
"""
