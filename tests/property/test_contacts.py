"""Add to Contacts, then send: the certificate used is the one the sender's key preference named.

The preference is read from the signed message's DER with asn1crypto
(SMIMEEncryptionKeyPreference, RFC 8551 §2.5.3), not through the engine.
"""

from __future__ import annotations

import base64
import email
import email.policy

from asn1crypto import cms
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.mail.client import Draft, MailClient, SendStatus
from engine.mail.profile import ClientProfile, Source
from engine.mail.prompt import Choice
from engine.mail.reading import ContactOutcome, ContactStatus
from engine.mail.transport import MailNetwork
from engine.pki.keys import KeyPool, KeyType
from engine.smime.decryption import decrypt
from engine.strategies import client_profiles, key_sources
from tests.property.gherkin import note_example
from tests.property.world import EPOCH

ENCRYPTION_KEY_PREFERENCE = "1.2.840.113549.1.9.16.2.11"


def preferred_serial(message: bytes) -> int | None:
    """The serial number the signer's encryption-key preference names, if any."""
    parsed = email.message_from_bytes(message, policy=email.policy.compat32)
    multipart = parsed.get_content_type() == "multipart/signed"
    part = parsed.get_payload()[1] if multipart else parsed  # type: ignore[index]
    der = base64.b64decode(part.get_payload())
    signer = cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    for attribute in signer["signed_attrs"]:
        if attribute["type"].dotted == ENCRYPTION_KEY_PREFERENCE:
            choice = attribute["values"][0]
            if choice.name == "issuer_and_serial_number":
                return int(choice.chosen["serial_number"].native)
    return None


@given(
    data=st.data(),
    profile=client_profiles(),
    sender_profile=client_profiles(),
    separate=st.booleans(),
    key_type=st.sampled_from((KeyType.EC_P256, KeyType.RSA_2048)),
    renewals=st.integers(min_value=0, max_value=2),
    restart=st.booleans(),
)
def test_the_contact_certificate_is_the_one_the_preference_named(
    key_pool: KeyPool,
    data: st.DataObject,
    profile: ClientProfile,
    sender_profile: ClientProfile,
    separate: bool,
    key_type: KeyType,
    renewals: int,
    restart: bool,
) -> None:
    assume(Source.CONTACTS in profile.lookup_order)
    from engine.mail.organization import Organization

    keys = data.draw(key_sources(keys=key_pool), label="keys")
    clock = FixedClock(EPOCH)
    network = MailNetwork()
    contoso = Organization(
        "Contoso",
        "contoso.example",
        clock=clock,
        network=network,
        keys=keys,
        key_type=KeyType.EC_P256,
    )
    fabrikam = Organization(
        "Fabrikam",
        "fabrikam.example",
        clock=clock,
        network=network,
        keys=keys,
        key_type=KeyType.EC_P256,
    )
    contoso.enroll("usera@contoso.example")
    fabrikam.enroll("userb@fabrikam.example", key_type=key_type, separate_encryption_key=separate)
    a = MailClient(
        address="usera@contoso.example", organization=contoso, clock=clock, profile=profile
    )
    a.trust(fabrikam.ca.root)
    b = MailClient(
        address="userb@fabrikam.example", organization=fabrikam, clock=clock, profile=sender_profile
    )

    expected: int | None = None
    answers: list[str] = []
    for round_ in range(renewals + 1):
        if round_:
            fabrikam.renew("userb@fabrikam.example")
        sent = b.send(Draft(to=(a.address,), subject=f"round {round_}", body="hi", sign=True))
        assert sent.status is SendStatus.SENT and sent.message is not None
        named = preferred_serial(sent.message)
        assert named is not None
        received = a.open(a.inbox()[-1])
        if profile.auto_capture and received.status.value == "valid":
            expected = named  # captured on opening
        outcome = a.add_to_contacts(received)
        if outcome.status is ContactStatus.PROMPT:
            choice = data.draw(st.sampled_from((Choice.UPDATE, Choice.KEEP)), label="answer")
            answers.append(choice.value)
            outcome = a.answer(choice)
            assert isinstance(outcome, ContactOutcome)
        if outcome.status in (ContactStatus.ADDED, ContactStatus.UPDATED):
            expected = named
    note_example(
        "Add to Contacts then send uses the preferred certificate",
        {
            "profile": profile.name,
            "auto_capture": profile.auto_capture,
            "delay": int(profile.processing_delay.total_seconds()),
            "separate": separate,
            "key": key_type,
            "renewals": renewals,
            "answers": answers or "none",
            "restart": restart,
        },
    )
    if restart:
        a.restart()
    else:
        clock.advance(profile.processing_delay)

    draft = Draft(to=("userb@fabrikam.example",), subject="reply", body="secret", encrypt=True)
    decision = a.decide(draft).recipients[0]
    assert decision.source is Source.CONTACTS
    assert decision.certificate is not None
    assert decision.certificate.serial_number == expected
    assert decision.usable, decision.reason
    outcome = a.send(draft)
    if outcome.status is SendStatus.SENT:
        assert outcome.message is not None
        holder = next(
            e.encryption
            for e in fabrikam.enrollments("userb@fabrikam.example")
            if e.encryption.certificate.serial_number == expected
        )
        decrypt(outcome.message, holder)  # the holder of the preferred key reads it
