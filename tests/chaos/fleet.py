"""The chaos run's fleet: accounts, due bundles, namespaces, Secrets and BundleRenewals.

Every bundle of both phases is seeded before the one regulation change that makes them all due,
so the baseline and the chaos phase renew the same kind of bundle (France mobile business, the
seed's scenario). Accounts are split by phase and by review (automatic, or by the test's own
reviewer for the rejections), because the simulator counts requests per account: that split is
what lets requests per renewal be measured for each group. Every value a renewal writes is
unique and recognisable, so a leak can be searched for; a third of the renewals read theirs
from Secrets instead of the spec.
"""

from __future__ import annotations

import base64
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from tests.chaos.settings import ChaosSettings
from tests.sim_fixtures import Sim, SimAccount

DOCUMENT_TYPE = "commercial_registrar_excerpt"
END_USER_FIELD = "business_registration_authority"
DOCUMENT_FIELD = "issue_date"
DOCUMENT_KEY = "issue-date"
PHONE_NUMBERS = 2


@dataclass
class Group:
    """Renewals of one phase and one kind of review, in accounts of their own."""

    name: str  # baseline-auto, baseline-by-hand, chaos-auto, chaos-by-hand
    accounts: list[SimAccount] = field(default_factory=list)
    renewals: list[Renewal] = field(default_factory=list)

    @property
    def by_hand(self) -> bool:
        return self.name.endswith("by-hand")


@dataclass
class Renewal:
    """One BundleRenewal and what its original bundle must look like at the end."""

    namespace: str
    name: str
    account: SimAccount
    secret_name: str  # the credentials Secret in `namespace`
    bundle_sid: str
    phone_numbers: list[str]
    seeded_items: list[str]  # the original's end-user and documents before the renewal
    end_user_value: str
    document_value: str  # what the original's excerpt carries once renewed
    from_secrets: bool
    first_value: str | None = None  # by hand: the value submitted first, then rejected

    def spec(self) -> dict[str, Any]:
        """The spec as first created (a rejected renewal's first value included)."""
        document = self.first_value or self.document_value
        if self.from_secrets:
            every_key = {"secretRef": {"name": self.end_user_secret}}
            end_user: dict[str, Any] = {"attributesFrom": [every_key]}
            value_ref = {"secretKeyRef": {"name": self.document_secret, "key": DOCUMENT_KEY}}
            attributes: dict[str, Any] = {DOCUMENT_FIELD: {"valueFrom": value_ref}}
        else:
            end_user = {"attributes": {END_USER_FIELD: self.end_user_value}}
            attributes = {DOCUMENT_FIELD: document}
        return {
            "bundleSid": self.bundle_sid,
            "credentialsSecretRef": {"name": self.secret_name},
            "endUser": end_user,
            "supportingDocuments": [{"type": DOCUMENT_TYPE, "attributes": attributes}],
        }

    @property
    def end_user_secret(self) -> str:
        """With `from_secrets`: every key of this Secret is an end-user attribute."""
        return f"{self.name}-end-user"

    @property
    def document_secret(self) -> str:
        """With `from_secrets`: the excerpt's issue date is one key of this Secret."""
        return f"{self.name}-documents"

    def secret_strings(self) -> list[str]:
        """Values that must never show outside the spec and the Secrets."""
        return [v for v in (self.end_user_value, self.document_value, self.first_value) if v]


@dataclass
class Fleet:
    namespaces: list[str]
    groups: dict[str, Group]

    def renewals(self, *groups: str) -> list[Renewal]:
        return [r for g in groups for r in self.groups[g].renewals]

    def secret_strings(self) -> list[str]:
        """Every credential and attribute value of the run."""
        found: list[str] = []
        for group in self.groups.values():
            for account in group.accounts:
                found.append(account.auth_token)
                found.extend(key["secret"] for key in account.api_keys)
            for renewal in group.renewals:
                found.extend(renewal.secret_strings())
        return found


def _b64(data: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}


def _credentials(account: SimAccount, use_api_key: bool) -> dict[str, str]:
    if use_api_key:
        key = account.api_keys[0]
        return {"accountSid": account.sid, "apiKeySid": key["sid"], "apiKeySecret": key["secret"]}
    return {"accountSid": account.sid, "authToken": account.auth_token}


def seed_fleet(sim: Sim, settings: ChaosSettings, rng: random.Random) -> Fleet:
    """Accounts and due bundles at the simulator (one regulation change for all of them)."""
    namespaces = [f"chaos-{i}" for i in range(settings.namespaces)]
    sizes = {
        "baseline-auto": (1, settings.baseline),
        "baseline-by-hand": (1, 1 if settings.rejections else 0),
        "chaos-auto": (settings.accounts, settings.renewals - settings.rejections),
        "chaos-by-hand": (1, settings.rejections),
    }
    groups: dict[str, Group] = {}
    index = 0
    for name, (account_count, renewal_count) in sizes.items():
        group = groups[name] = Group(name)
        if renewal_count == 0:
            continue
        group.accounts = [sim.new_account() for _ in range(account_count)]
        for i in range(renewal_count):
            account = group.accounts[i % account_count]
            seeded = sim.seed_approved_bundle(account.sid, phone_numbers=PHONE_NUMBERS)
            tag = f"{index:03d}-{secrets.token_hex(4)}"
            group.renewals.append(
                Renewal(
                    namespace=namespaces[index % len(namespaces)],
                    name=f"{name}-{i:03d}",
                    account=account,
                    secret_name=f"twilio-{account.sid[-8:].lower()}",
                    bundle_sid=seeded["bundle_sid"],
                    phone_numbers=list(seeded["phone_number_sids"]),
                    seeded_items=[seeded["end_user_sid"], *seeded["supporting_document_sids"]],
                    end_user_value=f"Chaos-Authority-{tag}",
                    document_value=f"Chaos-Issue-{tag}",
                    from_secrets=not group.by_hand and rng.random() < 1 / 3,
                    first_value=f"Chaos-Refused-{tag}" if group.by_hand else None,
                )
            )
            index += 1
    by_hand = [a.sid for g in groups.values() if g.by_hand for a in g.accounts]
    sim.set_config(review={"manual_accounts": by_hand})
    due = set(sim.change_regulation()["affected_bundle_sids"])
    every = {r.bundle_sid for g in groups.values() for r in g.renewals}
    assert every <= due, f"not made due by the regulation change: {every - due}"
    return Fleet(namespaces, groups)


def create_namespaces_and_secrets(core: client.CoreV1Api, fleet: Fleet) -> None:
    """The namespaces, each account's credentials Secret where its renewals live (auth token
    or API key, alternately), and the values Secrets of the renewals that read from them."""
    for namespace in fleet.namespaces:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    made: set[tuple[str, str]] = set()
    for group in fleet.groups.values():
        for renewal in group.renewals:
            if (renewal.namespace, renewal.secret_name) not in made:
                made.add((renewal.namespace, renewal.secret_name))
                use_api_key = group.accounts.index(renewal.account) % 2 == 1
                data = _credentials(renewal.account, use_api_key)
                _create_secret(core, renewal.namespace, renewal.secret_name, data)
            if renewal.from_secrets:
                end_user = {END_USER_FIELD: renewal.end_user_value}
                _create_secret(core, renewal.namespace, renewal.end_user_secret, end_user)
                document = {DOCUMENT_KEY: renewal.document_value}
                _create_secret(core, renewal.namespace, renewal.document_secret, document)


def _create_secret(core: client.CoreV1Api, namespace: str, name: str, data: dict[str, str]) -> None:
    core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name=name), data=_b64(data))
    )
