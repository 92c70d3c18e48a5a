"""The reconcile engine: gather -> decide -> act, for one resource at a time.

reconcile.py runs the loop: observe.py (the gatherer) reads what the workflow asks for,
controller.core.workflow decides, actions.py (the runner, with its own guard and
write_budget.py) writes. spec_values.py resolves attribute values (Secrets included),
credentials.py the Twilio credentials, regulation_cache.py caches regulations,
original_callback.py registers status callbacks. accounts/ holds a ComplianceAccount's reads and
decisions. No Kopf here: the operator layer above wires this engine to events.
"""
