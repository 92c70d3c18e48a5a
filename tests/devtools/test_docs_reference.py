"""The documentation's reference tables and runbook pages are generated from the models,
settings and alert rules, and up to date in the pages they live in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from controller.core.models import (
    REASON_TEXTS,
    BundleRenewalSpec,
    BundleRenewalStatus,
    Phase,
    Reason,
)
from controller.core.settings import OperatorSettings
from devtools import alert_rules, docs_reference


def test_every_reason_is_explained() -> None:
    assert set(REASON_TEXTS) == set(Reason)
    assert all(text.strip() for text in REASON_TEXTS.values())


def test_the_docs_reference_is_up_to_date() -> None:
    # Every generated block lives in the page PAGES names, and every page is current.
    assert set(docs_reference.PAGES) == set(docs_reference.SECTIONS)
    for name, page in docs_reference.PAGES.items():
        text = (docs_reference.DOCS / page).read_text()
        assert f"<!-- BEGIN GENERATED: {name} " in text, f"docs/{page} lacks the {name} block"
    for page in set(docs_reference.PAGES.values()):
        text = (docs_reference.DOCS / page).read_text()
        assert docs_reference.render(text) == text, (
            f"docs/{page} is stale: run .venv/bin/python devtools/docs_reference.py"
        )
    assert docs_reference.main(["--check"]) == 0


def test_every_alert_has_its_runbook_page_and_no_other() -> None:
    pages = docs_reference.runbook_pages()
    for alert in alert_rules.ALERTS:
        path = docs_reference.RUNBOOKS / f"{alert.anchor}.md"
        assert path.read_text() == pages[path], (
            f"{path} is stale: run .venv/bin/python devtools/docs_reference.py"
        )
        text = pages[path]
        # The heading, whose anchor is the alert's name in lower case, and what to do.
        assert text.startswith(f"# {alert.name}\n")
        assert alert.expr in text
        assert alert.runbook in text
    on_disk = {path for path in docs_reference.RUNBOOKS.glob("*.md") if path.name != "index.md"}
    assert on_disk == set(pages)


def test_check_names_each_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(docs_reference.DOCS, docs)
    monkeypatch.setattr(docs_reference, "DOCS", docs)
    monkeypatch.setattr(docs_reference, "RUNBOOKS", docs / "runbooks")
    assert docs_reference.main(["--check"]) == 0
    spec = docs / "reference" / "spec.md"
    spec.write_text(spec.read_text().replace("`spec.bundleSid`", "`spec.bundleSID`"))
    runbook = docs / "runbooks" / "bundlerenewalfailed.md"
    runbook.write_text(runbook.read_text() + "\nEdited by hand.\n")
    stray = docs / "runbooks" / "bundlerenewalgone.md"
    stray.write_text(f"# BundleRenewalGone\n\n{docs_reference.RUNBOOK_MARKER}\n")
    capsys.readouterr()
    assert docs_reference.main(["--check"]) == 1
    said = capsys.readouterr().out
    assert f"{spec} is stale" in said
    assert f"{runbook} is stale" in said
    assert f"{stray} is the runbook of no alert" in said
    # Writing mends all three.
    assert docs_reference.main([]) == 0
    assert docs_reference.main(["--check"]) == 0
    assert not stray.exists()
    assert "`spec.bundleSid`" in spec.read_text()


def test_the_tables_cover_every_field_phase_and_setting() -> None:
    spec = docs_reference.spec_reference()
    status = docs_reference.status_reference()
    for model, table, prefix in (
        (BundleRenewalSpec, spec, "spec"),
        (BundleRenewalStatus, status, "status"),
    ):
        for name, info in model.model_fields.items():
            assert f"`{prefix}.{info.alias or name}`" in table
    assert "`status.conditions[].lastTransitionTime`" in status
    assert "`spec.supportingDocuments[].file.secretKeyRef.key`" in spec
    phases = docs_reference.phase_reference()
    for phase in Phase:
        assert f"`{phase.value}`" in phases
    # Every phase has its docstring in the table, not an empty cell.
    assert all(docs_reference.member_docstrings(Phase).values())
    settings = docs_reference.settings_reference()
    for name in OperatorSettings.model_fields:
        assert f"`{name.upper()}`" in settings
