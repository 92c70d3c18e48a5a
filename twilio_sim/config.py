"""Run-time knobs of the simulator, set with ``PUT /_sim/config``.

Review policy (delays, automatic decisions, rejection rules), injected latency, fault rates
(errors, 429s, dropped connections) and a per-account cap on concurrent requests. The model is
validated with pydantic; a PUT merges the given keys into the current configuration.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: How status callbacks are sent (twilio_sim/callbacks.py): GET with the fields in the query, as
#: the one real callback on public record; or a POST, form-encoded or JSON.
CallbackShape = Literal["get", "post-form", "post-json"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RejectionRule(_Strict):
    """Reject a reviewed bundle holding a document whose attribute has a refused value."""

    document_type: str | None = None  # None: any document type
    field: str
    value: Any = None  # None: reject whenever the attribute is present and non-empty
    failure_reason: str = "The document was refused by the reviewer."
    error_code: int = 18001


class ReviewConfig(_Strict):
    # auto: approve when the evaluation is compliant and no rule refuses a document;
    # manual: stay in-review until POST /_sim/bundles/{sid}/review; approve / reject: always.
    mode: Literal["auto", "manual", "approve", "reject"] = "auto"
    # Bundles of these accounts wait for a decision by hand, as in manual, whatever mode says:
    # a rehearsal can review a few renewals itself while the rest are decided automatically.
    manual_accounts: list[str] = Field(default_factory=list)
    in_review_after_seconds: float = Field(0.05, ge=0)
    decision_after_seconds: float = Field(0.1, ge=0)
    rejection_rules: list[RejectionRule] = Field(default_factory=list)
    # Refuse Status=pending-review (400, 22211) while the bundle evaluates noncompliant.
    require_compliant_submission: bool = True


class LatencyConfig(_Strict):
    distribution: Literal["none", "constant", "uniform", "exponential", "normal"] = "none"
    # before: the request waits, then is carried out and answered; after: it is carried out
    # (and counted) at once and answered after the delay, so a test can kill its client in the
    # window between a write done at Twilio and anything the client records of it.
    when: Literal["before", "after"] = "before"
    mean_ms: float = Field(0.0, ge=0)
    min_ms: float = Field(0.0, ge=0)
    max_ms: float = Field(0.0, ge=0)
    stddev_ms: float = Field(0.0, ge=0)

    def sample_seconds(self, rng: random.Random) -> float:
        if self.distribution == "none":
            return 0.0
        if self.distribution == "constant":
            ms = self.mean_ms
        elif self.distribution == "uniform":
            ms = rng.uniform(self.min_ms, max(self.min_ms, self.max_ms))
        elif self.distribution == "exponential":
            ms = rng.expovariate(1.0 / self.mean_ms) if self.mean_ms > 0 else 0.0
        else:
            ms = rng.gauss(self.mean_ms, self.stddev_ms)
        if self.max_ms > 0:
            ms = min(ms, self.max_ms)
        return max(ms, self.min_ms, 0.0) / 1000.0


class FaultsConfig(_Strict):
    error_rate: float = Field(0.0, ge=0, le=1)  # 500 with code 20500
    rate_limit_rate: float = Field(0.0, ge=0, le=1)  # 429 with code 20429
    drop_rate: float = Field(0.0, ge=0, le=1)  # connection closed without a response


class SimConfig(_Strict):
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    latency: LatencyConfig = Field(default_factory=LatencyConfig)
    faults: FaultsConfig = Field(default_factory=FaultsConfig)
    max_concurrent_requests_per_account: int | None = Field(None, ge=1)
    # valid_until set by a regulation change when its body gives none: now + this many days.
    valid_until_days: float = Field(30.0, gt=0)
    # Fault: ReplaceItems leaves the target's valid_until in place (for loop-guard tests).
    replace_items_keeps_valid_until: bool = False
    # Base of absolute URLs (url, links, meta) instead of the request's own scheme and host.
    public_base_url: str | None = None
    callback_timeout_seconds: float = Field(5.0, gt=0)
    # Status callbacks in flight at once (Twilio does not deliver them one at a time either).
    callback_concurrency: int = Field(50, ge=1)
    # The shape of status callbacks, taken when the bundle changes (twilio_sim/callbacks.py).
    callback_shape: CallbackShape = "get"

    def merged(self, patch: dict[str, Any]) -> SimConfig:
        """A new config with patch's keys deep-merged into this one (validated)."""
        return SimConfig.model_validate(_deep_merge(self.model_dump(), patch))


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
