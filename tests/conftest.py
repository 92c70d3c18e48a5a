"""Shared pytest configuration: plugins every test tier may use.

tests/sim_fixtures.py provides the Twilio simulator fixtures (``sim``, ``callback_receiver``).
"""

pytest_plugins = ["tests.sim_fixtures"]
