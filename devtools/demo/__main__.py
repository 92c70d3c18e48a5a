"""`make demo`: the whole product on one machine, from a fresh clone to Completed renewals.

What it does, in order (each step prints a line):
1. starts a local Kubernetes control plane (etcd + kube-apiserver 1.20 on loopback; `make
   envtest` built it) and installs manifests/ into it with server-side apply;
2. starts the Twilio simulator (`python -m twilio_sim`) with a demo account preloaded, seeds one
   approved bundle per example and publishes regulation changes, so that Twilio (simulated)
   asks for renewals;
3. creates namespace `telecom` with the credentials Secret and the credentials-reader binding;
4. runs the operator (`python -m controller`) as the manifests' ServiceAccount (a TokenRequest
   token, not admin) with the settings of manifests/operator.env, pointed at the simulator;
   the local control plane has no nodes, so the Deployment itself stays at 0/1;
5. applies examples/ (server-side, so that kubectl keeps no copy of a spec in an annotation)
   with each bundleSid replaced by its seeded bundle, and shows `kubectl get bundlerenewals`
   until every example is in its intended state. The individuals' examples read their personal
   data from Secrets (valueFrom, attributesFrom).
It prints how long the examples took to settle, then how to look around, and waits for Ctrl-C,
stopping everything it started.

Non-interactive (CI=true, or stdin is not a terminal): it stops everything right away and exits
0 only if every example reached its intended state. `CLUSTER=kind` uses a kind cluster and the
operator image instead (needs Docker: not available on the project's build machines); a kind
cluster the demo created is deleted at the end when non-interactive.

Before anything starts it checks its prerequisites (a kubectl >= 1.24 for `apply -k`; for kind,
kind and a Docker engine) and, if one is missing, says what and how to get it, and exits 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from devtools.demo.common import (
    TIMEOUT_SECONDS,
    elapsed,
    interactive,
    missing_prerequisites,
    say,
)
from devtools.demo.kind import (
    run_kind,
)
from devtools.demo.local import (
    run_local,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ["DEMO_WORKDIR"]) if os.environ.get("DEMO_WORKDIR") else None,
        help="where logs and kubeconfigs go (default: a temporary directory; env DEMO_WORKDIR)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    kind = os.environ.get("CLUSTER", "local") == "kind"
    missing = missing_prerequisites(kind)
    if missing:
        say("cannot start: this machine lacks\n  - " + "\n  - ".join(missing))
        return 2
    if kind:
        code = 0 if run_kind(args.timeout, started) else 1
        say(f"done in {elapsed(started)}")
        return code
    # SIGTERM (e.g. from CI) stops the demo like Ctrl-C does, through the same clean-up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="demo-")))
            if interactive():
                stack.pop_all()  # keep the logs for people to read afterwards
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        try:
            code = 0 if run_local(workdir, args.timeout, started) else 1
        except KeyboardInterrupt:
            say("interrupted; everything the demo started has been stopped")
            return 130
    say(f"done in {elapsed(started)} (everything it started is stopped)")
    return code


if __name__ == "__main__":
    sys.exit(main())
