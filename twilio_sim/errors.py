"""Twilio's error bodies and the error codes the simulator answers with.

Every failure inside a handler is raised as :class:`TwilioError`; the app's middleware turns it
into Twilio's JSON body ``{code, message, more_info, status}``. Codes without a public Twilio
error page are marked *simulator's choice* in docs/simulator/.
"""

from __future__ import annotations

from typing import Any

# Codes Twilio documents (API-NOTES.md section 3) or that its generic REST layer uses.
MISSING_OR_INVALID_PARAMETER = 20001
AUTHENTICATE = 20003
METHOD_NOT_ALLOWED = 20004
NOT_FOUND = 20404
TOO_MANY_REQUESTS = 20429
INTERNAL_ERROR = 20500
INVALID_END_USER_OR_NUMBER_TYPE = 22200
INVALID_STATUS_VALUE = 22203
STATUS_WITH_OTHER_CHANGES = 22204
INVALID_OBJECT_SID = 22205
OBJECT_SID_NOT_ITEM = 22206
FROM_BUNDLE_NOT_FOUND = 22225
FROM_BUNDLE_SAME = 22226
FROM_BUNDLE_OUTDATED = 22228
ADDRESS_CANNOT_BE_REMOVED = 22229
# Simulator's choice: Twilio publishes no code for these refusals.
ITEMS_LOCKED = 22207
OBJECT_IN_USE = 22208
ILLEGAL_STATUS_TRANSITION = 22209
BUNDLE_HAS_PHONE_NUMBERS = 22210
BUNDLE_NOT_COMPLIANT = 22211
BUNDLE_NOT_APPROVED = 22227


class TwilioError(Exception):
    """An error answered to the client as Twilio's JSON error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message)


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def not_found(path: str) -> TwilioError:
    return TwilioError(404, NOT_FOUND, f"The requested resource {path} was not found")


def missing_parameter(name: str) -> TwilioError:
    return TwilioError(
        400, MISSING_OR_INVALID_PARAMETER, f"Missing required parameter {name} in the post body"
    )


def invalid_parameter(name: str, detail: str = "") -> TwilioError:
    suffix = f": {detail}" if detail else ""
    return TwilioError(400, MISSING_OR_INVALID_PARAMETER, f"Invalid parameter {name}{suffix}")
