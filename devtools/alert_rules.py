"""The operator's alert rules: one source (`ALERTS`), written as two files that must not drift.

    .venv/bin/python devtools/alert_rules.py          # rewrite both files
    .venv/bin/python devtools/alert_rules.py --check  # exit 1 if either is stale
    .venv/bin/python devtools/alert_rules.py --runbook-base https://docs.example.com/bro/

- manifests/monitoring/prometheus-rules.yaml: a plain Prometheus rules file (`rule_files:`,
  `promtool check rules`, `promtool test rules`);
- manifests/monitoring/prometheusrule.yaml: the same groups in a prometheus-operator
  PrometheusRule, part of the optional kustomize component manifests/monitoring/.

Each alert carries a `runbook_url` to its page on the documentation site,
`<base>runbooks/<alert name in lower case>/`: MkDocs' URL of docs/runbooks/<alert>.md, which
devtools/docs_reference.py generates from the same `ALERTS` (what fires it, what to do). The base
is mkdocs.yml's `site_url` unless `--runbook-base` names another (docs/operations/alerts.md shows
how to change it with kustomize instead). tests/monitoring/alert_rules_test.yaml holds promtool
unit tests for every alert. The thresholds are constants below: change one here, regenerate, and
the files, the documentation and the tests follow (the promtool tests pin the behaviour around
each threshold).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
MONITORING = REPO_ROOT / "manifests" / "monitoring"
RULES_FILE = MONITORING / "prometheus-rules.yaml"
PROMETHEUS_RULE_FILE = MONITORING / "prometheusrule.yaml"
MKDOCS_FILE = REPO_ROOT / "mkdocs.yml"


def site_url(mkdocs_file: Path = MKDOCS_FILE) -> str:
    """mkdocs.yml's `site_url`, where the documentation is published (ending with a slash).

    Read as text: mkdocs.yml holds Python tags that yaml.safe_load refuses."""
    found = re.search(r"^site_url:\s*(\S+)\s*$", mkdocs_file.read_text(), re.MULTILINE)
    if found is None:
        raise ValueError(f"{mkdocs_file} has no site_url")
    return with_slash(found.group(1).strip("'\""))


def with_slash(base: str) -> str:
    """A base URL with its trailing slash: runbook paths are appended to it."""
    return base if base.endswith("/") else base + "/"


#: Where runbook_url points by default: the published documentation site. Published elsewhere?
#: Regenerate with --runbook-base https://.../, or use the kustomize replacement in
#: docs/operations/alerts.md.
RUNBOOK_BASE = site_url()
GROUP = "bundle-renewal-operator"
#: manifests/kustomization.yaml's namespace and labels.
NAMESPACE = "bundle-renewal-system"
LABELS = {
    "app.kubernetes.io/name": "bundle-renewal-operator",
    "app.kubernetes.io/part-of": "bundle-renewal-operator",
}

DAY = 86400
#: Warn this long before Twilio's deadline when no renewal is making progress.
DEADLINE_WARNING_DAYS = 14
#: A renewal in flight whose attempts failed this many times in a row is not progressing.
STUCK_FAILED_ATTEMPTS = 3
#: Twilio usually reviews within a few business days; past this, ask Twilio.
REVIEW_USUAL_DAYS = 5
#: Refused and accepted status callbacks are compared over this window (a fleet with few
#: bundle changes may get one callback an hour).
CALLBACK_WINDOW = "1h"

_RESOURCE = "{{ $labels.namespace }}/{{ $labels.name }}"


@dataclass(frozen=True)
class Alert:
    name: str
    severity: str
    expr: str
    for_: str | None
    summary: str
    description: str
    fires_when: str
    """One sentence for the documentation: when it fires, in words."""
    runbook: str
    """What to do (Markdown), on the alert's runbook page (docs/runbooks/<anchor>.md); links
    are relative to that page."""

    @property
    def anchor(self) -> str:
        """The runbook page's name, and its heading's anchor: the alert name in lower case."""
        return self.name.lower()

    @property
    def page(self) -> str:
        """The runbook page, relative to docs/."""
        return f"runbooks/{self.anchor}.md"

    def runbook_url(self, base: str = RUNBOOK_BASE) -> str:
        """The runbook page as MkDocs publishes it under `base` (directory URLs)."""
        return f"{with_slash(base)}runbooks/{self.anchor}/"


ALERTS = [
    Alert(
        name="BundleRenewalDeadlineApproaching",
        severity="warning",
        expr=f"""(bundle_renewal_valid_until_timestamp_seconds - time())
  < {DEADLINE_WARNING_DAYS} * {DAY} > 0
unless on (namespace, name) (
  bundle_renewal_phase{{phase=~"InProgress|InReview"}} == 1
  unless on (namespace, name) bundle_renewal_failed_attempts >= {STUCK_FAILED_ATTEMPTS}
)""",
        for_="1h",
        summary=f"BundleRenewal {_RESOURCE}: Twilio's deadline is near and no renewal progresses",
        description=f"The bundle of {_RESOURCE} must be renewed within"
        " {{ $value | humanizeDuration }}, and no renewal is in flight or it keeps failing.",
        fires_when=f"The original bundle's `valid_until` is less than {DEADLINE_WARNING_DAYS} days"
        " away (and not yet passed), and the resource is neither `InProgress` nor `InReview`, or"
        f" it is but has failed {STUCK_FAILED_ATTEMPTS} attempts in a row; for 1 hour.",
        runbook="""1. `kubectl describe br <name> -n <namespace>`: the phase, the Stalled reason
   and the events say what blocks the renewal.
2. `NeedsInput` or `Rejected`: see [Troubleshooting](../operations/troubleshooting.md); fix the
   spec (the change resumes at once).
3. `Failed`: fix what the reason names (credentials, bundle SID; see the
   [reason table](../reference/reasons.md)), then touch `spec.renewalRequest` to retry now.
4. `Suspended`: set `spec.suspend: false` unless someone renews this bundle by other means.
5. `InProgress` with `status.failedAttempts` growing: see the operator's log and
   [BundleRenewalReconcilesFailing](bundlerenewalreconcilesfailing.md).""",
    ),
    Alert(
        name="BundleRenewalDeadlinePassed",
        severity="critical",
        expr="time() - bundle_renewal_valid_until_timestamp_seconds >= 0",
        for_=None,
        summary=f"BundleRenewal {_RESOURCE}: Twilio's deadline has passed",
        description=f"The bundle of {_RESOURCE} was due for renewal"
        " {{ $value | humanizeDuration }} ago and still has a valid_until: its phone numbers"
        " are at risk.",
        fires_when="At once when the original bundle's `valid_until` has passed and Twilio still"
        " reports it, whatever the resource's phase: an expired deadline is never filtered out.",
        runbook="""1. Act now: Twilio may suspend the bundle's phone numbers. Contact Twilio support
   with the bundle SID (`kubectl get br <name> -n <namespace> -o jsonpath='{.spec.bundleSid}'`).
2. If a renewal is in flight, follow the runbook of its phase
   ([NeedsInput](bundlerenewalneedsinput.md), [ReviewSlow](bundlerenewalreviewslow.md),
   [Failed](bundlerenewalfailed.md)); the alert clears when Twilio clears `valid_until`.
3. If the phase is `Failed` with reason `ValidUntilNotCleared`, the items were replaced but
   Twilio kept the date: ask Twilio, then set a new `spec.renewalRequest`.""",
    ),
    Alert(
        name="BundleRenewalNeedsInput",
        severity="warning",
        expr='bundle_renewal_phase{phase=~"NeedsInput|Rejected"} == 1',
        for_="1d",
        summary=f"BundleRenewal {_RESOURCE} has waited for a person for a day",
        description=f"{_RESOURCE} is {{{{ $labels.phase }}}}: the renewal cannot go on until"
        " its spec changes.",
        fires_when="The resource has been `NeedsInput` (the copy is noncompliant) or `Rejected`"
        " (Twilio refused it) for 1 day.",
        runbook="""1. `NeedsInput`: `kubectl get br <name> -n <namespace> -o yaml` and read
   `status.evaluation.failures`: each entry names the requirement, the object type and the
   missing field. Add the field to `spec.endUser.attributes` or the matching
   `spec.supportingDocuments[]` entry (a missing document: an entry of that `type` with a
   `file`).
2. `Rejected`: `status.review.failureReasons` and the Warning event name each refused
   document and Twilio's reason; fix the spec (a new `file`, a corrected number). The same copy
   is patched and resubmitted.""",
    ),
    Alert(
        name="BundleRenewalFailed",
        severity="warning",
        expr='bundle_renewal_phase{phase="Failed"} == 1',
        for_="1h",
        summary=f"BundleRenewal {_RESOURCE} has failed for an hour",
        description=f"{_RESOURCE} is Failed: a permanent problem only a person can fix.",
        fires_when="The resource has been `Failed` for 1 hour (permanent errors are retried"
        " slowly, so it will not heal by itself).",
        runbook="""1. `kubectl describe br <name> -n <namespace>`: the Stalled condition's reason
   and message. See the [reason table](../reference/reasons.md).
2. `CredentialsInvalid`: the Secret is missing, lacks a key, or the namespace lacks the
   credentials-reader RoleBinding (`examples/rbac-credentials-reader.yaml`).
   `AuthenticationFailed`: see
   [BundleRenewalTwilioAuthenticationFailing](bundlerenewaltwilioauthenticationfailing.md).
   `BundleNotFound`, `OriginalNotApproved`, `AmbiguousDocument`: fix the spec.
3. After fixing a Secret, touch `spec.renewalRequest` to retry at once.""",
    ),
    Alert(
        name="BundleRenewalReviewSlow",
        severity="warning",
        expr=f"bundle_renewal_in_review_seconds > {REVIEW_USUAL_DAYS} * {DAY}",
        for_=None,
        summary=f"BundleRenewal {_RESOURCE}: Twilio's review takes longer than usual",
        description=f"The copy of {_RESOURCE} has waited for Twilio's review for"
        " {{ $value | humanizeDuration }}.",
        fires_when="At once when the copy has been in review for more than"
        f" {REVIEW_USUAL_DAYS} days (Twilio usually answers within a few business days).",
        runbook="""1. Check the copy in the Twilio console (`status.copySid`): still
   `pending-review` or `in-review`?
2. Ask Twilio support about the review, naming the copy's SID, especially when the original's
   deadline is near (`bundle_renewal_valid_until_timestamp_seconds`).
3. Do not delete the resource: that deletes the copy and the review starts over.""",
    ),
    Alert(
        name="BundleDeadlineUncovered",
        severity="warning",
        expr="bundle_renewal_account_uncovered_bundles > 0",
        for_="15m",
        summary=f"ComplianceAccount {_RESOURCE}: bundles with a deadline have no BundleRenewal",
        description="{{ $value }} bundles of the Twilio account that"
        f" {_RESOURCE} watches must be renewed by their valid_until and no BundleRenewal"
        " covers them.",
        fires_when="A ComplianceAccount's last scan found bundles with a `valid_until` that no"
        " BundleRenewal (with credentials of the same account, in a namespace the operator"
        " watches) covers; for 15 minutes.",
        runbook="""1. `kubectl get ca <name> -n <namespace> -o yaml`: `status.deadlines` lists the
   soonest, uncovered first (`coveredBy` unset), with regulation, country and `validUntil`.
2. Write the renewals: `bundle-renewal scaffold --within 60d -n <namespace>` prints a
   BundleRenewal per uncovered bundle with what its regulation now lacks; fill in the values
   and apply. Or set `spec.renewals.create: DryRun` on the ComplianceAccount to have the
   operator create dry-run renewals whose reports say what each bundle needs.
3. A renewal exists but does not count: its credentials Secret names another account, or the
   operator cannot read it, or its namespace is not watched (`WATCH_NAMESPACES`; with shards,
   the ComplianceAccount's shard).
4. The bundle is not yours to renew (a customer's own compliance): ignore it by silencing the
   alert for that account.""",
    ),
    Alert(
        name="BundleRenewalOperatorAbsent",
        severity="critical",
        expr="absent(bundle_renewal_reconciles_total)",
        for_="15m",
        summary="The bundle-renewal operator's metrics are gone",
        description="No bundle-renewal operator has been scraped for 15 minutes: no renewal"
        " progresses and no deadline is watched.",
        fires_when="Prometheus has had no `bundle_renewal_reconciles_total` series for 15"
        " minutes: the operator is down, or Prometheus cannot scrape it.",
        runbook="""1. `kubectl get deploy,pods -n bundle-renewal-system`: is the pod running and
   ready? If not, `kubectl describe pod` and `kubectl logs --previous`.
2. Running: is the `metrics` port scraped? Check the target in Prometheus (Status > Targets);
   the ServiceMonitor in `manifests/monitoring/` selects the Service's `metrics` port.
3. `METRICS_PORT=0` turns the endpoint off: it must stay on for these alerts.""",
    ),
    Alert(
        name="BundleRenewalReconcilesFailing",
        severity="warning",
        expr="""sum(rate(bundle_renewal_reconciles_total{outcome!="ok"}[15m]))
  / sum(rate(bundle_renewal_reconciles_total[15m])) > 0.5""",
        for_="30m",
        summary="Most reconciles of BundleRenewals fail",
        description="{{ $value | humanizePercentage }} of reconciles failed over 15 minutes.",
        fires_when="More than half of all reconciles ended in an error (any outcome but `ok`)"
        " for 30 minutes.",
        runbook="""1. Which outcome?
   `sum by (outcome) (rate(bundle_renewal_reconciles_total[15m]))`
2. `transient`: Twilio or the API server fails; see the operator's log and
   [BundleRenewalTwilioRateLimited](bundlerenewaltwilioratelimited.md). `exception`: a bug or
   the API server refusing status patches (RBAC: `patch` on `bundlerenewals/status`); the log
   has the traceback.
3. `credentials`, `authentication`, `permanent`, `not_found`: per resource, see
   [BundleRenewalFailed](bundlerenewalfailed.md).""",
    ),
    Alert(
        name="BundleRenewalTwilioRateLimited",
        severity="warning",
        expr="""sum(rate(bundle_renewal_twilio_throttled_total[10m]))
  / sum(rate(bundle_renewal_twilio_requests_total[10m])) > 0.05""",
        for_="30m",
        summary="Twilio rate-limits the bundle-renewal operator",
        description="{{ $value | humanizePercentage }} of Twilio requests were answered 429.",
        fires_when="More than 5% of requests to Twilio have been answered 429 Too Many Requests"
        " for 30 minutes (retries absorb a few; this many slow every renewal).",
        runbook="""1. `sum by (operation) (rate(bundle_renewal_twilio_throttled_total[10m]))`: which
   calls? Other software on the same Twilio account shares its limits.
2. Lower `TWILIO_CONCURRENCY_PER_ACCOUNT` in `manifests/operator.env`, or raise
   `POLL_INTERVAL_SECONDS` when many copies are in review at once.
3. Is Twilio slow too? The 90th percentile of its answers:
   `histogram_quantile(0.9, sum by (le)
   (rate(bundle_renewal_twilio_request_duration_seconds_bucket[10m])))`.""",
    ),
    Alert(
        name="BundleRenewalCallbacksNotVerified",
        severity="warning",
        expr=f"""sum(increase(bundle_renewal_webhook_callbacks_total{{reason="not_verified"}}[{CALLBACK_WINDOW}]))
  > on () (
    sum(increase(bundle_renewal_webhook_callbacks_total{{code="204"}}[{CALLBACK_WINDOW}]))
    or on () vector(0)
  )
and on () max(bundle_renewal_webhook_enabled) == 1""",
        for_=None,
        summary="Twilio's status callbacks fail signature verification",
        description="{{ $value | humanize }} signed callbacks about managed bundles were refused"
        f" as not verified over {CALLBACK_WINDOW}, more than were accepted: renewals wait for"
        " polling.",
        fires_when="At once when, over the last hour and while the receiver serves, more"
        " callbacks naming a managed bundle and carrying a signature were refused as not"
        " verified than callbacks were accepted: Twilio's callbacks are probably all refused,"
        " and review decisions and regulation changes wait for the next poll.",
        runbook="""1. Which shape fails? `sum by (method, encoding)
   (increase(bundle_renewal_webhook_callbacks_total{reason="not_verified"}[1h]))`. The
   operator's log says why for each (`status callback refused (403)`, with the bundle and the
   resource): `signature does not match`, `another account's callback`, or no token.
2. `signature does not match` for every callback: `WEBHOOK_PUBLIC_URL` + `WEBHOOK_PATH` is not
   exactly the URL Twilio calls (scheme, host, port, a path prefix the Ingress strips); compare
   it with the bundle's `status_callback` at Twilio. Behind a proxy that rewrites the host, see
   `WEBHOOK_TRUST_FORWARDED_HEADERS` in [Status callbacks](../operations/webhook.md).
3. The token: Twilio signs with the account's auth token (a subaccount's own). A Secret with an
   API key needs `callbackAuthToken`; after rotating the auth token, update the Secret (a
   refusal or two within `WEBHOOK_TOKEN_CACHE_SECONDS` of a rotation is expected).
4. Not Twilio: requests with a signature header and a known bundle SID from elsewhere (the
   Ingress log's source addresses). They change nothing; restrict the Ingress if they go on.
5. Meanwhile renewals still progress on polling (`POLL_INTERVAL_SECONDS`).""",
    ),
    Alert(
        name="BundleRenewalTwilioAuthenticationFailing",
        severity="warning",
        expr="""sum(increase(
  bundle_renewal_twilio_request_failures_total{error="TwilioAuthenticationError"}[30m]
)) > 0""",
        for_="30m",
        summary="Twilio keeps refusing credentials of BundleRenewals",
        description="Twilio answered 401 to {{ $value }} requests over 30 minutes.",
        fires_when="Twilio has refused credentials (HTTP 401) in every 30-minute window for"
        " 30 minutes.",
        runbook="""1. `kubectl get br -A` and look for `AuthenticationFailed`: whose credentials?
2. The Secret's `authToken` or API key was rotated or revoked: update the Secret (the operator
   reads it again within 30 s), then touch `spec.renewalRequest` to retry now.
3. An API key needs `accountSid`, `apiKeySid` and `apiKeySecret`; see
   `examples/credentials-secret.yaml`.""",
    ),
]


def rule(alert: Alert, runbook_base: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"alert": alert.name, "expr": alert.expr}
    if alert.for_ is not None:
        entry["for"] = alert.for_
    entry["labels"] = {"severity": alert.severity}
    entry["annotations"] = {
        "summary": alert.summary,
        "description": alert.description,
        "runbook_url": alert.runbook_url(runbook_base),
    }
    return entry


def groups(runbook_base: str = RUNBOOK_BASE) -> list[dict[str, Any]]:
    return [{"name": GROUP, "rules": [rule(alert, runbook_base) for alert in ALERTS]}]


def prometheus_rule(runbook_base: str = RUNBOOK_BASE) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        # The component's objects are added at the overlay, after manifests/ set its namespace
        # and labels on its own objects: they name both themselves.
        "metadata": {
            "name": "bundle-renewal-operator",
            "namespace": NAMESPACE,
            "labels": dict(LABELS),
        },
        "spec": {"groups": groups(runbook_base)},
    }


class _Literal(str):
    """A string written as a YAML block (`|`), so multi-line PromQL stays readable."""


def _literal(dumper: yaml.SafeDumper, data: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")


yaml.SafeDumper.add_representer(_Literal, _literal)


def _blocks(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _blocks(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_blocks(item) for item in value]
    if isinstance(value, str) and "\n" in value:
        return _Literal(value + "\n")
    return value


def render(document: dict[str, Any], header: str) -> str:
    body = yaml.safe_dump(_blocks(document), sort_keys=False, width=10_000, allow_unicode=True)
    return header + body


HEADER = (
    "# Generated by devtools/alert_rules.py from its ALERTS: edit there and regenerate.\n"
    "# Runbooks: docs/runbooks/, one page per alert (its runbook_url).\n"
)


def outputs(runbook_base: str = RUNBOOK_BASE) -> dict[Path, str]:
    return {
        RULES_FILE: render({"groups": groups(runbook_base)}, HEADER),
        PROMETHEUS_RULE_FILE: render(prometheus_rule(runbook_base), HEADER),
    }


def main(argv: list[str]) -> int:
    base = RUNBOOK_BASE
    if "--runbook-base" in argv:
        base = with_slash(argv[argv.index("--runbook-base") + 1])
    stale = [path for path, text in outputs(base).items() if _read(path) != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(REPO_ROOT)} is stale: run devtools/alert_rules.py")
        return 1 if stale else 0
    for path, text in outputs(base).items():
        path.write_text(text)
    return 0


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
