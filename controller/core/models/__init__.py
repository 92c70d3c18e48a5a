"""Pydantic models of the BundleRenewal custom resource: spec, status, phases and conditions.

These models are the single source of the CRD's schema (crds/bundlerenewals.yaml is generated from
them by `controller.core.crd_schema`, and a unit test keeps the two in sync), so every docstring and
field description here becomes user-facing documentation in `kubectl explain`.

On the wire the fields are camelCase (Kubernetes style); in Python they are snake_case, and both
spellings are accepted when parsing (`populate_by_name`). Pure data: no I/O.

Privacy rule: attribute values (names, registration numbers, addresses...) are personal data. They
live in the spec (or in the Secrets the spec names) only. The status records field names, document
types and SIDs, never values.

One module a part: wire.py (shared wire format and names), spec.py, phases.py (phases,
conditions, reasons), status.py.
"""

from controller.core.models.phases import (
    Condition as Condition,
)
from controller.core.models.phases import (
    ConditionStatus as ConditionStatus,
)
from controller.core.models.phases import (
    ConditionType as ConditionType,
)
from controller.core.models.phases import (
    Phase as Phase,
)
from controller.core.models.reasons import (
    REASON_TEXTS as REASON_TEXTS,
)
from controller.core.models.reasons import (
    Reason as Reason,
)
from controller.core.models.spec import (
    VALUE_FROM as VALUE_FROM,
)
from controller.core.models.spec import (
    AttributesSource as AttributesSource,
)
from controller.core.models.spec import (
    AttributeValueRef as AttributeValueRef,
)
from controller.core.models.spec import (
    AttributeValueSource as AttributeValueSource,
)
from controller.core.models.spec import (
    BundleRenewalSpec as BundleRenewalSpec,
)
from controller.core.models.spec import (
    DocumentFileSource as DocumentFileSource,
)
from controller.core.models.spec import (
    DocumentMatch as DocumentMatch,
)
from controller.core.models.spec import (
    EndUserSpec as EndUserSpec,
)
from controller.core.models.spec import (
    KeySelector as KeySelector,
)
from controller.core.models.spec import (
    LocalObjectReference as LocalObjectReference,
)
from controller.core.models.spec import (
    SupportingDocumentSpec as SupportingDocumentSpec,
)
from controller.core.models.spec import (
    document_key as document_key,
)
from controller.core.models.spec import (
    parse_value_references as parse_value_references,
)
from controller.core.models.status import (
    AppliedDocument as AppliedDocument,
)
from controller.core.models.status import (
    AppliedSummary as AppliedSummary,
)
from controller.core.models.status import (
    BundleRenewalStatus as BundleRenewalStatus,
)
from controller.core.models.status import (
    CreatedDocument as CreatedDocument,
)
from controller.core.models.status import (
    DocumentFailure as DocumentFailure,
)
from controller.core.models.status import (
    DryRunStatus as DryRunStatus,
)
from controller.core.models.status import (
    EvaluationFailure as EvaluationFailure,
)
from controller.core.models.status import (
    EvaluationStatus as EvaluationStatus,
)
from controller.core.models.status import (
    OriginalBundleStatus as OriginalBundleStatus,
)
from controller.core.models.status import (
    PlannedChange as PlannedChange,
)
from controller.core.models.status import (
    RenewalOutcome as RenewalOutcome,
)
from controller.core.models.status import (
    RenewalRecord as RenewalRecord,
)
from controller.core.models.status import (
    RenewalTrigger as RenewalTrigger,
)
from controller.core.models.status import (
    ReviewStatus as ReviewStatus,
)
from controller.core.models.wire import (
    API_GROUP as API_GROUP,
)
from controller.core.models.wire import (
    API_VERSION as API_VERSION,
)
from controller.core.models.wire import (
    BUNDLE_SID_PATTERN as BUNDLE_SID_PATTERN,
)
from controller.core.models.wire import (
    DATA_KEY_PATTERN as DATA_KEY_PATTERN,
)
from controller.core.models.wire import (
    EVALUATION_SID_PATTERN as EVALUATION_SID_PATTERN,
)
from controller.core.models.wire import (
    KIND as KIND,
)
from controller.core.models.wire import (
    OBJECT_NAME_PATTERN as OBJECT_NAME_PATTERN,
)
from controller.core.models.wire import (
    PLURAL as PLURAL,
)
from controller.core.models.wire import (
    SUPPORTING_DOCUMENT_SID_PATTERN as SUPPORTING_DOCUMENT_SID_PATTERN,
)
from controller.core.models.wire import (
    WireModel as WireModel,
)
