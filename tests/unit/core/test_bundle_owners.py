"""The bundle SID -> BundleRenewal index the webhook routes callbacks with."""

from __future__ import annotations

from controller.core.bundle_owners import BundleOwner, BundleOwners

A = BundleOwner("uid-a", "ns", "a", "secret")
B = BundleOwner("uid-b", "other", "b", "secret")
ORIGINAL, COPY, NEXT_COPY = "BU" + "1" * 32, "BU" + "2" * 32, "BU" + "3" * 32


def test_track_replaces_the_owned_sids_and_forget_drops_them() -> None:
    owners = BundleOwners()
    owners.track(A, [ORIGINAL, None])
    assert owners.owners_of(ORIGINAL) == [A]
    assert owners.owners_of(COPY) == []
    owners.track(A, [ORIGINAL, COPY])
    assert owners.owners_of(COPY) == [A]
    owners.track(A, [ORIGINAL, NEXT_COPY])  # the copy went, a new one came
    assert owners.owners_of(COPY) == []
    assert owners.owners_of(NEXT_COPY) == [A]
    assert owners.sids_of("uid-a") == {ORIGINAL, NEXT_COPY}
    owners.forget("uid-a")
    assert owners.owners_of(ORIGINAL) == []
    assert owners.sids_of("uid-a") == frozenset()
    owners.forget("uid-a")  # twice is fine


def test_a_bundle_named_by_two_resources_lists_both_until_one_goes() -> None:
    owners = BundleOwners()
    owners.track(B, [ORIGINAL])
    owners.track(A, [ORIGINAL])
    assert owners.owners_of(ORIGINAL) == [A, B]
    owners.track(B, [])
    assert owners.owners_of(ORIGINAL) == [A]
