"""`status NAME`: one screen about a BundleRenewal, as `cmctl status certificate` gives one.

The resource (phase, message, conditions) and its last events come from the API server; the
original bundle and the copy in flight are read live from Twilio when credentials can be had
(the flags, the environment, or else the resource's own Secret), otherwise from the status the
operator recorded, which says when it was observed. Evaluation failures and review reasons are
the operator's record: Twilio keeps no "last evaluation" of a copy to read back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TextIO

from controller.adapters.twilio_gateway.port import TwilioAccountReader, TwilioError
from controller.cli.errors import CliError
from controller.cli.kube import Kube, event_time
from controller.cli.output import age, iso
from controller.core.twilio_models import Bundle
from controller.engine.accounts.scan import days_left

MAX_EVENTS = 10


async def live_bundles(
    reader: TwilioAccountReader, original_sid: str | None, copy_sid: str | None, numbers: bool
) -> dict[str, Any]:
    """The original (with its phone-number count) and the copy, as Twilio has them now."""
    live: dict[str, Any] = {}
    if original_sid:
        original = await reader.fetch_bundle(original_sid)
        live["original"] = _bundle(original)
        if numbers:
            listed = await reader.list_phone_numbers()
            live["original"]["phoneNumbers"] = sum(n.bundle_sid == original_sid for n in listed)
    if copy_sid:
        try:
            live["copy"] = _bundle(await reader.fetch_bundle(copy_sid))
        except TwilioError as exc:
            live["copy"] = {"sid": copy_sid, "error": str(exc)}
    return live


def _bundle(bundle: Bundle) -> dict[str, Any]:
    return {
        "sid": bundle.sid,
        "friendlyName": bundle.friendly_name,
        "status": bundle.status.value,
        "validUntil": bundle.valid_until,
        "regulationSid": bundle.regulation_sid,
    }


def gather(
    kube: Kube,
    namespace: str,
    name: str,
    read_twilio: Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]] | None,
    run: Callable[[Coroutine[Any, Any, dict[str, Any]]], dict[str, Any]],
) -> dict[str, Any]:
    """Everything the screen shows, as plain data (what `-o yaml|json` prints)."""
    resource = kube.get_renewal(namespace, name)
    spec, status = resource.get("spec") or {}, resource.get("status") or {}
    report: dict[str, Any] = {
        "namespace": namespace,
        "name": name,
        "bundleSid": spec.get("bundleSid"),
        "suspend": bool(spec.get("suspend")),
        "phase": status.get("phase"),
        "message": status.get("message"),
        "conditions": status.get("conditions") or [],
        "original": {"source": "status", **(status.get("original") or {})},
        "copy": {"sid": status.get("copySid")} if status.get("copySid") else None,
        "evaluation": status.get("evaluation"),
        "review": status.get("review"),
        "nextCheckTime": status.get("nextCheckTime"),
        "history": status.get("history") or [],
        "events": [_event(e) for e in kube.events(namespace, name)[-MAX_EVENTS:]],
    }
    if read_twilio is not None:
        try:
            live = run(read_twilio(resource))
        except (CliError, TwilioError, OSError) as exc:
            # Shown, not fatal: the status the operator recorded still tells a lot.
            report["twilioError"] = str(exc)
        else:
            if "original" in live:
                report["original"] = {"source": "twilio", **live["original"]}
            if "copy" in live:
                report["copy"] = live["copy"]
    return report


def _event(event: Any) -> dict[str, Any]:
    return {
        "time": event_time(event),
        "type": event.type,
        "reason": event.reason,
        "message": event.message,
        "count": event.count,
    }


def render(report: dict[str, Any], now: datetime, out: TextIO) -> None:
    w = out.write
    w(f"Name:        {report['namespace']}/{report['name']}\n")
    w(f"Bundle:      {report['bundleSid']}\n")
    w(f"Phase:       {report['phase'] or '-'}{'  (suspended)' if report['suspend'] else ''}\n")
    w(f"Message:     {report['message'] or '-'}\n")
    next_check = _parse(report.get("nextCheckTime"))
    due = f" (in {age(now, next_check)})" if next_check is not None and next_check > now else ""
    w(f"Next check:  {iso(next_check) if next_check else '- (on a change)'}{due}\n")
    w("Conditions:\n")
    for c in report["conditions"]:
        when = _parse(c.get("lastTransitionTime"))
        w(f"  {c.get('type')}={c.get('status')}  {c.get('reason')}  ({age(when, now)} ago)")
        w(f": {c['message']}\n" if c.get("message") else "\n")
    original = report["original"]
    source = "live from Twilio" if original.get("source") == "twilio" else "as last observed"
    w(f"Original bundle ({source}):\n")
    w(f"  Status:        {original.get('status') or '-'}\n")
    valid_until = _parse(original.get("validUntil"))
    left = days_left(valid_until, now)
    w(f"  Valid until:   {iso(valid_until)}{f' ({left} days left)' if left is not None else ''}\n")
    w(f"  Regulation:    {original.get('regulationSid') or '-'}\n")
    if "phoneNumbers" in original:
        w(f"  Phone numbers: {original['phoneNumbers']}\n")
    if report.get("twilioError"):
        w(f"  (Twilio not read: {report['twilioError']})\n")
    _render_copy(report, now, out)
    _render_history(report, now, out)
    w(f"Events (last {MAX_EVENTS}):\n")
    if not report["events"]:
        w("  <none>\n")
    for e in report["events"]:
        count = f" (x{e['count']})" if (e.get("count") or 1) > 1 else ""
        ago = f"{age(e['time'], now):>4} ago"
        w(f"  {ago}  {e['type']:<7} {e['reason']:<16} {e['message']}{count}\n")


def _render_copy(report: dict[str, Any], now: datetime, out: TextIO) -> None:
    w = out.write
    copy = report.get("copy")
    if not copy:
        w("Copy in flight: none\n")
        return
    w(f"Copy in flight: {copy.get('sid')}\n")
    w(f"  Status:        {copy.get('status') or copy.get('error') or '-'}\n")
    evaluation = report.get("evaluation") or {}
    if evaluation:
        when = _parse(evaluation.get("evaluatedAt"))
        w(f"  Evaluation:    {evaluation.get('status')} ({age(when, now)} ago)\n")
        for f in evaluation.get("failures") or []:
            where = f.get("requirementFriendlyName") or f.get("requirementName") or "-"
            field = f".{f['field']}" if f.get("field") else ""
            code = f" [{f['errorCode']}]" if f.get("errorCode") is not None else ""
            w(f"    - {where}: {f.get('objectType')}{field}{code}\n")
    review = report.get("review") or {}
    if review:
        submitted = _parse(review.get("submittedAt"))
        w(f"  Review:        {review.get('status') or '-'} (submitted {age(submitted, now)} ago)\n")
        for r in review.get("failureReasons") or []:
            w(f"    - {r.get('documentSid')} ({r.get('type')}): {r.get('failureReason')}\n")


def _render_history(report: dict[str, Any], now: datetime, out: TextIO) -> None:
    """status.history, newest first: one line a renewal, then its rejection reasons."""
    w = out.write
    records = report.get("history") or []
    w("Renewals (newest first):\n" if records else "Renewals: none recorded\n")
    for r in records:
        started = _parse(r.get("startedAt"))
        ago = f"{age(started, now)} ago" if started is not None else "start unknown"
        rounds = r.get("reviewRounds") or 0
        w(
            f"  {r.get('outcome')}  started {ago} ({', '.join(r.get('triggers') or [])}), "
            f"copy {r.get('copySid') or '-'}, {rounds} review round{'s' if rounds != 1 else ''}"
            + (f", completed {iso(_parse(r['completedAt']))}" if r.get("completedAt") else "")
            + "\n"
        )
        for f in r.get("rejections") or []:
            w(f"    rejected: {f.get('documentSid')} ({f.get('type')}): {f.get('failureReason')}\n")


def _parse(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
