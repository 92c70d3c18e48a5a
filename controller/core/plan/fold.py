"""Folding a write's answer back into the observation, so the next decision sees its effect
without reading Twilio again (except where the answer cannot be trusted: see ReplaceItems).
Pure.
"""

from __future__ import annotations

from controller.core.plan.decision import (
    Action,
    AssignItem,
    CreateCopy,
    CreateDocument,
    DeleteCopy,
    DeleteDocument,
    Evaluate,
    EvaluateOriginal,
    Observe,
    ReplaceItems,
    Submit,
    UnassignItem,
    UpdateDocument,
    UpdateEndUser,
)
from controller.core.plan.observation import Observation, ObservationPart
from controller.core.twilio_models import (
    Bundle,
    EndUser,
    Evaluation,
    ItemAssignment,
    SupportingDocument,
)


def fold(observation: Observation, action: Action, result: object = None) -> Observation:
    """The observation after `action` succeeded with Twilio's answer `result`:
    CreateCopy -> Bundle (the copy), UpdateEndUser -> EndUser, UpdateDocument/CreateDocument ->
    SupportingDocument, AssignItem -> ItemAssignment, Evaluate/EvaluateOriginal -> Evaluation,
    Submit -> Bundle (the copy), ReplaceItems -> Bundle (the original), UnassignItem/DeleteCopy
    -> None.
    Every write to the copy drops the evaluation (it is no longer fresh). Observe actions are
    folded by the gatherer (it sets the parts and adds them to `read`)."""
    match action:
        case CreateCopy():
            assert isinstance(result, Bundle)
            return observation.model_copy(
                update={
                    "copies": (*observation.copies, result),
                    "ours": (*observation.ours, result),
                    "copy_items": (),
                    "evaluation": None,
                }
            )
        case UpdateEndUser():
            assert isinstance(result, EndUser)
            return observation.model_copy(update={"copy_end_user": result, "evaluation": None})
        case UpdateDocument():
            assert isinstance(result, SupportingDocument)
            documents = tuple(
                result if d.sid == result.sid else d for d in observation.copy_documents
            )
            return observation.model_copy(update={"copy_documents": documents, "evaluation": None})
        case CreateDocument():
            assert isinstance(result, SupportingDocument)
            return observation.model_copy(
                update={
                    "stray_documents": (*observation.stray_documents, result),
                    "read": observation.read | {ObservationPart.STRAY_DOCUMENTS},
                }
            )
        case AssignItem():
            assert isinstance(result, ItemAssignment)
            assigned = [d for d in observation.stray_documents if d.sid == result.object_sid]
            return observation.model_copy(
                update={
                    "copy_items": (*observation.copy_items, result),
                    "copy_documents": (*observation.copy_documents, *assigned),
                    "stray_documents": tuple(
                        d for d in observation.stray_documents if d.sid != result.object_sid
                    ),
                    "evaluation": None,
                }
            )
        case UnassignItem():
            return observation.model_copy(
                update={
                    "copy_items": tuple(
                        i for i in observation.copy_items if i.sid != action.assignment_sid
                    ),
                    "copy_documents": tuple(
                        d for d in observation.copy_documents if d.sid != action.object_sid
                    ),
                    "evaluation": None,
                }
            )
        case Evaluate():
            assert isinstance(result, Evaluation)
            return observation.model_copy(update={"evaluation": result})
        case EvaluateOriginal():
            assert isinstance(result, Evaluation)
            return observation.model_copy(update={"original_evaluation": result})
        case Submit():
            assert isinstance(result, Bundle)
            return observation.model_copy(
                update={
                    "copies": _replace_bundle(observation.copies, result),
                    "ours": _replace_bundle(observation.ours, result),
                }
            )
        case ReplaceItems():
            assert isinstance(result, Bundle)
            # Twilio moves the copy's items into the original: the copy is left empty. An
            # answer showing valid_until cleared is taken as the original (the one thing the next
            # step reads from it); one still showing it is read afresh, since the clearing could
            # lag the answer.
            cleared = result.sid == action.original_sid and result.valid_until is None
            return observation.model_copy(
                update={
                    "original": result if cleared else None,
                    "read": (observation.read - _ORIGINAL_PARTS)
                    | ({ObservationPart.ORIGINAL} if cleared else set()),
                    "original_items": (),
                    "original_end_user": None,
                    "original_documents": (),
                    "copy_items": (),
                    "copy_end_user": None,
                    "copy_documents": (),
                    "evaluation": None,
                }
            )
        case DeleteCopy():
            return observation.model_copy(
                update={
                    "copies": tuple(c for c in observation.copies if c.sid != action.copy_sid),
                    "ours": tuple(c for c in observation.ours if c.sid != action.copy_sid),
                    "copy_items": (),
                    "copy_end_user": None,
                    "copy_documents": (),
                    "evaluation": None,
                }
            )
        case DeleteDocument():
            return observation.model_copy(
                update={
                    "stray_documents": tuple(
                        d for d in observation.stray_documents if d.sid != action.sid
                    )
                }
            )
        case Observe():
            raise ValueError("Observe actions are folded by the gatherer, not by fold()")
    raise TypeError(f"unknown action {action!r}")


_ORIGINAL_PARTS = frozenset(
    {
        ObservationPart.ORIGINAL,
        ObservationPart.ORIGINAL_ITEMS,
        ObservationPart.ORIGINAL_END_USER,
        ObservationPart.ORIGINAL_DOCUMENTS,
    }
)


def _replace_bundle(bundles: tuple[Bundle, ...], new: Bundle) -> tuple[Bundle, ...]:
    return tuple(new if b.sid == new.sid else b for b in bundles)
