"""The dependency locks agree with pyproject.toml (issue 22, "Reproducible installs").

`make lock` compiles two locks from pyproject.toml with uv, every package pinned with `==` and
its sha256 hashes, for Python 3.11 (Debian bookworm's 3.11.2) on Linux x86_64:

- requirements.lock: `project.dependencies` only; the Dockerfile installs it;
- requirements-dev.lock: those plus the `dev` and `docs` extras; `make install` (so CI) installs
  it. The runtime lock takes its versions from it, so the image runs what the tests ran.

Each lock's first line is the sha256 of the pyproject sections it was compiled from, written by
this module (`python -m devtools.dependency_lock`, the last step of `make lock`). So a
dependency added to, removed from or changed in pyproject.toml without `make lock` fails
tests/devtools/test_dependency_lock.py, saying to run it; and so does a lock whose pins no longer
satisfy pyproject's specifiers, an entry without a hash, a runtime pin the dev lock does not share,
or a Dockerfile or `make install` that no longer installs its lock with --require-hashes. Offline:
files only.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_LOCK = "requirements.lock"
DEV_LOCK = "requirements-dev.lock"
# What each lock is compiled from: project.dependencies, then optional-dependencies by name.
SECTIONS = {RUNTIME_LOCK: ("dependencies",), DEV_LOCK: ("dependencies", "dev", "docs")}
FINGERPRINT_PREFIX = "# pyproject sha256: "
FINGERPRINT_LINE = re.compile(r"^# pyproject sha256: ([0-9a-f]{64})\b")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")
RUN_MAKE_LOCK = "run `make lock` (it needs the network) and commit both lock files"
# The platform the locks are compiled for (`make lock`'s --python-version, --python-platform):
# a requirement whose marker is false there is not expected in them.
TARGET_ENVIRONMENT = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.2",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.11.2",
    "python_version": "3.11",
    "sys_platform": "linux",
}


@dataclass(frozen=True)
class Pin:
    name: str
    """As the lock spells it; compare canonicalize_name()s."""
    version: Version
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class Lock:
    fingerprint: str | None
    pins: dict[str, Pin]
    """By canonical name."""


def project_table() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        project: dict[str, Any] = tomllib.load(f)["project"]
    return project


def requirements(project: dict[str, Any], section: str) -> list[str]:
    if section == "dependencies":
        return list(project["dependencies"])
    return list(project["optional-dependencies"][section])


def describe(sections: tuple[str, ...]) -> str:
    extras = " and ".join(s for s in sections if s != "dependencies")
    return "project.dependencies" + (f" and the {extras} extras" if extras else "")


def fingerprint(project: dict[str, Any], sections: tuple[str, ...]) -> str:
    """sha256 of the sections' requirements, each normalised by packaging and sorted, so that
    comments, spacing and order in pyproject.toml do not matter, and any other change does."""
    normalised = {
        section: sorted(str(Requirement(r)) for r in requirements(project, section))
        for section in sections
    }
    payload = json.dumps(normalised, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def read_lock(path: Path) -> Lock:
    """A pip requirements file as uv writes it: `name==version \\` then `--hash=...` lines."""
    found: str | None = None
    entries: list[str] = []
    current = ""
    for line in path.read_text().splitlines():
        match = FINGERPRINT_LINE.match(line)
        if match:
            found = match.group(1)
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        current += " " + stripped.removesuffix("\\")
        if not stripped.endswith("\\"):
            entries.append(current.strip())
            current = ""
    assert not current, f"{path.name} ends in a line continuation"
    pins: dict[str, Pin] = {}
    for entry in entries:
        requirement, *options = entry.split()
        pin = PIN.match(requirement)
        assert pin, f"{path.name}: {entry[:80]!r} is not an exact `name==version` pin"
        name, version = pin.groups()
        assert not [o for o in options if not HASH.match(o)], (
            f"{path.name}: {requirement} has options other than --hash=sha256:..."
        )
        key = canonicalize_name(name)
        assert key not in pins, f"{path.name} pins {name} twice"
        pins[key] = Pin(name, Version(version), tuple(options))
    return Lock(found, pins)


def applies(requirement: Requirement) -> bool:
    return requirement.marker is None or requirement.marker.evaluate(TARGET_ENVIRONMENT)


def write_fingerprints() -> None:
    """`make lock`'s last step: each lock's first line becomes its pyproject fingerprint."""
    project = project_table()
    for lock_name, sections in SECTIONS.items():
        path = ROOT / lock_name
        lines = [line for line in path.read_text().splitlines() if not FINGERPRINT_LINE.match(line)]
        header = f"{FINGERPRINT_PREFIX}{fingerprint(project, sections)} ({', '.join(sections)})"
        path.write_text("\n".join([header, *lines]) + "\n")
        print(f"{lock_name}: {len(read_lock(path).pins)} pins; {header}", file=sys.stderr)


if __name__ == "__main__":
    write_fingerprints()
