"""The pure core: the operator's vocabulary and every decision, with no I/O.

models/ (the CRDs' spec and status, phases and reasons), twilio_models.py (what Twilio answers),
plan/ (observations and the actions a decision may name), workflow/ (the renewal as a pure
function to the next action), conditions.py, parsing.py, crd_schema.py, settings.py, backoff.py,
bundle_owners.py. No Kopf, Kubernetes client, Twilio SDK or HTTP here (import-linter enforces
it); `now` and the policy are arguments. See docs/architecture.md and
docs/design/pure-workflow.md.
"""
