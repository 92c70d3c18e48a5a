"""`make demo` (`python -m devtools.demo`): __main__.py chooses local.py (one machine) or kind.py;
seeding.py prepares the simulated Twilio, watch.py follows the examples, common.py is shared."""
