"""Settings of the SDK-backed gateway (the operator's settings module fills them from the env)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from controller.adapters.twilio_gateway.aimd import AimdPolicy
from controller.adapters.twilio_gateway.retry import RetryPolicy

TWILIO_NUMBERS_BASE_URL = "https://numbers.twilio.com"
TWILIO_UPLOAD_BASE_URL = "https://numbers-upload.twilio.com"
TWILIO_API_BASE_URL = "https://api.twilio.com"


class GatewaySettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    base_url: str = Field(
        default=TWILIO_NUMBERS_BASE_URL,
        description="Base URL of the Numbers API (a simulator or a validating proxy in tests).",
    )
    upload_base_url: str | None = Field(
        default=None,
        description=(
            "Base URL for supporting-document uploads (multipart). Unset: Twilio's upload host "
            "when base_url is Twilio's, otherwise base_url itself (a simulator serves both)."
        ),
    )
    api_base_url: str | None = Field(
        default=None,
        description=(
            "Base URL of Twilio's API v2010 (phone numbers, read by the CLI only). Unset: "
            "Twilio's api host when base_url is Twilio's, otherwise base_url itself."
        ),
    )
    max_concurrent_requests_per_account: int = Field(
        default=100,
        ge=1,
        description=(
            "Ceiling of the requests in flight at once per Twilio account SID: the adaptive "
            "limit stays at or below it (with adaptive_concurrency off, the fixed limit)."
        ),
    )
    initial_concurrent_requests_per_account: int = Field(
        default=8, ge=1, description="Where each account's adaptive limit starts (capped)."
    )
    adaptive_concurrency: bool = Field(
        default=True,
        description=(
            "Adapt each account's limit to Twilio's answers (AIMD: grows while answered, halves "
            "on 429). Off: a fixed limit of max_concurrent_requests_per_account."
        ),
    )
    request_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Time limit of one HTTP request, connect to last byte."
    )
    page_size: int | None = Field(
        default=None, ge=1, le=1000, description="PageSize of list calls; unset: Twilio's default."
    )
    retry: RetryPolicy = Field(default_factory=RetryPolicy)

    def concurrency_policy(self) -> AimdPolicy:
        """The bounds of each account's limit (aimd.py), from these settings."""
        ceiling = self.max_concurrent_requests_per_account
        if not self.adaptive_concurrency:
            return AimdPolicy.fixed(ceiling)
        return AimdPolicy(
            initial=min(self.initial_concurrent_requests_per_account, ceiling), ceiling=ceiling
        )

    @property
    def effective_upload_base_url(self) -> str:
        if self.upload_base_url is not None:
            return self.upload_base_url
        if self.base_url.rstrip("/") == TWILIO_NUMBERS_BASE_URL:
            return TWILIO_UPLOAD_BASE_URL
        return self.base_url

    @property
    def effective_api_base_url(self) -> str:
        if self.api_base_url is not None:
            return self.api_base_url
        if self.base_url.rstrip("/") == TWILIO_NUMBERS_BASE_URL:
            return TWILIO_API_BASE_URL
        return self.base_url
