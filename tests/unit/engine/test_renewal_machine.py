"""The renewal's simulation test (renewal_machine.py) at CI size: a fixed number of generated
histories, derandomised, so every run tries the same ones; then every failure the machine found,
shrunk by Hypothesis, kept as a regression test. `make fuzz` runs the same machine for as long
as it is given, with fresh random histories."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from tests.unit.engine.renewal_machine import RenewalMachine

HISTORIES = 2500
"""CI's budget: about two minutes on one core. It finds each bug re-introduced for issue 21 (the
rejected-copy crash window took the most histories; docs/development/simulation-testing.md)."""

TestRenewalMachine = RenewalMachine.TestCase
TestRenewalMachine.settings = settings(
    max_examples=HISTORIES,
    stateful_step_count=50,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_a_rejection_never_recorded_is_still_resubmitted_once_patched() -> None:
    """Found by the machine (2026-12-07; shrunk by hand from its example): the status recording
    the submission was never written (the API server did not take it, then the operator was
    restarted), so status.review was empty when Twilio rejected the copy; the patch of the
    rejected copy for a new spec was then not recorded either, and after a crash right after it
    the copy matched the spec and stayed Rejected for ever. Fixed in workflow/edit.py: the patch
    is recorded (a checkpoint) with or without a review on record."""
    state = RenewalMachine()
    state.first_renewal()
    state.reconcile_status_write_fails(at=2, early=False, index=0)  # the submission's status
    state.operator_restarts()
    state.twilio_reviews(decision="reject")
    state.edit_spec(index=0, variant="c", dies_after=None)
    state.reconcile_and_crash(after_writes=1, early=False, index=0)  # right after the patch
    state.teardown()


def test_a_spec_edited_during_a_review_the_status_lost_is_applied_after_it() -> None:
    """Found by the machine (2026-12-07; its two shrunk examples come down to this): the
    operator crashed right after submitting the copy (its 9th write), so no status recorded the
    submission or the evaluation; the spec was edited during the review. On approval the
    adopted submission was taken for the new generation's: Completed, with the original holding
    the old values for good. Fixed in workflow/review/in_review.py and replace.py: a submission of
    unknown generation leaves applied_generation unset, and the spec is compared with the
    original again (here: a second renewal, which applies it)."""
    state = RenewalMachine()
    state.first_renewal()
    state.reconcile_and_crash(after_writes=9, early=False, index=0)  # right after the submit
    state.edit_spec(index=0, variant="b", dies_after=None)
    state.reconcile(index=0, early=False)  # adopts the submission in review
    (renewal,) = state.renewals.values()
    record = renewal.status.history[0]
    assert record.submitted_at is not None
    assert record.generation == 1  # the renewal's, not a guess that generation 2 was submitted
    state.teardown()  # settles with Twilio approving; Completed must mean the spec is applied
