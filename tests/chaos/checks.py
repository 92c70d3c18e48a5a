"""What must hold after the chaos run, whatever was disrupted: each check returns the problems it
found (empty: none), so the test can report every kind of loss at once instead of the first.

- every renewal is Completed, without a copy in its status;
- one successful copy POST per original, and no write under the original's path but that POST
  and one successful ReplaceItems; none at all to the end-user and documents it was seeded with;
- no copy left at Twilio; the original approved, without valid_until, with its phone numbers and
  the spec's values;
- no credential or attribute value in the operator's log, events, statuses or annotations;
- no Python traceback and no Kopf "failed with an exception" in the operator's log.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.chaos.cluster_view import ClusterView, key
from tests.chaos.fleet import DOCUMENT_FIELD, DOCUMENT_TYPE, END_USER_FIELD, Fleet, Renewal
from tests.sim_fixtures import Sim

RC = "/v2/RegulatoryCompliance"
COPIES = f"POST {RC}/Bundles/{{BundleSid}}/Copies"
REPLACE_ITEMS = f"POST {RC}/Bundles/{{BundleSid}}/ReplaceItems"
TRACEBACK = "Traceback (most recent call last)"
KOPF_FAILURE = "failed with an exception"  # Kopf's line before it retries a handler or daemon
START = "=== operator start #"  # operator_runner's line before each start


def completed(view: ClusterView, renewals: list[Renewal]) -> list[str]:
    objects = view.objects()
    assert objects is not None, "the API server does not answer after the run"
    problems = []
    for renewal in renewals:
        status = (objects.get(key(renewal)) or {}).get("status") or {}
        if status.get("phase") != "Completed" or status.get("copySid"):
            problems.append(
                f"{renewal.name}: phase {status.get('phase')}, copy {status.get('copySid')}"
            )
    return problems


def writes_to_originals(sim: Sim, renewals: list[Renewal]) -> tuple[list[str], Counter[str]]:
    """Problems, and the originals' writes by route and status over all renewals (reported)."""
    by_sid: dict[str, Counter[str]] = {}
    for row in sim.admin.writes():
        by_sid.setdefault(row["sid"], Counter())[
            f"{row['method']} {row['route']} {row['status']}"
        ] += row["count"]
    problems = []
    overall: Counter[str] = Counter()
    for renewal in renewals:
        writes = by_sid.get(renewal.bundle_sid, Counter())
        overall.update(writes)
        copies = writes[f"{COPIES} 201"]
        replaced = sum(n for w, n in writes.items() if w.startswith(REPLACE_ITEMS + " 2"))
        other = [w for w in writes if not w.startswith((COPIES, REPLACE_ITEMS))]
        if copies != 1 or replaced != 1 or other:
            problems.append(
                f"{renewal.name}: {copies} copies, {replaced} ReplaceItems, {dict(writes)}"
            )
        for item in renewal.seeded_items:
            if item in by_sid:
                problems.append(f"{renewal.name}: seeded item {item} written: {dict(by_sid[item])}")
    return problems, overall


def originals_renewed(sim: Sim, fleet: Fleet) -> list[str]:
    state = sim.state()
    bundles = {b["sid"]: b for a in state["accounts"] for b in a["bundles"]}
    objects = {
        o["sid"]: o
        for a in state["accounts"]
        for o in (*a["end_users"], *a["supporting_documents"])
    }
    problems = [
        f"copy {sid} of {b['copy_of']} left" for sid, b in bundles.items() if b.get("copy_of")
    ]
    for renewal in fleet.renewals(*fleet.groups):
        original = bundles[renewal.bundle_sid]
        items = [objects[sid] for sid in original["item_object_sids"]]
        end_users = [
            o["attributes"].get(END_USER_FIELD) for o in items if o["sid"].startswith("IT")
        ]
        excerpts = [
            o["attributes"].get(DOCUMENT_FIELD) for o in items if o.get("type") == DOCUMENT_TYPE
        ]
        expected: dict[str, Any] = {
            "status": "twilio-approved",
            "valid_until": None,
            "phones": renewal.phone_numbers,
            "end_user": [renewal.end_user_value],
            "excerpt": [renewal.document_value],
        }
        actual = {
            "status": original["status"],
            "valid_until": original["valid_until"],
            "phones": original["phone_number_sids"],
            "end_user": end_users,
            "excerpt": excerpts,
        }
        if actual != expected:
            problems.append(f"{renewal.name}: {_redacted(actual, fleet)} != expected")
    return problems


def _redacted(value: Any, fleet: Fleet) -> str:
    """A problem line without the values it would otherwise quote (the test's output is a log
    like any other)."""
    text = json.dumps(value, default=str)
    for secret in fleet.secret_strings():
        text = text.replace(secret, "<value>")
    return text


def leaks(view: ClusterView, fleet: Fleet, operator_log: Path) -> list[str]:
    """Where a seeded credential or attribute value shows: the log, events, statuses and
    metadata (annotations included) of every BundleRenewal. Specs and Secrets are exempt."""
    places: dict[str, str] = {"operator log": operator_log.read_text(errors="replace")}
    objects = view.objects()
    assert objects is not None
    for (namespace, name), obj in objects.items():
        places[f"{namespace}/{name} status"] = json.dumps(obj.get("status"))
        places[f"{namespace}/{name} metadata"] = json.dumps(obj.get("metadata"))
    for namespace in fleet.namespaces:
        for event in view.events(namespace):
            text = json.dumps(event.to_dict(), default=str)
            places[f"event {namespace}/{event.metadata.name}"] = text
    everything = "\0".join(places.values())  # one search per value; places only for a hit
    return [
        f"a seeded value ({len(secret)} chars) shows in {where}"
        for secret in fleet.secret_strings()
        if secret in everything
        for where, text in places.items()
        if secret in text
    ]


def escaped_exceptions(operator_log: Path, fleet: Fleet) -> list[str]:
    """Each Python traceback and each Kopf "failed with an exception" line in the operator's log
    (every start of it, API-server restart included): what the run throws at the operator is
    expected, so each fault is a warning line, never an exception that escapes to Kopf."""
    lines = operator_log.read_text(errors="replace").splitlines()
    problems = []
    start = "?"
    for number, line in enumerate(lines, 1):
        if line.startswith(START):
            start = line.removeprefix(START).rstrip(" =")
        elif TRACEBACK in line:
            # The exception is the first line after the frames (indented) that is not one.
            raised = next((x for x in lines[number:] if x and not x.startswith(" ")), "?")
            after = lines[number - 2] if number > 1 else ""
            logged = "" if KOPF_FAILURE in after else f", logged after {_redacted(after, fleet)}"
            problems.append(
                f"line {number} (operator start #{start}): traceback of "
                f"{_redacted(raised, fleet)}{logged}"
            )
        elif KOPF_FAILURE in line:
            problems.append(f"line {number} (operator start #{start}): {_redacted(line, fleet)}")
    return problems
