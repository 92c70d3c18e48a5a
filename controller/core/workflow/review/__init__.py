"""Twilio's review of the copy, and every rule the operator follows around it, in one place.

1. **Submit only what Twilio found compliant** (submit.py): the copy is evaluated after the last
   write to it; a noncompliant evaluation is NeedsInput (Stalled) and is reused, not asked for
   again, while nothing changes. A compliant one is submitted; the copy's items are recorded then
   (`status.replacedObjectSids`), since a submitted copy cannot change.
2. **Wait economically** (in_review.py): a copy in review is polled after a quarter of the time
   already waited, within POLL_INTERVAL_SECONDS and POLL_INTERVAL_MAX_SECONDS, and no later than
   just after the original's valid_until. A status callback wakes the wait early.
3. **A rejection stops and says why** (in_review.py `rejected`): phase Rejected, Stalled, with
   each document's failure_reason in `status.review.failureReasons`. Nothing is resubmitted on
   its own.
4. **Resubmit only a changed copy** (in_review.py `resubmission_wanted`, with edit.py): after a
   spec change the same copy is patched; it is resubmitted only if the patch changed it (or a
   new spec.renewalRequest asks), so an unchanged copy never asks for another review.
5. **A submission of unknown content is compared again**: a crash can keep a submission out of
   status; then `review.submittedGeneration` stays unset and the spec is compared with the
   original once the copy is in it (replace.py), so an edit made meanwhile is not taken for
   applied.

After approval, replace.py moves the copy's items into the original. The reasons these steps
give (Evaluating, NeedsInput, Submitting, InReview, Rejected, Approved) and their texts are in
controller/core/models/reasons.py.
"""
