"""The `bundle-renewal` command line (also run as `kubectl bundlerenewal`): arguments, the
commands' wiring, output format and exit codes (controller/cli/errors.py lists them)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO, TypeVar

from controller.adapters.twilio_gateway.port import (
    TwilioAccountReader,
    TwilioAuthenticationError,
    TwilioCredentials,
    TwilioError,
)
from controller.cli import access, renew, scaffold, status
from controller.cli.errors import CliError, ExitCode
from controller.cli.kube import Kube, cluster_configured
from controller.cli.output import Progress, dump, iso, parse_duration, parse_moment, table
from controller.engine.accounts.scan import (
    BundleRow,
    ScanOptions,
    ScanResult,
    scan,
    uncovered_within,
)

T = TypeVar("T")
DEFAULT_SECRET = "twilio-credentials"  # noqa: S105 - a Secret's name


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--kubeconfig", help="kubeconfig file (default: KUBECONFIG, ~/.kube/config)"
    )
    common.add_argument("--context", help="kubeconfig context (default: the current one)")
    common.add_argument("-n", "--namespace", help="namespace (default: the context's)")
    common.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    common.add_argument(
        "--credentials-secret",
        metavar="NAMESPACE/NAME",
        help="Twilio credentials from this Secret (the operator's keys); default: "
        "TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    invoked = os.path.basename(sys.argv[0])
    top = argparse.ArgumentParser(
        prog="kubectl bundlerenewal" if invoked.startswith("kubectl-") else "bundle-renewal",
        description="Find Twilio bundles that need renewal; scaffold, inspect and renew "
        "BundleRenewals. Exit codes: 0 ok, 1 scan --within found an uncovered bundle, 2 usage, "
        "3 configuration or credentials, 4 Twilio or Kubernetes API error, 5 not found.",
    )
    commands = top.add_subparsers(dest="command", required=True)

    selection = argparse.ArgumentParser(add_help=False)
    selection.add_argument("--within", metavar="DURATION", help="deadline window, e.g. 30d")
    selection.add_argument("--due", action="store_true", help="only bundles with a valid_until")
    selection.add_argument(
        "--until", metavar="DATE|DURATION", help="valid_until on or before (ValidUntilDate<)"
    )
    selection.add_argument(
        "--since", metavar="DATE|DURATION", help="valid_until on or after (ValidUntilDate>)"
    )
    selection.add_argument("--no-numbers", action="store_true", help="skip phone-number counts")
    selection.add_argument("--page-size", type=int, default=100, help="Twilio list page size")

    s = commands.add_parser(
        "scan",
        parents=[common, selection],
        help="every bundle of the account, soonest deadline first",
    )
    s.add_argument("--no-evaluate", action="store_true", help="skip the evaluations")
    s.add_argument("-o", "--output", choices=["table", "yaml", "json"], default="table")

    f = commands.add_parser(
        "scaffold", parents=[common, selection], help="BundleRenewal YAML for uncovered bundles"
    )
    f.add_argument("--secret-name", help=f"credentialsSecretRef.name (default {DEFAULT_SECRET})")

    st = commands.add_parser("status", parents=[common], help="one BundleRenewal, on one screen")
    st.add_argument("name")
    st.add_argument("--no-numbers", action="store_true", help="skip the phone-number count")
    st.add_argument("-o", "--output", choices=["text", "yaml", "json"], default="text")

    r = commands.add_parser("renew", parents=[common], help="request a renewal now")
    r.add_argument("names", nargs="*", metavar="NAME")
    r.add_argument("-l", "--selector", help="label selector")
    r.add_argument("--all", action="store_true", help="every BundleRenewal in the namespace(s)")
    r.add_argument("-o", "--output", choices=["table", "yaml", "json"], default="table")
    return top


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = parser().parse_args(argv)
    out = out or sys.stdout
    try:
        command: Callable[[argparse.Namespace, TextIO], int] = {
            "scan": run_scan,
            "scaffold": run_scaffold,
            "status": run_status,
            "renew": run_renew,
        }[args.command]
        return command(args, out)
    except CliError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return int(exc.code)


def _now() -> datetime:
    return datetime.now(UTC)


def _kube(args: argparse.Namespace) -> Kube:
    return Kube(args.kubeconfig, args.context)


def _namespace(args: argparse.Namespace, kube: Kube) -> str | None:
    return None if args.all_namespaces else (args.namespace or kube.namespace)


def _with_reader(
    credentials: TwilioCredentials,
    page_size: int | None,
    work: Callable[[TwilioAccountReader], Awaitable[T]],
) -> T:
    async def go() -> T:
        factory = access.gateway_factory(os.environ, page_size)
        try:
            return await work(factory.for_credentials(credentials))
        finally:
            await factory.close()

    try:
        return asyncio.run(go())
    except TwilioAuthenticationError as exc:
        raise CliError(f"Twilio refused the credentials: {exc}", ExitCode.CONFIGURATION) from None
    except TwilioError as exc:
        raise CliError(f"Twilio: {exc}", ExitCode.API_ERROR) from None


def _scan(args: argparse.Namespace, kube: Kube | None, evaluate: bool) -> ScanResult:
    """The account's bundles; without `kube` (no cluster), coverage by BundleRenewals is
    unknown."""
    credentials = access.resolve_credentials(args.credentials_secret, kube)
    if credentials is None:
        raise CliError(
            "no Twilio credentials: --credentials-secret NAMESPACE/NAME, or TWILIO_ACCOUNT_SID"
            " with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)",
            ExitCode.CONFIGURATION,
        )
    now = _now()
    options = ScanOptions(
        due_only=args.due,
        until=parse_moment(args.until, now) if args.until else None,
        since=parse_moment(args.since, now) if args.since else None,
        numbers=not args.no_numbers,
        evaluate=evaluate,
        quiet=args.quiet,
    )
    renewals = kube.list_renewals(_namespace(args, kube)) if kube is not None else None
    return _with_reader(
        credentials,
        args.page_size,
        lambda reader: scan(
            reader,
            options,
            renewals,
            now,
            progress=lambda what: Progress(what, quiet=options.quiet),
        ),
    )


def _kube_unless_absent(args: argparse.Namespace) -> Kube | None:
    """The cluster, or None when none is configured at all (no kubeconfig, not in a pod) and
    the Twilio credentials come from the environment: `scan` then reads Twilio alone, and says
    once that coverage is unknown. A named Secret, or a kubeconfig that is there but broken,
    still needs the cluster."""
    if (
        args.credentials_secret is None
        and not cluster_configured(args.kubeconfig, args.context)
        and access.credentials_from_env(os.environ) is not None
    ):
        sys.stderr.write(
            "no kubeconfig and not in a cluster: coverage by BundleRenewals is unknown,"
            " scanning Twilio only\n"
        )
        return None
    return _kube(args)


def _missing_text(row: BundleRow) -> str:
    if row.missing is None:
        return "-" if row.bundle.valid_until is None else "(not evaluated)"
    if not row.missing:
        return "nothing"
    names = []
    for m in row.missing:
        name = f"{m.object_type}.{m.field}" if m.field else f"{m.object_type} (document)"
        if name not in names:
            names.append(name)
    return ", ".join(names)


def _coverage_text(row: BundleRow) -> str:
    if row.covered_by is None:
        return "<unknown>"
    names = [f"{c.namespace}/{c.name} ({c.phase or 'no phase'})" for c in row.covered_by]
    return ", ".join(names) or "<none>"


def _row_data(row: BundleRow) -> dict[str, Any]:
    return {
        "sid": row.bundle.sid,
        "friendlyName": row.bundle.friendly_name,
        "regulationSid": row.bundle.regulation_sid,
        "regulation": row.regulation.friendly_name if row.regulation else None,
        "status": row.bundle.status.value,
        "validUntil": row.bundle.valid_until,
        "daysLeft": row.days_left,
        "phoneNumbers": row.numbers,
        "renewals": None
        if row.covered_by is None
        else [{"namespace": c.namespace, "name": c.name, "phase": c.phase} for c in row.covered_by],
        "compliant": row.compliant,
        "missing": None
        if row.missing is None
        else [
            {
                "requirementName": m.requirement_name,
                "requirementFriendlyName": m.requirement_friendly_name,
                "objectType": m.object_type,
                "field": m.field,
                "errorCode": m.error_code,
            }
            for m in row.missing
        ],
    }


def run_scan(args: argparse.Namespace, out: TextIO) -> int:
    within = parse_duration(args.within) if args.within else None
    kube = _kube_unless_absent(args)
    try:
        result = _scan(args, kube, evaluate=not args.no_evaluate)
    finally:
        if kube is not None:
            kube.close()
    uncovered = uncovered_within(result, result.now + within) if within is not None else []
    if args.output == "table":
        table(
            ["BUNDLE", "FRIENDLY NAME", "REGULATION", "STATUS", "VALID UNTIL", "DAYS", "NUMBERS",
             "RENEWAL", "MISSING"],
            [
                [
                    r.bundle.sid, r.bundle.friendly_name, r.regulation.friendly_name if r.regulation
                    else r.bundle.regulation_sid, r.bundle.status.value, iso(r.bundle.valid_until),
                    r.days_left, r.numbers,
                    _coverage_text(r),
                    _missing_text(r),
                ]
                for r in result.rows
            ],
            out,
        )  # fmt: skip
    else:
        dump({"items": [_row_data(r) for r in result.rows]}, args.output, out)
    if result.copies_skipped and not args.quiet:
        sys.stderr.write(f"{result.copies_skipped} renewal copies in flight not listed\n")
    if uncovered:
        known = "have no BundleRenewal" if kube is not None else "may have no BundleRenewal"
        sys.stderr.write(
            f"{len(uncovered)} bundle(s) due within {args.within} {known}: "
            + ", ".join(r.bundle.sid for r in uncovered)
            + "\n"
        )
        return int(ExitCode.UNCOVERED)
    return int(ExitCode.OK)


def run_scaffold(args: argparse.Namespace, out: TextIO) -> int:
    kube = _kube(args)
    try:
        namespace = args.namespace or kube.namespace
        args.due = True
        result = _scan(args, kube, evaluate=True)
    finally:
        kube.close()
    horizon = result.now + parse_duration(args.within) if args.within else None
    rows = [
        r
        for r in result.rows
        if not r.covered_by and (horizon is None or (r.bundle.valid_until or horizon) <= horizon)
    ]
    secret = args.secret_name or (
        access.split_reference(args.credentials_secret, namespace)[1]
        if args.credentials_secret
        else DEFAULT_SECRET
    )
    if not rows:
        sys.stderr.write("no uncovered bundle with a valid_until: nothing to scaffold\n")
        return int(ExitCode.OK)
    out.write(scaffold.render(rows, namespace, secret))
    return int(ExitCode.OK)


def run_status(args: argparse.Namespace, out: TextIO) -> int:
    kube = _kube(args)
    try:
        namespace = args.namespace or kube.namespace
        given = access.resolve_credentials(args.credentials_secret, kube)

        async def read(resource: dict[str, Any]) -> dict[str, Any]:
            spec = resource.get("spec") or {}
            credentials = given or access.credentials_from_secret(
                kube, namespace, (spec.get("credentialsSecretRef") or {}).get("name", "")
            )
            factory = access.gateway_factory(os.environ)
            try:
                return await status.live_bundles(
                    factory.for_credentials(credentials),
                    spec.get("bundleSid"),
                    (resource.get("status") or {}).get("copySid"),
                    numbers=not args.no_numbers,
                )
            finally:
                await factory.close()

        report = status.gather(kube, namespace, args.name, read, asyncio.run)
    finally:
        kube.close()
    if args.output == "text":
        status.render(report, _now(), out)
    else:
        dump(report, args.output, out)
    return int(ExitCode.OK)


def run_renew(args: argparse.Namespace, out: TextIO) -> int:
    chosen_ways = sum([bool(args.names), bool(args.selector), bool(args.all)])
    if chosen_ways != 1:
        raise CliError("renew needs exactly one of: NAME..., -l SELECTOR, --all", ExitCode.USAGE)
    kube = _kube(args)
    try:
        namespace = _namespace(args, kube)
        if args.names and namespace is None:
            raise CliError("renew NAME needs one namespace (-n), not -A", ExitCode.USAGE)
        chosen = renew.targets(kube, namespace, list(args.names), args.selector)
        touched = renew.renew(kube, chosen, _now())
    finally:
        kube.close()
    if not touched:
        sys.stderr.write("no BundleRenewal matched: nothing touched\n")
    if args.output == "table":
        for t in touched:
            note = " (suspended: nothing happens until resumed)" if t.suspended else ""
            out.write(f"{t.namespace}/{t.name}: renewal requested{note}\n")
    else:
        dump(
            {"touched": [{"namespace": t.namespace, "name": t.name,
                          "renewalRequest": t.renewal_request} for t in touched]},
            args.output, out,
        )  # fmt: skip
    return int(ExitCode.OK)
