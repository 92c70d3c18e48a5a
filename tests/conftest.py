"""Shared pytest configuration: plugins and options every test tier may use.

tests/measurements.py shows the figures tests ``report()`` at the end of the session.
tests/sim_fixtures.py provides the Twilio simulator fixtures (``sim``, ``callback_receiver``).
tests/integration/operator_fixtures.py provides the operator process fixtures (``operator``,
``operator_factory``, ``renewals``, ``crd``) on top of tests/integration/conftest.py's cluster.
``--kubeconfig`` is declared here, at the root, so ``pytest --kubeconfig=...`` works from the
repository root as well as for ``pytest tests/integration``.
"""

import pytest

pytest_plugins = [
    "tests.measurements",
    "tests.sim_fixtures",
    "tests.integration.operator_fixtures",
    "tests.integration.cli_helpers",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kubeconfig",
        default=None,
        help="run the integration tests against the cluster this kubeconfig names instead of "
        "a local control plane (BRO_TEST_KUBECONFIG does the same; KUBECONFIG is ignored)",
    )
