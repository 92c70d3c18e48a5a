"""The renewal workflow as a pure decision: (resource, observation, now, policy) -> Decision.

Level-triggered: every reconcile starts from an empty Observation, and the workflow asks (through
`Observe` actions) for exactly the Twilio reads the current step needs, then names one write at a
time. Status is a record of what was seen and done, never the source of truth about Twilio: a
crash after any write is recovered by observing Twilio again (the copy is found by its marker,
its status says whether it was submitted, an approved copy without items was already replaced).
No I/O, no clock, no environment: `now` and `policy` are arguments.

One module a step: entry.py (the order in which the situation is read), at_rest.py, copies.py
(with preflight.py before a copy is made), edit.py with end_user.py and documents.py, review/
(submit.py, in_review.py: the review's rules, in one place), replace.py, cleanup.py, failures.py,
dry_run.py, restart.py (what a restart may take on trust); status.py and context.py are the
helpers every step shares. A step that may end the decision says so in its return type
(`... | Decision`).

Why a pure function: docs/design/pure-workflow.md.
"""

from controller.core.workflow.at_rest import renewal_due_reasons
from controller.core.workflow.cleanup import decide_cleanup
from controller.core.workflow.entry import decide
from controller.core.workflow.failures import backoff_delay, decide_invalid_spec, on_error
from controller.core.workflow.history import in_flight
from controller.core.workflow.restart import settled_for

__all__ = [
    "backoff_delay",
    "decide",
    "decide_cleanup",
    "decide_invalid_spec",
    "in_flight",
    "on_error",
    "renewal_due_reasons",
    "settled_for",
]
