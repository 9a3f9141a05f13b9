"""A verification's status is an enum from the result's own fields, never a word rebuilt.

The status is the first check that fails, integrity then trust then address (RFC 5652
§5.4-§5.6, RFC 5280 §6, RFC 8550 §3); the mail client shows the same member by name, and
``verify --json`` prints its value, the word.
"""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest

import engine
from engine.clock import FixedClock
from engine.mail.reading import _MESSAGE_STATUS, MessageStatus, _message_status
from engine.pki.authority import OrgCA
from engine.pki.keys import KeyPool
from engine.pki.trust import TrustStatus
from engine.smime.describe import verification_view
from engine.smime.sender import AddressMatch
from engine.smime.signing import sign
from engine.smime.verification import verify
from engine.smime.verification_result import (
    STATUS_OF,
    Integrity,
    VerificationResult,
    VerificationStatus,
)
from tests.conftest import EPOCH, enroll

MESSAGE = (
    b"From: alice@contoso.example\r\nTo: bob@fabrikam.example\r\nSubject: s\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
)


@pytest.fixture(scope="module")
def valid(key_pool: KeyPool) -> VerificationResult:
    clock = FixedClock(EPOCH)
    ca = OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool)
    alice = enroll(ca, "alice@contoso.example")
    result = verify(sign(MESSAGE, alice.signing, clock=clock), anchors=[ca.root], at=EPOCH)
    assert result.status is VerificationStatus.VALID
    return result


def _expected(integrity: Integrity, trust: TrustStatus, address: AddressMatch) -> str:
    if integrity is not Integrity.INTACT:
        return integrity.value
    if trust is not TrustStatus.TRUSTED:
        return trust.value
    return "address-mismatch" if address is AddressMatch.MISMATCH else "valid"


@pytest.mark.parametrize(
    ("integrity", "trust", "address"),
    list(itertools.product(Integrity, TrustStatus, AddressMatch)),
)
def test_every_combination_has_its_status_member(
    valid: VerificationResult, integrity: Integrity, trust: TrustStatus, address: AddressMatch
) -> None:
    result = dataclasses.replace(
        valid,
        intact=integrity is Integrity.INTACT,
        integrity=integrity,
        trust=dataclasses.replace(valid.trust, status=trust),
        address_match=address,
    )
    status = result.status
    assert type(status) is VerificationStatus
    assert status.value == _expected(integrity, trust, address)
    # What a person sees is the member of the same name: no word falls back to "invalid".
    seen = _message_status(status)
    assert type(seen) is MessageStatus
    assert (seen.name, seen.value) == (status.name, status.value)
    # verify --json prints the word itself, a plain string.
    printed = json.loads(json.dumps(verification_view(result)))["status"]
    assert type(verification_view(result)["status"]) is str
    assert printed == status.value


def test_every_status_word_is_reachable_and_public() -> None:
    words = {_expected(*c) for c in itertools.product(Integrity, TrustStatus, AddressMatch)}
    assert words == {s.value for s in VerificationStatus}
    assert engine.VerificationStatus is VerificationStatus
    assert engine.Integrity is Integrity
    # A StrEnum: a caller's ``result.status == "valid"`` still holds.
    assert VerificationStatus.VALID == "valid"


def test_every_verification_status_has_the_message_status_of_its_word() -> None:
    assert set(_MESSAGE_STATUS) == set(VerificationStatus)
    assert all(seen.value == status.value for status, seen in _MESSAGE_STATUS.items())


def test_every_integrity_and_trust_answer_names_its_status() -> None:
    # One table, member to member, for both checks: a new member must be added to it.
    assert set(STATUS_OF) == set(Integrity) | set(TrustStatus)
    assert all(STATUS_OF[member].value in (member.value, "valid") for member in STATUS_OF)


@pytest.mark.parametrize(
    ("integrity", "trust", "address"),
    list(itertools.product(Integrity, TrustStatus, AddressMatch)),
)
def test_the_status_step_expects_the_finding_compliance_reports_first(
    valid: VerificationResult, integrity: Integrity, trust: TrustStatus, address: AddressMatch
) -> None:
    """'sees the signature as "…"' marks as expected the finding of the check that failed
    first, for every status (name-constraints, algorithm-mismatch and malformed-multipart
    included), the same rule compliance reports for it."""
    from engine.harness.steps.reading import _signature_rule
    from engine.policy.document import default_policy
    from engine.policy.message_checks import _signature_findings

    result = dataclasses.replace(
        valid,
        intact=integrity is Integrity.INTACT,
        integrity=integrity,
        trust=dataclasses.replace(valid.trust, status=trust),
        address_match=address,
    )
    signature_rules = ("intact", "trust", "address")
    reported = [
        f.rule_id
        for f in _signature_findings(result, default_policy(), "message", at=EPOCH)
        if f.rule_id.removeprefix("smime.msg.signature.") in signature_rules
    ]
    assert _signature_rule(result) == (reported[0] if reported else None)
