"""FakeTwilio with regulations: the reads the preflight makes, and the dry run's evaluation.

`RegulatedFakeTwilio` answers Regulations/{Sid} (IncludeConstraints), EndUserTypes and
SupportingDocumentTypes in the shape Twilio (and twilio_sim) gives them, built from the fake's
`requirements` (what the regulation requires) and `optional` (what the types also accept). It
evaluates the original bundle too (the dry run's one request that is not a read): Twilio
records an evaluation and changes nothing, so neither does the fake; `original_evaluations`
counts them. The plain FakeTwilio still treats an evaluation of the original as a broken
invariant, so no other path may evaluate it unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.core.twilio_models import (
    Evaluation,
    ItemType,
    ItemTypeField,
    Regulation,
    RegulationAcceptedDocument,
    RegulationDocumentRequirement,
    RegulationEndUserRequirement,
    RegulationField,
    RegulationRequirements,
)
from tests.fakes.fake_twilio import FakeTwilio

END_USER_TYPES = ("business", "individual")


@dataclass
class RegulatedFakeTwilio(FakeTwilio):
    optional: dict[str, list[str]] = field(default_factory=dict)
    """Fields an end-user type or document type accepts beyond the regulation's requirements."""
    extra_types: dict[str, list[str]] = field(default_factory=dict)
    """Document types the account knows that the regulation does not accept (with fields)."""
    original_evaluations: int = 0

    @property
    def regulation_sid(self) -> str:
        sid = self.original.regulation_sid
        assert sid is not None
        return sid

    def regulation(self) -> Regulation:
        end_user = [r for r in self.requirements if r.object_type in END_USER_TYPES]
        documents = [r for r in self.requirements if r.object_type not in END_USER_TYPES]
        return Regulation(
            sid=self.regulation_sid,
            friendly_name="Fakeland: Mobile - Business",
            end_user_type="business",
            requirements=RegulationRequirements(
                end_user=[
                    RegulationEndUserRequirement(
                        name="Business",
                        type=r.object_type,
                        requirement_name=r.name,
                        fields=list(r.fields),
                        detailed_fields=[
                            RegulationField(machine_name=f, constraint="String") for f in r.fields
                        ],
                    )
                    for r in end_user
                ],
                supporting_document=[
                    [
                        RegulationDocumentRequirement(
                            name=r.name,
                            type="document",
                            requirement_name=r.name,
                            accepted_documents=[
                                RegulationAcceptedDocument(
                                    type=r.object_type,
                                    fields=list(r.fields),
                                    detailed_fields=[
                                        RegulationField(machine_name=f, constraint="String")
                                        for f in r.fields
                                    ],
                                )
                            ],
                        )
                    ]
                    for r in documents
                ],
            ),
        )

    def _types(self, names: list[str], fields: dict[str, set[str]]) -> list[ItemType]:
        return [
            ItemType(
                sid=f"OY{i:032x}",
                machine_name=name,
                fields=[ItemTypeField(machine_name=f) for f in sorted(fields.get(name, set()))],
            )
            for i, name in enumerate(names)
        ]

    def _fields_by_type(self) -> dict[str, set[str]]:
        fields: dict[str, set[str]] = {}
        for r in self.requirements:
            fields.setdefault(r.object_type, set()).update(r.fields)
        for name, extra in {**self.optional, **self.extra_types}.items():
            fields.setdefault(name, set()).update(extra)
        return fields

    async def fetch_regulation(self, sid: str, include_constraints: bool = True) -> Regulation:
        self._read("fetch_regulation")
        if sid != self.regulation_sid:
            raise self._not_found("Regulation", sid)
        return self.regulation()

    async def list_end_user_types(self) -> list[ItemType]:
        self._read("list_end_user_types")
        return self._types(list(END_USER_TYPES), self._fields_by_type())

    async def list_supporting_document_types(self) -> list[ItemType]:
        self._read("list_supporting_document_types")
        fields = self._fields_by_type()
        return self._types(sorted(n for n in fields if n not in END_USER_TYPES), fields)

    async def create_evaluation(self, bundle_sid: str) -> Evaluation:
        if bundle_sid != self.original_sid:
            return await super().create_evaluation(bundle_sid)
        self._write("create_evaluation")
        self.original_evaluations += 1
        return self._evaluate(bundle_sid)
