"""The operator process for integration tests: scripts/operator_runner.py's, which `make demo`
runs too, so the demo and the tests start, wait for and stop the operator the same way.

Test modules import it from here (tests.integration.operator_process).
"""

from __future__ import annotations

from operator_runner import REPO_ROOT, OperatorProcess, running_operator

__all__ = ["REPO_ROOT", "OperatorProcess", "running_operator"]
