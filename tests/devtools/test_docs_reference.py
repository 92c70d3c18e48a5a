"""README.md's reference tables are generated from the models and settings, and up to date."""

from __future__ import annotations

from controller.core.models import (
    REASON_TEXTS,
    BundleRenewalSpec,
    BundleRenewalStatus,
    Phase,
    Reason,
)
from controller.core.settings import OperatorSettings
from devtools import docs_reference


def test_every_reason_is_explained() -> None:
    assert set(REASON_TEXTS) == set(Reason)
    assert all(text.strip() for text in REASON_TEXTS.values())


def test_the_readme_reference_is_up_to_date() -> None:
    readme = docs_reference.README.read_text()
    for name in docs_reference.SECTIONS:
        assert f"<!-- BEGIN GENERATED: {name} " in readme
    assert docs_reference.render(readme) == readme, (
        "README.md is stale: run .venv/bin/python devtools/docs_reference.py"
    )


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
