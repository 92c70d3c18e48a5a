"""What every model of the BundleRenewal resource shares: the wire format (camelCase, both spellings
accepted when parsing), the API's names, and the SID and name patterns the schema checks."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

BUNDLE_SID_PATTERN = r"^BU[0-9a-f]{32}$"
SUPPORTING_DOCUMENT_SID_PATTERN = r"^RD[0-9a-f]{32}$"
EVALUATION_SID_PATTERN = r"^EL[0-9a-f]{32}$"
# A Kubernetes object name (DNS-1123 subdomain) and a Secret/ConfigMap data key.
OBJECT_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
DATA_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"

API_GROUP = "twilio-compliance.io"
API_VERSION = "v1alpha1"
KIND = "BundleRenewal"
PLURAL = "bundlerenewals"


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are refused (the CRD refuses them
    too, so anything unknown here means the schema and the models drifted)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready camelCase form, without unset (None) fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
