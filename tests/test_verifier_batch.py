"""engine.smime.verification.Verifier: a batch's anchors, CRLs and time fixed once, same answers."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.clock import FixedClock
from engine.errors import InputError
from engine.pki.authority import Enrollment, OrgCA
from engine.pki.keys import KeyPool
from engine.pki.revocation import RevocationReason
from engine.smime.signing import sign
from engine.smime.verification import Verifier, verify
from tests.conftest import EPOCH


def _message(index: int, sender: str) -> bytes:
    return f"From: {sender}\r\nSubject: {index}\r\n\r\nBody {index}.\r\n".encode()


def _enroll(ca: OrgCA, address: str) -> Enrollment:
    return ca.enroll(address, ca.issue_token(address).secret)


@pytest.fixture(scope="module")
def orgs(key_pool: KeyPool) -> tuple[OrgCA, OrgCA]:
    clock = FixedClock(EPOCH)
    contoso = OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool,
                           intermediate=True)  # fmt: skip
    fabrikam = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool)
    return contoso, fabrikam


def test_a_verifier_answers_as_verify_does(orgs: tuple[OrgCA, OrgCA]) -> None:
    contoso, fabrikam = orgs
    alice = _enroll(contoso, "alice@contoso.example").signing
    erin = _enroll(contoso, "erin@contoso.example").signing
    mallory = _enroll(fabrikam, "mallory@fabrikam.example").signing
    clock = contoso.clock
    contoso.revoke(erin.certificate, RevocationReason.KEY_COMPROMISE)
    crls = contoso.crls()
    messages = [
        sign(_message(0, "alice@contoso.example"), alice, clock=clock),
        sign(_message(1, "alice@contoso.example"), alice, clock=clock, opaque=True),
        sign(_message(2, "bob@contoso.example"), alice, clock=clock),  # address mismatch
        sign(_message(3, "erin@contoso.example"), erin, clock=clock),  # revoked
        sign(_message(4, "mallory@fabrikam.example"), mallory, clock=clock),  # untrusted
        sign(_message(5, "alice@contoso.example"), alice, clock=clock).replace(
            b"Body 5.", b"Body 6."
        ),  # tampered
        # The same signer without its issuing CA: no path, whatever the messages before.
        sign(_message(6, "alice@contoso.example"), alice, clock=clock, include_chain=False),
    ]
    for at in (EPOCH, EPOCH + dt.timedelta(days=3000)):  # trusted, then expired
        verifier = Verifier(anchors=[contoso.root], at=at, crls=crls)
        for message in messages * 2:  # the second time from the verifier's memory
            expected = verify(message, anchors=[contoso.root], at=at, crls=crls)
            assert verifier.verify(message) == expected
    statuses = [Verifier(anchors=[contoso.root], at=EPOCH, crls=crls).verify(m).status
                for m in messages]  # fmt: skip
    assert statuses == [
        "valid", "valid", "address-mismatch", "revoked", "untrusted-issuer", "tampered",
        "untrusted-issuer",
    ]  # fmt: skip


def test_the_callers_lists_are_copied(orgs: tuple[OrgCA, OrgCA]) -> None:
    contoso, fabrikam = orgs
    alice = _enroll(contoso, "alice2@contoso.example").signing
    signed = sign(_message(0, "alice2@contoso.example"), alice, clock=contoso.clock)
    anchors = [fabrikam.root]
    verifier = Verifier(anchors=anchors, at=EPOCH)
    assert verifier.verify(signed).status == "untrusted-issuer"
    anchors.append(contoso.root)  # a later change to the list is no change to the verifier
    assert verifier.verify(signed).status == "untrusted-issuer"
    assert Verifier(anchors=anchors, at=EPOCH).verify(signed).status == "valid"


def test_a_sender_given_to_the_verifier_overrides_from(orgs: tuple[OrgCA, OrgCA]) -> None:
    contoso, _ = orgs
    alice = _enroll(contoso, "alice3@contoso.example").signing
    signed = sign(_message(0, "alice3@contoso.example"), alice, clock=contoso.clock)
    other = Verifier(anchors=[contoso.root], at=EPOCH, sender="zed@contoso.example")
    assert other.verify(signed).status == "address-mismatch"


def test_a_small_memory_forgets_and_still_answers(orgs: tuple[OrgCA, OrgCA]) -> None:
    contoso, _ = orgs
    signers = [_enroll(contoso, f"u{i}@contoso.example").signing for i in range(3)]
    verifier = Verifier(anchors=[contoso.root], at=EPOCH, cache_size=1)
    for round_ in range(2):
        for index, signer in enumerate(signers):
            sender = f"u{index}@contoso.example"
            result = verifier.verify(sign(_message(round_, sender), signer, clock=contoso.clock))
            assert result.status == "valid" and result.signer == signer.certificate


def test_a_verifier_needs_room_and_an_aware_time(orgs: tuple[OrgCA, OrgCA]) -> None:
    contoso, _ = orgs
    with pytest.raises(InputError, match="at least 1"):
        Verifier(anchors=[contoso.root], at=EPOCH, cache_size=0)
    with pytest.raises(InputError, match="timezone-aware"):
        Verifier(anchors=[contoso.root], at=dt.datetime(2026, 6, 1))


def test_a_verifier_that_remembers_one_signer_answers_as_verify_does(
    orgs: tuple[OrgCA, OrgCA],
) -> None:
    # Its memory (paths, the signer's and the encryption certificate's place among those
    # carried, the signer's addresses) holds one entry: each message evicts the one before.
    contoso, _ = orgs
    alice = _enroll(contoso, "alice3@contoso.example")
    bob = _enroll(contoso, "bob3@contoso.example")
    clock = contoso.clock
    messages = [
        sign(_message(0, "alice3@contoso.example"), alice.signing, clock=clock,
             encryption_certificate=alice.encryption.certificate),
        sign(_message(1, "bob3@contoso.example"), bob.signing, clock=clock),
        sign(_message(2, "alice3@contoso.example"), alice.signing, clock=clock,
             include_chain=False),
    ]  # fmt: skip
    verifier = Verifier(anchors=[contoso.root], at=EPOCH, cache_size=1)
    for message in messages * 2:
        assert verifier.verify(message) == verify(message, anchors=[contoso.root], at=EPOCH)
    assert verifier.verify(messages[0]).encryption_certificate == alice.encryption.certificate
