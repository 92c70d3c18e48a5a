"""spec.dryRun: everything up to, and excluding, the first write a person would have to undo.

A dry run reads the original bundle, its end-user and documents, and what its regulation accepts
(the preflight), and asks Twilio for an evaluation of the original: creating an evaluation of an
approved bundle changes nothing at Twilio but its list of evaluations (the CLI's `scan` does the
same), and it tells what the regulation finds missing today. No copy is made, nothing is
submitted, and a renewal already in flight is left where it is.

It reports, in status.dryRun, names only: what a renewal would change (compared with the
original as at_rest.spec_changes compares it), whether one would start now and why, what the
regulation does not accept, and what would still be missing (the evaluation's failures the spec
does not provide). It is re-checked at every light check and on every spec change, so the report
follows the spec and the regulation. Phase DryRun, Ready=True (the report is current: GitOps
tools waiting on Ready carry on), unless the preflight refuses the spec: then Stalled with
SpecNotAccepted, as a real renewal would be. Turning dryRun off renews for real.
"""

from __future__ import annotations

from controller.core.models import (
    BundleRenewalStatus,
    DryRunStatus,
    EvaluationFailure,
    Phase,
    PlannedChange,
    Reason,
    document_key,
)
from controller.core.plan import Decision, EvaluateOriginal, ObservationPart, RegulationTerms
from controller.core.twilio_models import Bundle, BundleStatus
from controller.core.workflow.at_rest import original_not_approved, renewal_due_reasons
from controller.core.workflow.context import Context
from controller.core.workflow.documents import find_document, merge
from controller.core.workflow.preflight import not_accepted, refusal_message
from controller.core.workflow.review.submit import evaluation_failures
from controller.core.workflow.status import failed, finish, normal

Part = ObservationPart

END_USER = "endUser"


def dry_run(ctx: Context, status: BundleRenewalStatus, original: Bundle) -> Decision:
    """The dry run's report for the original as observed (its reads and the evaluation of the
    original first)."""
    if original.status != BundleStatus.TWILIO_APPROVED:
        status = status.model_copy(update={"dry_run": None})
        return original_not_approved(ctx, status, original)
    spec = ctx.spec
    parts = [Part.REGULATION]
    if spec.end_user is not None and spec.end_user.attributes:
        parts += [Part.ORIGINAL_ITEMS, Part.ORIGINAL_END_USER]
    if spec.supporting_documents:
        parts += [Part.ORIGINAL_ITEMS, Part.ORIGINAL_DOCUMENTS]
    if (observe := ctx.need(*parts, status=status)) is not None:
        return observe
    changes = planned_changes(ctx, status)
    if isinstance(changes, Decision):
        return changes
    refused = not_accepted(ctx, status)
    if isinstance(refused, Decision):
        return refused
    evaluation = ctx.obs.original_evaluation
    if evaluation is None:
        # No phase change, no event: the one request of a dry run that is not a read.
        return Decision(action=EvaluateOriginal(bundle_sid=original.sid), status=status)

    terms = ctx.obs.regulation
    missing = still_missing(evaluation_failures(evaluation), ctx, terms)
    reasons = renewal_due_reasons(ctx.resource, original)
    if changes:
        reasons.append("the spec changes " + ", ".join(c.object for c in changes))
    report = DryRunStatus(
        checked_at=ctx.now,
        generation=ctx.generation,
        regulation_sid=original.regulation_sid,
        renewal_due=bool(reasons),
        reasons=reasons,
        changes=changes,
        missing=missing,
        not_accepted=[r.path for r in refused],
        evaluation_sid=evaluation.sid,
        original_compliant=evaluation.status == "compliant",
    )
    status = status.model_copy(update={"dry_run": report})
    if refused:
        return failed(ctx, status, Reason.SPEC_NOT_ACCEPTED, refusal_message(terms, refused))
    message = _summary(report, status.copy_sid)
    status = ctx.state(status, Phase.DRY_RUN, Reason.DRY_RUN, message, ready=True)
    return finish(
        ctx,
        status,
        event=normal(Reason.DRY_RUN, message),
        requeue_after=ctx.policy.check_interval,
    )


def planned_changes(ctx: Context, status: BundleRenewalStatus) -> list[PlannedChange] | Decision:
    """What a renewal would change in the original, object by object (its end-user and documents
    read), by field names and document keys as the copy would be patched; Stalled where the
    renewal would stop (an ambiguous entry, no end-user to carry the spec's attributes)."""
    spec, obs = ctx.spec, ctx.obs
    changes: list[PlannedChange] = []
    if spec.end_user is not None and spec.end_user.attributes:
        end_user = obs.original_end_user
        if end_user is None:
            # As the real renewal would stop, at the copy's (missing) end-user.
            message = f"bundle {spec.bundle_sid} has no end-user to carry spec.endUser.attributes"
            return failed(ctx, status, Reason.PERMANENT_ERROR, message)
        if changed := merge(end_user.attributes, spec.end_user.attributes)[1]:
            changes.append(PlannedChange(object=END_USER, action="update", fields=changed))
    for index, entry in enumerate(spec.supporting_documents):
        key = document_key(spec, index)
        target = find_document(ctx, status, entry, key, obs.original_documents, in_original=True)
        if isinstance(target, Decision):
            return target
        change = None
        if entry.remove:
            if target is not None:
                change = PlannedChange(object=key, type=entry.type, action="remove")
        elif target is None:
            fields = sorted(n for n, v in entry.attributes.items() if v is not None)
            change = PlannedChange(object=key, type=entry.type, action="create", fields=fields)
        elif changed := merge(target.attributes, entry.attributes)[1]:
            change = PlannedChange(object=key, type=entry.type, action="update", fields=changed)
        if change is not None:
            changes.append(change)
    return changes


def still_missing(
    failures: list[EvaluationFailure], ctx: Context, terms: RegulationTerms | None
) -> list[EvaluationFailure]:
    """The original's evaluation failures the spec does not provide, by name: an end-user field
    the spec sets, a document field set by a spec entry of a type the requirement accepts, or a
    whole document such an entry would create. Values are not compared (a field that must match
    the end-user's counts as provided once the spec sets it)."""
    spec = ctx.spec
    end_user_names = set()
    if spec.end_user is not None:
        end_user_names = {n for n, v in spec.end_user.attributes.items() if v is not None}
    documents: dict[str, set[str]] = {}
    for entry in spec.supporting_documents:
        if not entry.remove:
            names = {n for n, v in entry.attributes.items() if v is not None}
            documents.setdefault(entry.type, set()).update(names)
    end_user_types = {"business", "individual"}
    if terms is not None and terms.end_user_type:
        end_user_types.add(terms.end_user_type)

    def provided(failure: EvaluationFailure) -> bool:
        if failure.object_type in end_user_types:
            return failure.field is not None and failure.field in end_user_names
        types = terms.accepted_types_for(failure.requirement_name) if terms is not None else ()
        offered = [documents[t] for t in (types or (failure.object_type,)) if t in documents]
        if failure.field is None:
            return bool(offered)
        return any(failure.field in names for names in offered)

    return [f for f in failures if not provided(f)]


def _summary(report: DryRunStatus, copy_sid: str | None) -> str:
    """One line for the Ready condition: what would happen, names and counts only."""
    parts = ["dry run (spec.dryRun): nothing written to Twilio but an evaluation of the original"]
    if not report.renewal_due:
        parts.append("no renewal would start: the original carries the spec")
    else:
        described = [
            f"{c.action} {c.object}" + (f" ({', '.join(c.fields)})" if c.fields else "")
            for c in report.changes
        ]
        parts.append(
            "a renewal would start"
            + (": " + "; ".join(described) if described else " (" + report.reasons[0] + ")")
        )
    if report.missing:
        parts.append(
            f"{len(report.missing)} requirement field(s) would still be missing "
            "(status.dryRun.missing)"
        )
    if copy_sid is not None:
        parts.append(f"the renewal through copy {copy_sid} waits until spec.dryRun is false")
    return "; ".join(parts)
