"""The dependency locks agree with pyproject.toml (issue 22, "Reproducible installs"); what
the locks are and how `make lock` stamps them: devtools/dependency_lock.py. Offline: files only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devtools.dependency_lock import (
    DEV_LOCK,
    FINGERPRINT_PREFIX,
    ROOT,
    RUN_MAKE_LOCK,
    RUNTIME_LOCK,
    SECTIONS,
    applies,
    describe,
    fingerprint,
    project_table,
    read_lock,
    requirements,
)


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
