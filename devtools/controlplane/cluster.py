"""Start and stop etcd + kube-apiserver on free loopback ports, in one owned directory.

Everything a run creates (etcd data, keys, token file, kubeconfig, logs, a state file) lives in
one directory that ``stop()`` removes, and every process is stopped by the PID recorded when it
was started. Two modes:

- attached (the pytest fixture): the processes are children of this Python process and get
  SIGKILL if it dies, so even a killed test run leaves nothing behind;
- detached (``python3 -m devtools.controlplane up``): the processes outlive the command, and
  ``LocalControlPlane.stop_from_state(dir)`` (``down``) stops them later from the state file.

``stop_servers()`` / ``start_servers()`` / ``restart()`` take the servers down and bring them
back with the same data, ports and kubeconfig, as a control-plane upgrade does (the operator's
outage tests use them).

The API server uses a secure port only, bearer-token authentication (an admin token in the
``system:masters`` group) and RBAC authorization, with service-account keys so the TokenRequest
API works.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Self

from devtools.controlplane.pki import Pki, generate_pki
from devtools.controlplane.processes import (
    die_with_parent_prefix,
    free_loopback_ports,
    http_ok,
    owned_pid_alive,
    pid_is_running,
    stop_child,
    stop_pid,
)
from devtools.controlplane.provision import Binaries, ensure_binaries

ADMIN_USER = "bro-admin"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
STATE_FILE = "state.json"
KUBECONFIG_FILE = "kubeconfig"
SERVERS = ("kube-apiserver", "etcd")  # in stopping order


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


class LocalControlPlane:
    """etcd + kube-apiserver in ``root_dir`` (a fresh temporary directory by default).

    Use as a context manager, or call ``start()`` and ``stop()``. ``stop()`` removes
    ``root_dir``.
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
        # How to start each server again (restarts keep the data directory and ports).
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
        for name in SERVERS:
            proc = self._procs.pop(name, None)
            if proc is not None and not stop_child(proc):
                errors.append(f"{name} (pid {proc.pid}) did not exit")
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
        self._endpoints = None
        if errors:
            raise ControlPlaneError("; ".join(errors))

    def stop_servers(self, names: tuple[str, ...] = SERVERS, *, hard: bool = False) -> None:
        """Stop the named servers (kube-apiserver first), keeping the data directory and ports,
        as a control-plane upgrade or a node reboot does; ``start_servers`` brings them back.
        ``hard``: SIGKILL, a crash (kube-apiserver 1.20 ignores SIGTERM while a client watches,
        so a graceful stop under a running operator takes stop_child's full 15 s time-out)."""
        for name in sorted(names, key=SERVERS.index):
            proc = self._procs.pop(name, None)
            if proc is not None and hard:
                proc.kill()
            if proc is not None and not stop_child(proc):
                raise ControlPlaneError(f"{name} (pid {proc.pid}) did not exit")

    def start_servers(self) -> float:
        """Start every stopped server again (etcd first) with its first arguments; wait until
        each is ready. Returns the seconds that took."""
        started = time.monotonic()
        for name in reversed(SERVERS):
            if name not in self._procs:
                self._spawn(name, self._argv[name], self.root_dir)
                self._wait_for(name, self._ready[name])
        if self._detach:
            self._write_state()
        return time.monotonic() - started

    def restart(self, *, etcd: bool = True, down_seconds: float = 0.0, hard: bool = False) -> float:
        """Stop kube-apiserver (and etcd; ``hard``: SIGKILL), wait ``down_seconds``, start them
        again; returns the seconds from the start command to ready."""
        self.stop_servers(SERVERS if etcd else ("kube-apiserver",), hard=hard)
        time.sleep(down_seconds)
        return self.start_servers()

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
        return all(owned_pid_alive(pid, root_dir) for pid in pids)

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
                if owned_pid_alive(pid, root_dir):
                    stop_pid(pid, timeout)
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
        self._ready["etcd"] = lambda: http_ok(f"{etcd_url}/health")
        self._wait_for("etcd", self._ready["etcd"])

        server = f"https://127.0.0.1:{secure_port}"
        self._spawn(
            "kube-apiserver",
            _apiserver_args(binaries.kube_apiserver, root, pki, etcd_url, secure_port, tokens_file),
            root,
        )
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._ready["kube-apiserver"] = lambda: http_ok(
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
        prefix = [] if self._detach else die_with_parent_prefix()
        self._argv[name] = argv
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
