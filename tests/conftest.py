"""Shared pytest configuration: plugins every test tier may use.

tests/sim_fixtures.py provides the Twilio simulator fixtures (``sim``, ``callback_receiver``).
tests/integration/operator_fixtures.py provides the operator process fixtures (``operator``,
``operator_factory``, ``renewals``, ``crd``) on top of tests/integration/conftest.py's cluster.
"""

pytest_plugins = ["tests.sim_fixtures", "tests.integration.operator_fixtures"]
