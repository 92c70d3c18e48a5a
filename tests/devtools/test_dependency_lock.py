"""The dependency locks agree with pyproject.toml (issue 22, "Reproducible installs").

`make lock` compiles two locks from pyproject.toml with uv, every package pinned with `==` and
its sha256 hashes, for Python 3.11 (Debian bookworm's 3.11.2) on Linux x86_64:

- requirements.lock: `project.dependencies` only; the Dockerfile installs it;
- requirements-dev.lock: those plus the `dev` and `docs` extras; `make install` (so CI) installs
  it. The runtime lock takes its versions from it, so the image runs what the tests ran.

Each lock's first line is the sha256 of the pyproject sections it was compiled from, written by
this module (`python -m tests.devtools.test_dependency_lock`, the last step of `make lock`). So a
dependency added to, removed from or changed in pyproject.toml without `make lock` fails here,
saying to run it; and so does a lock whose pins no longer satisfy pyproject's specifiers, an
entry without a hash, a runtime pin the dev lock does not share, or a Dockerfile or `make
install` that no longer installs its lock with --require-hashes. Offline: files only.
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

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    return project_table()


@pytest.mark.parametrize("lock_name", list(SECTIONS))
def test_the_lock_was_compiled_from_the_current_pyproject(
    project: dict[str, Any], lock_name: str
) -> None:
    path = ROOT / lock_name
    assert path.is_file(), f"{lock_name} is missing: {RUN_MAKE_LOCK}"
    recorded = read_lock(path).fingerprint
    sections = describe(SECTIONS[lock_name])
    assert recorded is not None, (
        f"{lock_name} has no `{FINGERPRINT_PREFIX}...` line, so nothing says which {sections} "
        f"of pyproject.toml it was compiled from: {RUN_MAKE_LOCK}"
    )
    assert recorded == fingerprint(project, SECTIONS[lock_name]), (
        f"pyproject.toml's {sections} changed since {lock_name} was compiled from them: "
        f"{RUN_MAKE_LOCK}"
    )


@pytest.mark.parametrize("lock_name", list(SECTIONS))
def test_every_pyproject_requirement_is_pinned_within_its_specifier(
    project: dict[str, Any], lock_name: str
) -> None:
    pins = read_lock(ROOT / lock_name).pins
    problems = []
    for section in SECTIONS[lock_name]:
        for text in requirements(project, section):
            requirement = Requirement(text)
            if not applies(requirement):
                continue
            pin = pins.get(canonicalize_name(requirement.name))
            if pin is None:
                problems.append(f"{text} ({section}) is not in the lock")
            elif not requirement.specifier.contains(pin.version, prereleases=True):
                problems.append(f"{text} ({section}) is locked at {pin.version}")
    assert not problems, f"{lock_name}: {'; '.join(problems)}: {RUN_MAKE_LOCK}"


@pytest.mark.parametrize("lock_name", list(SECTIONS))
def test_every_pin_has_a_sha256_hash(lock_name: str) -> None:
    pins = read_lock(ROOT / lock_name).pins
    assert pins, f"{lock_name} pins nothing"
    unhashed = sorted(pin.name for pin in pins.values() if not pin.hashes)
    assert not unhashed, f"{lock_name} pins without --hash=sha256: {unhashed}: {RUN_MAKE_LOCK}"


def test_the_image_runs_the_versions_the_tests_run() -> None:
    runtime = read_lock(ROOT / RUNTIME_LOCK).pins
    dev = read_lock(ROOT / DEV_LOCK).pins
    differ = sorted(
        f"{pin.name} {pin.version} (dev: {dev[key].version if key in dev else 'absent'})"
        for key, pin in runtime.items()
        if key not in dev or dev[key].version != pin.version
    )
    assert not differ, f"{RUNTIME_LOCK} disagrees with {DEV_LOCK}: {differ}: {RUN_MAKE_LOCK}"
    assert canonicalize_name(project_table()["name"]) not in dev  # installed with --no-deps -e .


def test_the_installs_check_the_hashes() -> None:
    """The Dockerfile installs the runtime lock, `make install` the dev lock (and reinstalls
    when it changes), both with --require-hashes."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    install = f"--require-hashes --only-binary :all: -r {RUNTIME_LOCK}"
    assert install in dockerfile, f"the Dockerfile does not `pip install {install}`"
    assert f"COPY {RUNTIME_LOCK} ./" in dockerfile, f"the Dockerfile does not copy {RUNTIME_LOCK}"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^DEV_LOCK := {re.escape(DEV_LOCK)}$", makefile, re.M), (
        f"the Makefile's DEV_LOCK is not {DEV_LOCK}"
    )
    install = "--require-hashes --only-binary :all: -r $(DEV_LOCK)"
    assert install in makefile, f"`make install` does not `pip install {install}`"
    assert re.search(r"^\$\(STAMP\): .*\$\(DEV_LOCK\)", makefile, re.M), (
        "`make install` does not rerun when $(DEV_LOCK) changes"
    )


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
