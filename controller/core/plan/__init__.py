"""The vocabulary between the pure workflow and the I/O around it: what was seen, what to do next.

`controller.core.workflow.decide` turns (resource, Observation, now, Policy) into a Decision
holding at most one Action. The caller (reconcile.py with actions.py) carries the action out
through the Twilio gateway, folds Twilio's answer back into the Observation with `fold`, and asks
again, until a decision has no action. Reading Twilio is an action too (`Observe`): the workflow
asks for exactly the reads it needs, so the number of Twilio calls per reconcile is decided, and
tested, here.

markers.py (what the operator made, recognised by name), observation.py (inputs), regulation.py
(what a regulation accepts, by name), decision.py (actions and outputs), fold.py (an answer folded
back in). Pure data and pure functions: no I/O, no clock, no environment.
"""

from controller.core.plan.decision import (
    WRITE_ACTIONS as WRITE_ACTIONS,
)
from controller.core.plan.decision import (
    Action as Action,
)
from controller.core.plan.decision import (
    AssignItem as AssignItem,
)
from controller.core.plan.decision import (
    CreateCopy as CreateCopy,
)
from controller.core.plan.decision import (
    CreateDocument as CreateDocument,
)
from controller.core.plan.decision import (
    Decision as Decision,
)
from controller.core.plan.decision import (
    DeleteCopy as DeleteCopy,
)
from controller.core.plan.decision import (
    DeleteDocument as DeleteDocument,
)
from controller.core.plan.decision import (
    ErrorKind as ErrorKind,
)
from controller.core.plan.decision import (
    Evaluate as Evaluate,
)
from controller.core.plan.decision import (
    EvaluateOriginal as EvaluateOriginal,
)
from controller.core.plan.decision import (
    Event as Event,
)
from controller.core.plan.decision import (
    EventType as EventType,
)
from controller.core.plan.decision import (
    Observe as Observe,
)
from controller.core.plan.decision import (
    ReplaceItems as ReplaceItems,
)
from controller.core.plan.decision import (
    Submit as Submit,
)
from controller.core.plan.decision import (
    UnassignItem as UnassignItem,
)
from controller.core.plan.decision import (
    UpdateDocument as UpdateDocument,
)
from controller.core.plan.decision import (
    UpdateEndUser as UpdateEndUser,
)
from controller.core.plan.decision import (
    is_write as is_write,
)
from controller.core.plan.fold import (
    fold as fold,
)
from controller.core.plan.markers import (
    MARKER_PREFIX as MARKER_PREFIX,
)
from controller.core.plan.markers import (
    copy_marker as copy_marker,
)
from controller.core.plan.markers import (
    copy_owner as copy_owner,
)
from controller.core.plan.markers import (
    created_document_key as created_document_key,
)
from controller.core.plan.markers import (
    created_document_name as created_document_name,
)
from controller.core.plan.markers import (
    document_marker as document_marker,
)
from controller.core.plan.observation import (
    COPY_PROGRESS as COPY_PROGRESS,
)
from controller.core.plan.observation import (
    Observation as Observation,
)
from controller.core.plan.observation import (
    ObservationPart as ObservationPart,
)
from controller.core.plan.observation import (
    Policy as Policy,
)
from controller.core.plan.observation import (
    RenewalResource as RenewalResource,
)
from controller.core.plan.observation import (
    rank_our_copies as rank_our_copies,
)
from controller.core.plan.observation import (
    utc as utc,
)
from controller.core.plan.regulation import (
    DocumentRequirementTerms as DocumentRequirementTerms,
)
from controller.core.plan.regulation import (
    RegulationTerms as RegulationTerms,
)
from controller.core.plan.regulation import (
    regulation_terms as regulation_terms,
)
