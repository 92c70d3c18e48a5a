"""The fleet benchmark's figures, side by side: one column per scenario, one row per figure.

This machine is shared and noisy, so absolute seconds from different runs do not compare; the
ratios printed here (time / bound, baseline / operator) come from one run, where every scenario
met the same noise. Pure formatting of the results ``bench.fleet`` collects (its JSON).
"""

from __future__ import annotations

from typing import Any

from bench.fleet_sim import Profile

#: The calls a renewal cannot do without, in order.
NECESSARY_CALLS = (
    "copy",
    "list the copy's items",
    "update end-user",
    "update document",
    "evaluate",
    "submit",
    "ReplaceItems",
    "delete the copy",
)
RC = "/v2/RegulatoryCompliance/"


def bound_seconds(renewals: int, profile: Profile) -> float:
    """The physical bound of issue 10: every necessary call of every renewal through the
    account's concurrency cap, plus one review."""
    per_call = profile.latency_ms / 1000
    return renewals * len(NECESSARY_CALLS) * per_call / profile.concurrency + profile.review_seconds


def bound_formula(profile: Profile) -> str:
    return (
        f"bound(N) = N x {len(NECESSARY_CALLS)} calls x {profile.latency_ms / 1000:g} s"
        f" / {profile.concurrency} concurrent + {profile.review_seconds:g} s review"
        f"  (calls: {', '.join(NECESSARY_CALLS)})"
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def table(title: str, columns: list[str], rows: list[tuple[str, list[Any]]]) -> str:
    labels = [label for label, _ in rows]
    cells = [[_fmt(v) for v in values] for _, values in rows]
    first = max([len(title), *map(len, labels)])
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [
        title.ljust(first) + "".join(f"  {c:>{w}}" for c, w in zip(columns, widths, strict=True))
    ]
    for label, row in zip(labels, cells, strict=True):
        lines.append(
            label.ljust(first) + "".join(f"  {v:>{w}}" for v, w in zip(row, widths, strict=True))
        )
    return "\n".join(lines)


def _name(run: dict[str, Any]) -> str:
    return f"{run['mode']} {run['renewals']}"


PER_RENEWAL = (
    "calls_total_per_renewal",
    "calls_429_per_renewal",
    "polls_per_renewal",
)


def pool_guides(guides: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The guide script's per-renewal figures pooled over its runs, one entry per thread count
    (they do not depend on N: each renewal is the same sequence), weighted by renewals run."""
    pooled = []
    for threads in dict.fromkeys(g["threads"] for g in guides):
        runs = [g for g in guides if g["threads"] == threads]
        ran = sum(g["sampled"] for g in runs)
        routes = {route for g in runs for route in g["calls_per_renewal"]}
        entry: dict[str, Any] = {
            "name": "guide seq" if threads == 1 else f"guide {threads}t",
            "calls_per_renewal": {
                r: sum(g["calls_per_renewal"].get(r, 0.0) * g["sampled"] for g in runs) / ran
                for r in routes
            },
        }
        for key in PER_RENEWAL:
            entry[key] = sum(g[key] * g["sampled"] for g in runs) / ran
        pooled.append(entry)
    return pooled


def render(results: dict[str, Any]) -> str:
    """The whole report, as printed at the end of ``make bench-fleet``."""
    profile = Profile(**results["profile"])
    ops: list[dict[str, Any]] = results["operator"]
    guides: list[dict[str, Any]] = results["guide"]
    sizes: list[int] = results["sizes"]
    out = [
        f"Fleet benchmark, {results['date']}, {results['machine']}",
        f"command: {results['command']}",
        f"simulated Twilio: {profile.latency_ms:g} ms per request, {profile.concurrency}"
        f" concurrent requests per account (429 beyond), review decided"
        f" {profile.review_seconds:g} s after submission",
        bound_formula(profile),
        f"operator: default settings (webhook: WEBHOOK_PUBLIC_URL set; polling: unset), all"
        f" renewals in one account; guide script: poll every {results['guide_poll_seconds']:g} s",
        "",
    ]
    columns = [f"N={n}" for n in sizes]
    rows: list[tuple[str, list[Any]]] = []
    by = {(r["mode"], r["renewals"]): r for r in ops}
    modes = list(dict.fromkeys(r["mode"] for r in ops))
    for mode in modes:
        rows.append(
            (f"operator ({mode}), s", [by.get((mode, n), {}).get("seconds") for n in sizes])
        )
    gby = {(g["threads"], g["renewals"]): g for g in guides}
    threads = list(dict.fromkeys(g["threads"] for g in guides))
    for t in threads:
        label = "sequential" if t == 1 else f"{t} threads"
        rows.append(
            (f"guide script ({label}), s", [gby.get((t, n), {}).get("seconds") for n in sizes])
        )
        rows.append(
            ("  sampled: renewals run", [gby.get((t, n), {}).get("sampled") for n in sizes])
        )
    for mode in modes:
        for stat in ("median", "p90"):
            rows.append(
                (
                    f"  decision to Completed, {stat}, s ({mode})",
                    [
                        by.get((mode, n), {}).get("decision_to_completed_seconds", {}).get(stat)
                        for n in sizes
                    ],
                )
            )
    rows.append(("bound, s", [bound_seconds(n, profile) for n in sizes]))
    for mode in modes:
        rows.append(
            (
                f"operator ({mode}) / bound",
                [by.get((mode, n), {}).get("time_over_bound") for n in sizes],
            )
        )
    for t in threads:
        for mode in modes:
            label = "sequential" if t == 1 else f"{t} threads"
            values = []
            for n in sizes:
                op, guide = by.get((mode, n)), gby.get((t, n))
                values.append(guide["seconds"] / op["seconds"] if op and guide else None)
            rows.append((f"guide ({label}) / operator ({mode})", values))
    out += [table("Time", columns, rows), ""]

    pooled = pool_guides(guides)
    names = [_name(r) for r in ops] + [g["name"] for g in pooled]
    every = [*ops, *pooled]
    routes = sorted({route for r in every for route in r["calls_per_renewal"]})
    rows = [
        (route.replace(RC, ""), [r["calls_per_renewal"].get(route, 0.0) for r in every])
        for route in routes
    ]
    rows.append(("total Twilio calls", [r["calls_total_per_renewal"] for r in every]))
    rows.append(("  answered 429", [r["calls_429_per_renewal"] for r in every]))
    rows.append(
        ("polls (reads of a review, to the decision)", [r["polls_per_renewal"] for r in every])
    )
    out += [table("Twilio calls per renewal", names, rows), ""]

    op_names = [_name(r) for r in ops]
    kinds = list(ops[0]["kube_writes_per_renewal"]) if ops else []
    rows = [(kind, [r["kube_writes_per_renewal"][kind] for r in ops]) for kind in kinds]
    rows.append(("total", [sum(r["kube_writes_per_renewal"].values()) for r in ops]))
    out += [table("Kubernetes writes per renewal", op_names, rows), ""]

    processes = list(ops[0]["cpu_seconds_per_renewal"]) if ops else []
    rows = [(p, [r["cpu_seconds_per_renewal"][p] for r in ops]) for p in processes]
    out += [table("CPU seconds per renewal", op_names, rows), ""]

    idle = results.get("idle")
    mem_names = [*op_names, *([f"idle {idle['resources']}"] if idle else [])]
    mem_runs = [*ops, *([idle] if idle else [])]
    rows = [
        ("VmRSS at start (0 resources)", [r["memory_start"]["rss_mib"] for r in mem_runs]),
        ("VmRSS with N resources", [r["memory_end"]["rss_mib"] for r in mem_runs]),
        ("VmHWM (peak)", [r["memory_end"]["peak_mib"] for r in mem_runs]),
    ]
    out += [table("Operator memory, MiB", mem_names, rows), ""]
    if idle:
        out += [
            f"idle: {idle['resources']} suspended resources settled in {idle['seconds']:.0f} s;"
            f" per resource: {idle['kube_writes_per_resource']:.2f} Kubernetes writes,"
            f" {idle['cpu_seconds_per_resource']['operator'] * 1000:.1f} ms operator CPU",
            "",
        ]

    startup = results.get("startup")
    if startup:
        out += [
            f"start-up: {startup['resources']} suspended resources in place before the operator"
            f" started: every one had a status {startup['seconds']:.1f} s after its process"
            f" started (live after {startup['ready_seconds']:.1f} s)",
            "",
        ]

    rows = [
        ("resources deleted", [r["deletion"]["deleted"] for r in ops]),
        ("Twilio calls per resource", [r["deletion"]["calls_per_resource"] for r in ops]),
        (
            "Kubernetes writes per resource",
            [r["deletion"]["kube_writes_per_resource"] for r in ops],
        ),
        ("seconds", [r["deletion"]["seconds"] for r in ops]),
        ("left (not released in time)", [r["deletion"]["left"] for r in ops]),
    ]
    out += [table("Deletion (after the renewals)", op_names, rows), ""]

    problems = [f"{_name(r)}: {p}" for r in ops for p in r["problems"]]
    problems += [
        f"guide {g['threads']}t {g['renewals']}: {p}" for g in guides for p in g["problems"]
    ]
    for scenario in ("startup", "idle"):
        run = results.get(scenario)
        problems += [f"{scenario}: {p}" for p in (run["problems"] if run else [])]
    out.append(
        "problems: "
        + (
            "; ".join(problems)
            if problems
            else "none (every renewal completed with exactly one copy)"
        )
    )
    out.append(f"whole run: {results['wall_seconds']:.0f} s")
    return "\n".join(out)
