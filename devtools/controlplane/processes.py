"""Process and port helpers for the local control plane: free ports, liveness by PID, stopping
by PID, and the parent-death signal that keeps a killed test run from leaving servers behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


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


def die_with_parent_prefix() -> list[str]:
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


def http_ok(url: str, *, token: str | None = None, context: ssl.SSLContext | None = None) -> bool:
    request = urllib.request.Request(url)  # noqa: S310 - loopback URLs we built
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError):
        return False


def stop_child(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> bool:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
    return proc.poll() is not None


def owned_pid_alive(pid: int, root_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return str(root_dir.resolve()).encode() in cmdline and pid_is_running(pid)


def stop_pid(pid: int, timeout: float) -> None:
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
