"""Start and stop etcd + kube-apiserver on free loopback ports, in one owned directory.

Everything a run creates (etcd data, keys, token file, kubeconfig, logs, a state file) lives in
one directory that ``stop()`` removes, and every process is stopped by the PID recorded when it
was started. Two modes:

- attached (the pytest fixture): the processes are children of this Python process and get
  SIGKILL if it dies, so even a killed test run leaves nothing behind;
- detached (``python -m controlplane up``): the processes outlive the command, and
  ``LocalControlPlane.stop_from_state(dir)`` (``down``) stops them later from the state file.

The API server uses a secure port only, bearer-token authentication (an admin token in the
``system:masters`` group) and RBAC authorization, with service-account keys so the TokenRequest
API works.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Self

from controlplane.pki import Pki, generate_pki
from controlplane.provision import Binaries, ensure_binaries

ADMIN_USER = "bro-admin"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
STATE_FILE = "state.json"
KUBECONFIG_FILE = "kubeconfig"


class ControlPlaneError(RuntimeError):
    """The control plane failed to start or stop cleanly."""


@dataclass(frozen=True)
class ClusterEndpoints:
    """How to reach a running control plane. ``admin_token`` is a secret: never log it."""

    server: str
    kubeconfig_path: Path
    ca_cert_path: Path
    admin_token: str
    etcd_url: str


@dataclass(frozen=True)
class _State:
    root_dir: str
    etcd_pid: int
    apiserver_pid: int
    ports: list[int]
    server: str
    kubeconfig_path: str


def free_loopback_ports(count: int) -> list[int]:
    """Ports the kernel says are free on 127.0.0.1 (held together so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pid_is_running(pid: int) -> bool:
    """Whether the PID names a live (non-zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # Field 3, after the parenthesised command name, is the state; Z and X are dead.
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in {"Z", "X"}


def _die_with_parent_prefix() -> list[str]:
    """An argv prefix making the server get SIGKILL when this process dies.

    ``setpriv`` (util-linux, Essential in Debian) sets the parent-death signal and execs the
    server under the same PID; unlike a ``preexec_fn`` it is safe in multi-threaded callers. The
    signal fires when the *thread* that started the process exits, so start the control plane
    from a long-lived thread (pytest's main thread is).

    SIGKILL, not SIGTERM: both servers get the signal at the same moment, etcd is gone within
    milliseconds, and kube-apiserver's graceful shutdown then waits on etcd requests (the
    ``kubernetes`` Service sync, RemoveEndpoints) until they time out, 20-35 s on a busy
    machine. An abandoned attached control plane has nothing worth shutting down gracefully:
    its data directory is throwaway. ``stop()`` still stops the servers gracefully, in order.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "SIGKILL", "--"] if setpriv else []


class LocalControlPlane:
    """etcd + kube-apiserver in ``root_dir`` (a fresh temporary directory by default).

    Use as a context manager, or call ``start()`` and ``stop()``. ``stop()`` removes
    ``root_dir``; ``restart()`` stops both servers and starts them again with the same data.
    """

    def __init__(
        self,
        root_dir: Path | None = None,
        *,
        detach: bool = False,
        startup_timeout: float = 60.0,
        binaries: Binaries | None = None,
    ) -> None:
        self._requested_root = root_dir
        self._detach = detach
        self._startup_timeout = startup_timeout
        self._binaries = binaries
        self._root: Path | None = None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        # How each server was started and how to tell it is ready, for restart().
        self._argv: dict[str, list[str]] = {}
        self._ready: dict[str, Callable[[], bool]] = {}
        self._logs: list[IO[bytes]] = []
        self._endpoints: ClusterEndpoints | None = None
        self.ports: list[int] = []
        self.startup_seconds: float | None = None

    # -- public API -----------------------------------------------------------------------------

    @property
    def endpoints(self) -> ClusterEndpoints:
        if self._endpoints is None:
            raise ControlPlaneError("the control plane is not running")
        return self._endpoints

    @property
    def root_dir(self) -> Path:
        if self._root is None:
            raise ControlPlaneError("the control plane has not been started")
        return self._root

    @property
    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self._procs.items()}

    def start(self) -> ClusterEndpoints:
        """Start etcd, then kube-apiserver, and wait until /readyz answers 200."""
        binaries = self._binaries or ensure_binaries()
        started = time.monotonic()
        self._root = self._make_root()
        try:
            endpoints = self._start_processes(binaries, self._root)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        self._endpoints = endpoints
        if self._detach:
            self._write_state()
        return endpoints

    def stop(self) -> None:
        """Stop kube-apiserver, then etcd, by PID, and remove the root directory."""
        errors: list[str] = []
        for name in ("kube-apiserver", "etcd"):
            proc = self._procs.pop(name, None)
            if proc is not None and not _stop_child(proc):
                errors.append(f"{name} (pid {proc.pid}) did not exit")
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
        self._endpoints = None
        if errors:
            raise ControlPlaneError("; ".join(errors))

    def restart(self, *, down_seconds: float = 0.0, hard: bool = False) -> float:
        """Stop kube-apiserver and etcd (in that order), wait ``down_seconds``, and start both
        again on the same ports with the same data, keys and token: an outage of the whole
        control plane, after which clients keep their kubeconfig and find their objects (the
        chaos suite's API-server restart). ``hard``: SIGKILL, a crash; otherwise SIGTERM, which
        kube-apiserver 1.20 does not honour within 15 s while a client watches (then SIGKILL).
        Returns the seconds from the stop to /readyz answering again."""
        root = self.root_dir
        if set(self._procs) != {"etcd", "kube-apiserver"}:
            raise ControlPlaneError("the control plane is not running")
        started = time.monotonic()
        for name in ("kube-apiserver", "etcd"):
            proc = self._procs.pop(name)
            if hard:
                proc.kill()
            if not _stop_child(proc):
                raise ControlPlaneError(f"{name} (pid {proc.pid}) did not exit")
        time.sleep(down_seconds)
        for name in ("etcd", "kube-apiserver"):
            self._spawn(name, self._argv[name], root)
            self._wait_for(name, self._ready[name])
        if self._detach:
            self._write_state()
        return time.monotonic() - started

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @classmethod
    def read_state(cls, root_dir: Path) -> dict[str, Any] | None:
        """The state a detached ``start()`` recorded in ``root_dir``, if any."""
        path = root_dir / STATE_FILE
        if not path.is_file():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    @classmethod
    def is_running(cls, root_dir: Path) -> bool:
        state = cls.read_state(root_dir)
        if state is None:
            return False
        pids = [state["etcd_pid"], state["apiserver_pid"]]
        return all(_owned_pid_alive(pid, root_dir) for pid in pids)

    @classmethod
    def stop_from_state(cls, root_dir: Path, *, timeout: float = 15.0) -> list[int]:
        """Stop what a detached run recorded in ``root_dir`` and remove the directory.

        Only PIDs whose command line still names ``root_dir`` are signalled, so a recycled PID
        is never killed. Returns the PIDs that were stopped.
        """
        state = cls.read_state(root_dir)
        stopped: list[int] = []
        if state is not None:
            for pid in (state["apiserver_pid"], state["etcd_pid"]):
                if _owned_pid_alive(pid, root_dir):
                    _stop_pid(pid, timeout)
                    stopped.append(pid)
                if pid_is_running(pid):
                    raise ControlPlaneError(f"pid {pid} did not exit")
        shutil.rmtree(root_dir, ignore_errors=True)
        return stopped

    # -- internals ------------------------------------------------------------------------------

    def _make_root(self) -> Path:
        if self._requested_root is None:
            return Path(tempfile.mkdtemp(prefix="bro-controlplane-"))
        root = self._requested_root.resolve()
        if root.exists() and any(root.iterdir()):
            raise ControlPlaneError(f"{root} is not empty; stop the previous control plane first")
        root.mkdir(parents=True, exist_ok=True)
        return root

    def _start_processes(self, binaries: Binaries, root: Path) -> ClusterEndpoints:
        etcd_client, etcd_peer, secure_port = free_loopback_ports(3)
        self.ports = [etcd_client, etcd_peer, secure_port]
        pki = generate_pki(root / "pki")
        token = secrets.token_urlsafe(32)
        tokens_file = root / "tokens.csv"
        tokens_file.write_text(f'{token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
        tokens_file.chmod(0o600)

        etcd_url = f"http://127.0.0.1:{etcd_client}"
        peer_url = f"http://127.0.0.1:{etcd_peer}"
        self._spawn(
            "etcd",
            [
                str(binaries.etcd),
                "--name=bro",
                f"--data-dir={root / 'etcd-data'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=bro={peer_url}",
                "--initial-cluster-state=new",
                "--logger=zap",
                "--log-level=warn",
            ],
            root,
        )
        self._ready["etcd"] = lambda: _http_ok(f"{etcd_url}/health")
        self._wait_for("etcd", self._ready["etcd"])

        server = f"https://127.0.0.1:{secure_port}"
        self._spawn(
            "kube-apiserver",
            _apiserver_args(binaries.kube_apiserver, root, pki, etcd_url, secure_port, tokens_file),
            root,
        )
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._ready["kube-apiserver"] = lambda: _http_ok(
            f"{server}/readyz", token=token, context=context
        )
        self._wait_for("kube-apiserver", self._ready["kube-apiserver"])
        kubeconfig = root / KUBECONFIG_FILE
        _write_kubeconfig(kubeconfig, server, pki.ca_cert, token)
        return ClusterEndpoints(
            server=server,
            kubeconfig_path=kubeconfig,
            ca_cert_path=pki.ca_cert,
            admin_token=token,
            etcd_url=etcd_url,
        )

    def _spawn(self, name: str, argv: list[str], root: Path) -> None:
        log = (root / f"{name}.log").open("ab")
        self._logs.append(log)
        self._argv[name] = argv
        prefix = [] if self._detach else _die_with_parent_prefix()
        self._procs[name] = subprocess.Popen(
            [*prefix, *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            start_new_session=self._detach,
        )

    def _wait_for(self, name: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self._startup_timeout
        proc = self._procs[name]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ControlPlaneError(
                    f"{name} exited with code {proc.returncode} during startup:\n"
                    + self._log_tail(name)
                )
            if ready():
                return
            time.sleep(0.1)
        raise ControlPlaneError(
            f"{name} was not ready after {self._startup_timeout:.0f} s:\n" + self._log_tail(name)
        )

    def _log_tail(self, name: str, lines: int = 30) -> str:
        path = self.root_dir / f"{name}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def _write_state(self) -> None:
        endpoints = self.endpoints
        state = _State(
            root_dir=str(self.root_dir),
            etcd_pid=self._procs["etcd"].pid,
            apiserver_pid=self._procs["kube-apiserver"].pid,
            ports=self.ports,
            server=endpoints.server,
            kubeconfig_path=str(endpoints.kubeconfig_path),
        )
        (self.root_dir / STATE_FILE).write_text(json.dumps(asdict(state), indent=2) + "\n")


def _apiserver_args(
    binary: Path, root: Path, pki: Pki, etcd_url: str, secure_port: int, tokens_file: Path
) -> list[str]:
    return [
        str(binary),
        f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={secure_port}",
        # 1.20 still serves an unauthenticated port on localhost:8080 unless told not to.
        "--insecure-port=0",
        f"--cert-dir={root / 'pki'}",
        f"--tls-cert-file={pki.server_cert}",
        f"--tls-private-key-file={pki.server_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--token-auth-file={tokens_file}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        f"--service-account-key-file={pki.service_account_public_key}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        "--profiling=false",
        "--v=0",
    ]


def _write_kubeconfig(path: Path, server: str, ca_cert: Path, token: str) -> None:
    """Write an admin kubeconfig (JSON, which every YAML reader accepts), mode 0600."""
    ca_data = base64.b64encode(ca_cert.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "bro-local",
                "cluster": {"server": server, "certificate-authority-data": ca_data},
            }
        ],
        "users": [{"name": ADMIN_USER, "user": {"token": token}}],
        "contexts": [
            {
                "name": "bro-local",
                "context": {"cluster": "bro-local", "user": ADMIN_USER, "namespace": "default"},
            }
        ],
        "current-context": "bro-local",
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(config, out, indent=2)
        out.write("\n")


def _http_ok(url: str, *, token: str | None = None, context: ssl.SSLContext | None = None) -> bool:
    request = urllib.request.Request(url)  # noqa: S310 - loopback URLs we built
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError):
        return False


def _stop_child(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> bool:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
    return proc.poll() is not None


def _owned_pid_alive(pid: int, root_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return str(root_dir.resolve()).encode() in cmdline and pid_is_running(pid)


def _stop_pid(pid: int, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_is_running(pid):
        time.sleep(0.1)
    if pid_is_running(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and pid_is_running(pid):
            time.sleep(0.1)
