"""The operator as a local process: `python -m controller` with environment settings.

`make demo` (devtools/demo/) and the integration tests (tests/integration/) run it the same way,
through this module: start it with environment settings (kubeconfig, simulator URL, intervals, ...),
its liveness and metrics endpoints on free loopback ports, wait until Kopf's liveness endpoint
answers, stop it gracefully (SIGTERM, as Kubernetes stops a pod) or SIGKILL it, start it again.
Everything it prints (stdout and stderr, across restarts) goes to one log file, which the demo
points people to and the secret-scanning test reads.

Import it as ``devtools.operator_runner`` from the repository root.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

from twilio_sim.server import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if `process` has not exited within `timeout` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class OperatorProcess:
    """One operator process at a time; `start()` again after `kill()` or `stop()` to restart."""

    def __init__(self, env: Mapping[str, str], log_path: Path):
        self.port = free_port()
        # The operator's own settings, apart from the environment it inherits (an image run
        # passes exactly these into its container).
        self.settings = {
            "LIVENESS_ENDPOINT": f"http://127.0.0.1:{self.port}/healthz",
            "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.env = {**os.environ, **self.settings}
        self.log_path = log_path
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://{self.env['METRICS_HOST']}:{self.env['METRICS_PORT']}/metrics"

    def metrics(self) -> str:
        """The body of GET /metrics."""
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:  # noqa: S310
            body: bytes = response.read()
            return body.decode()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The operator, from this checkout with this interpreter."""
        return [sys.executable, "-m", "controller"]

    def start(self, ready_timeout: float = 60.0, *, wait: bool = True) -> None:
        """Start the process; with `wait`, until its liveness endpoint answers 200."""
        if self.running:
            raise RuntimeError("the operator is already running")
        self._log = self.log_path.open("ab")
        self._log.write(f"\n=== operator start #{self.starts + 1} ===\n".encode())
        self._log.flush()
        self._process = subprocess.Popen(
            self.command(),
            cwd=REPO_ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1
        if wait:
            self.wait_ready(ready_timeout)

    def wait_ready(self, timeout: float) -> None:
        """Until Kopf's liveness endpoint answers 200 (it does once the operator is up)."""
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/healthz"
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(
                    f"the operator exited with {self.returncode()} (log: {self.log_path}):\n"
                    f"{self.output()[-4000:]}"
                )
            with (
                contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
                urllib.request.urlopen(url, timeout=1) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(
            f"the operator was not ready in {timeout}s (log: {self.log_path}):\n"
            f"{self.output()[-4000:]}"
        )

    def returncode(self) -> int | None:
        return self._process.poll() if self._process is not None else None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no final status patch, as in a node or OOM kill."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
        self._close_log()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, as Kubernetes stops a pod; SIGKILL if it does not exit in time."""
        if self._process is not None:
            stop_process(self._process, timeout)
        self._close_log()

    def output(self) -> str:
        if self._log is not None:
            self._log.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@contextlib.contextmanager
def running_operator(env: Mapping[str, str], log_path: Path) -> Iterator[OperatorProcess]:
    """A started operator (ready), stopped with SIGTERM on the way out."""
    operator = OperatorProcess(env, log_path)
    try:
        operator.start()
        yield operator
    finally:
        operator.stop()
