"""Memory and CPU of a process from /proc, the figures the fleet benchmark reports per process.

Read from the kernel rather than from the process itself so that the operator, kube-apiserver,
etcd and the simulator are measured the same way, without instrumenting any of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Memory:
    """Resident set now (VmRSS) and its peak so far (VmHWM), in MiB."""

    rss_mib: float
    peak_mib: float


def memory(pid: int) -> Memory:
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(rest.split()[0]) / 1024  # kB
    return Memory(fields["VmRSS"], fields["VmHWM"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    after = stat.rsplit(")", 1)[1].split()
    return (int(after[11]) + int(after[12])) / _TICKS


class CpuMeter:
    """CPU seconds of named processes between ``start()`` and ``stop()``."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = dict(pids)
        self._start: dict[str, float] = {}

    def start(self) -> None:
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) - self._start[name] for name, pid in self.pids.items()}
