"""A small synchronous client of the simulator's ``/_sim/`` admin API (stdlib only).

Used by the pytest fixture, the benchmark and anyone scripting a rehearsal. Every method maps to
one admin route (see docs/simulator/admin-api.md) and returns the decoded JSON.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class AdminError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"admin API answered {status}: {body}")
        self.status = status
        self.body = body


class AdminClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(  # noqa: S310 - the URL is the simulator's, http only
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = raw.decode(errors="replace")
            raise AdminError(exc.code, payload) from None

    def health(self) -> Any:
        return self.request("GET", "/_sim/health")

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.health()
                return
            except (OSError, AdminError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def create_account(self, **body: Any) -> dict[str, Any]:
        """{account_sid, auth_token, friendly_name, api_keys: [{sid, secret}]}."""
        result: dict[str, Any] = self.request("POST", "/_sim/accounts", body)
        return result

    def create_api_key(self, account_sid: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", f"/_sim/accounts/{account_sid}/keys", {})
        return result

    def seed_approved_bundle(self, account_sid: str, **body: Any) -> dict[str, Any]:
        """A twilio-approved bundle with end-user, documents and phone numbers; their SIDs."""
        result: dict[str, Any] = self.request(
            "POST", "/_sim/fixtures/approved-bundle", {"account_sid": account_sid, **body}
        )
        return result

    def change_regulation(self, regulation_sid: str, **change: Any) -> dict[str, Any]:
        """Publish a regulation change (empty: the default change); affected bundle SIDs."""
        result: dict[str, Any] = self.request(
            "POST", f"/_sim/regulations/{regulation_sid}/change", change
        )
        return result

    def review(self, bundle_sid: str, decision: str, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "POST", f"/_sim/bundles/{bundle_sid}/review", {"decision": decision, **body}
        )
        return result

    def set_config(self, **patch: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.request("PUT", "/_sim/config", patch)
        return result

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/_sim/config")
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/_sim/stats")
        return result

    def writes(self, sid: str | None = None) -> list[dict[str, Any]]:
        """Writes by a SID in their path: [{sid, account_sid, method, route, status, count}]."""
        path = "/_sim/writes" + (f"?sid={urllib.parse.quote(sid)}" if sid else "")
        rows: list[dict[str, Any]] = self.request("GET", path)["writes"]
        return rows

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/_sim/state")
        return result

    def callbacks(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/_sim/callbacks")
        return result

    def reset(self) -> None:
        self.request("POST", "/_sim/reset", {})

    def bundle(self, bundle_sid: str) -> dict[str, Any]:
        """The bundle's entry in /_sim/state (includes phone numbers, items, copy_of)."""
        for account in self.state()["accounts"]:
            for b in account["bundles"]:
                if b["sid"] == bundle_sid:
                    result: dict[str, Any] = b
                    return result
        raise KeyError(bundle_sid)
