"""One rule for the sender's address (RFC 8550 §3), whoever asks: ``verify``, the mail
client's ``open_message``, ``check_message`` and the scenario harness all agree.

Every mailbox of every From: field, and a Sender:, must be in the signer's
certificate; an unreadable address field is a mismatch, never a crash.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.errors import InputError
from engine.harness.world import World
from engine.mail.client import MessageStatus
from engine.pki.authority import Enrollment, OrgCA
from engine.pki.keys import KeyPool
from engine.policy.compliance import check_message
from engine.policy.document import load_policy
from engine.smime.encryption import encrypt
from engine.smime.opening import from_address, open_message
from engine.smime.sender import (
    AddressMatch,
    _parsed_mailboxes,
    _plain_mailboxes,
    check_sender,
    senders,
)
from engine.smime.signing import sign
from engine.smime.verification import Verifier, verify
from engine.strategies import mailboxes
from tests.conftest import EPOCH, enroll

BOB = "bob@fabrikam.example"
CEO = "ceo@contoso.example"
BODY = b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nPay the invoice.\r\n"


@pytest.fixture(scope="module")
def pki(key_pool: KeyPool) -> tuple[OrgCA, Enrollment, Enrollment]:
    clock = FixedClock(EPOCH)
    fabrikam = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool)
    contoso = OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool)
    return fabrikam, enroll(fabrikam, BOB), enroll(contoso, "usera@contoso.example")


def _signed(bob: Enrollment, header_lines: bytes, *, opaque: bool = False) -> bytes:
    """Bob's signature, with the outer header fields (not covered by it) as given."""
    signed = sign(b"From: " + BOB.encode() + b"\r\n" + BODY, bob.signing,
                  clock=FixedClock(EPOCH), opaque=opaque)  # fmt: skip
    assert signed.startswith(b"From: " + BOB.encode() + b"\r\n")
    return header_lines + signed[len(b"From: " + BOB.encode() + b"\r\n") :]


MISMATCHES = {
    "two authors in one From": b"From: ceo@contoso.example, bob@fabrikam.example\r\n",
    "two authors, the signer first": b"From: bob@fabrikam.example, ceo@contoso.example\r\n",
    "two From fields": b"From: ceo@contoso.example\r\nFrom: bob@fabrikam.example\r\n",
    "two From fields, the signer first": (
        b"From: bob@fabrikam.example\r\nFrom: ceo@contoso.example\r\n"
    ),
    "Sender is the signer, From is not": (
        b"From: ceo@contoso.example\r\nSender: bob@fabrikam.example\r\n"
    ),
    "From is the signer, Sender is not": (
        b"From: bob@fabrikam.example\r\nSender: ceo@contoso.example\r\n"
    ),
    "unquoted address as display name": (b"From: bob@fabrikam.example <ceo@contoso.example>\r\n"),
    "quoted address as display name": b'From: "bob@fabrikam.example" <ceo@contoso.example>\r\n',
    "a comment hiding a second address": (
        b"From: bob@fabrikam.example (x) ceo@contoso.example\r\n"
    ),
    "an incomplete address": b"From: bob@\r\n",
    "an empty From": b"From: \r\n",
    "angle brackets only": b"From: <<<>>>\r\n",
    "a local part quoting the signer": b'From: "bob@fabrikam.example"@contoso.example\r\n',
    "deeply nested comments": b"From: " + b"(" * 3000 + b"bob@fabrikam.example\r\n",
    "a long list that is not plain": b"From: " + b"bob@fabrikam.example, " * 300 + b"x\r\n",
    "two Sender fields": (
        b"From: bob@fabrikam.example\r\nSender: bob@fabrikam.example\r\n"
        b"Sender: bob@fabrikam.example\r\n"
    ),
}
MATCHES = {
    "the signer alone": b"From: bob@fabrikam.example\r\n",
    "a display name": b"From: Bob Builder <bob@fabrikam.example>\r\n",
    "domain in another case": b"From: bob@FABRIKAM.Example\r\n",
    "From and Sender both the signer": (
        b"From: Bob <bob@fabrikam.example>\r\nSender: bob@fabrikam.example\r\n"
    ),
    "a folded field": b"From: Bob\r\n <bob@fabrikam.example>\r\n",
    "an encoded display name": b"From: =?utf-8?q?B=C3=B6b?= <bob@fabrikam.example>\r\n",
    "the signer named twice": b"From: bob@fabrikam.example, Bob <bob@fabrikam.example>\r\n",
}


def _cases() -> list[tuple[str, bytes, AddressMatch]]:
    return [(k, v, AddressMatch.MISMATCH) for k, v in MISMATCHES.items()] + [
        (k, v, AddressMatch.MATCH) for k, v in MATCHES.items()
    ]


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in _cases()],
                         ids=[c[0] for c in _cases()])  # fmt: skip
@pytest.mark.parametrize("opaque", [False, True], ids=["detached", "opaque"])
def test_verify_open_message_and_check_message_agree(
    pki: tuple[OrgCA, Enrollment, Enrollment], fields: bytes, expected: AddressMatch, opaque: bool
) -> None:
    fabrikam, bob, _ = pki
    message = _signed(bob, fields, opaque=opaque)
    anchors = [fabrikam.root]
    result = verify(message, anchors=anchors, at=EPOCH)
    assert result.intact and result.trusted
    assert result.address_match is expected, result.reasons
    batch = Verifier(anchors=anchors, at=EPOCH).verify(message)
    assert batch.address_match is expected
    opened = open_message(message, credentials=[], anchors=anchors, at=EPOCH)
    assert opened.signature is not None
    assert opened.signature.address_match is expected, opened.signature.reasons
    found = check_message(message, load_policy("outlook98"), anchors=anchors, at=EPOCH)
    reported = any(f.rule_id == "smime.msg.signature.address" for f in found)
    assert reported is (expected is AddressMatch.MISMATCH)
    if expected is AddressMatch.MISMATCH:
        assert result.status == "address-mismatch"
        assert any("certificate" in r for r in result.reasons), result.reasons


@pytest.mark.parametrize("fields", list(MISMATCHES.values()), ids=list(MISMATCHES))
def test_a_signature_inside_encryption_answers_to_the_outer_fields(
    pki: tuple[OrgCA, Enrollment, Enrollment], fields: bytes
) -> None:
    """The signed layer inside an envelope has no From: of its own: the outer one counts,
    for the client and for check-message alike (RFC 8551 §3.7)."""
    fabrikam, bob, usera = pki
    inner = sign(b"From: " + BOB.encode() + b"\r\n" + BODY, bob.signing, clock=FixedClock(EPOCH))
    enveloped = encrypt(inner, [usera.encryption.certificate])
    assert enveloped.startswith(b"From: " + BOB.encode() + b"\r\n")
    message = fields + enveloped[len(b"From: " + BOB.encode() + b"\r\n") :]
    anchors = [fabrikam.root]
    opened = open_message(message, credentials=[usera.encryption], anchors=anchors, at=EPOCH)
    assert opened.signature is not None
    assert opened.signature.address_match is AddressMatch.MISMATCH
    found = check_message(
        message, load_policy("outlook98"), anchors=anchors, at=EPOCH,
        credentials=[usera.encryption],
    )  # fmt: skip
    assert any(f.rule_id == "smime.msg.signature.address" for f in found)


def test_the_mail_client_shows_the_same_verdict(key_pool: KeyPool, tmp_path) -> None:
    """A scenario's client opening a forged co-author message sees address-mismatch,
    and will not take the signer's certificate as a contact for another author."""
    world = World(keys=key_pool)
    world.add_organization("Contoso")
    world.add_organization("Fabrikam")
    world.add_user("UserA", "Contoso")
    userb = world.add_user("UserB", "Fabrikam")
    usera = world.user("UserA")
    usera.client.trust(userb.organization.ca.root)
    signed = sign(
        b"From: userb@fabrikam.example\r\n" + BODY,
        world.enrollment("UserB").signing,
        clock=world.clock,
    )
    own = b"From: userb@fabrikam.example\r\n"
    assert signed.startswith(own)
    forged = b"From: ceo@contoso.example, userb@fabrikam.example\r\n" + signed[len(own) :]
    world.receive("UserA", forged, source=tmp_path / "forged.eml")
    # The harness finds the message as one from UserB (UserB is among its authors) ...
    assert world.last_message_for("UserA", "UserB") == forged
    received = usera.client.open(forged)
    assert received.status is MessageStatus.ADDRESS_MISMATCH
    assert received.sender is None  # no one author a person could be told of
    refused = usera.client.add_to_contacts(received)
    assert refused.status.value == "refused"


def test_sender_override_must_be_one_mailbox(pki: tuple[OrgCA, Enrollment, Enrollment]) -> None:
    fabrikam, bob, _ = pki
    message = _signed(bob, b"From: ceo@contoso.example\r\n")
    anchors = [fabrikam.root]
    assert verify(message, anchors=anchors, at=EPOCH, sender=f"Bob <{BOB}>").status == "valid"
    for bad in ("bob@", f"{BOB}, {CEO}", ""):
        with pytest.raises(InputError, match="sender"):
            verify(message, anchors=anchors, at=EPOCH, sender=bad)
        with pytest.raises(InputError, match="sender"):
            Verifier(anchors=anchors, at=EPOCH, sender=bad)


def test_the_rule_itself() -> None:
    names = (BOB,)
    assert check_sender(names, [("From", BOB)]).match is AddressMatch.MATCH
    assert check_sender(names, []).match is AddressMatch.UNKNOWN
    assert check_sender(None, [("From", BOB)]).match is AddressMatch.MISMATCH
    assert check_sender((), [("From", BOB)]).match is AddressMatch.MISMATCH
    # Local parts compare exactly (RFC 5280 §7.5); domains ignore case.
    assert check_sender(names, [("From", "BOB@fabrikam.example")]).match is AddressMatch.MISMATCH
    assert check_sender(names, [("from", "bob@Fabrikam.EXAMPLE")]).match is AddressMatch.MATCH
    both = check_sender(names, [("From", f"{CEO}, {BOB}")])
    assert both.match is AddressMatch.MISMATCH
    assert both.reason == f"sender {CEO} is not in the certificate ({BOB})"
    assert check_sender((BOB, CEO), [("From", f"{CEO}, {BOB}")]).match is AddressMatch.MATCH
    found = senders([("From", f"Bob <{BOB}>"), ("Sender", CEO), ("To", "x@y.example")])
    assert (found.authors, found.sender, found.problem) == ((BOB,), (CEO,), None)
    assert from_address([("From", f"{CEO}, {BOB}")]) is None
    assert from_address([("From", f"Bob <{BOB}>")]) == BOB
    assert from_address([("From", "bob@")]) is None


def test_a_mismatched_signer_is_neither_a_contact_nor_a_reply_certificate(
    key_pool: KeyPool,
) -> None:
    """The client uses the rule too: a certificate that does not name the message's
    sender is not stored under that sender's address, nor encrypted to in a reply."""
    from engine.harness.steps import clients, contacts, organizations, sending

    world = World(keys=key_pool.view())
    organizations.two_organizations(world, "Contoso", "Fabrikam")
    organizations.enrolled(world, "UserA", "Contoso")
    organizations.enrolled(world, "UserB", "Fabrikam")
    clients.trusts(world, "UserA", "Fabrikam")
    contacts.certificate_names_other(world, "UserB", "userx@fabrikam.example")
    sending.send(world, "UserB", "a signed", "UserA")
    contacts.opens(world, "UserA", "UserB")
    assert world.opened_by("UserA").status is MessageStatus.ADDRESS_MISMATCH
    contacts.add_to_contacts(world, "UserA", "UserB")
    assert world.last_contact is not None and world.last_contact.status.value == "refused"
    sending.reply(world, "UserA", "UserB", "an encrypted")
    outcome = world.require_send()
    assert outcome.status.value == "prompt"
    assert outcome.decision is not None and outcome.decision.recipients[0].source is None


# --- the quick path for plain fields reads exactly what the RFC 5322 parser reads -------

_DISPLAY = st.one_of(
    st.just(""),
    st.text(alphabet="abcXYZ019 !#$%&'*+-/=?^_`{|}~", min_size=1, max_size=12),
    st.text(alphabet='ab ,.:;<>@"\\()[]=?', min_size=1, max_size=12).map(lambda t: f'"{t}"'),
    st.text(alphabet='ab ,.:;<>@"\\()[]=?', min_size=1, max_size=12),
)


@settings(suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_DISPLAY, mailboxes(internationalized=True)), min_size=1, max_size=3),
    st.sampled_from([", ", ",", " , "]),
)
def test_plain_fields_read_as_the_parser_reads_them(
    items: list[tuple[str, str]], separator: str
) -> None:
    text = separator.join(f"{name} <{address}>" if name else address for name, address in items)
    _agree(text)


@given(st.text(alphabet='ab@.<>", ()\\:;=?-', max_size=40))
def test_odd_fields_read_as_the_parser_reads_them(text: str) -> None:
    _agree(text)


def _agree(text: str) -> None:
    quick = _plain_mailboxes(text.strip())
    if quick is not None:
        assert _parsed_mailboxes(text.strip()) == (quick, None), text


def test_a_received_message_with_an_unreadable_from_is_delivered_and_judged(
    key_pool: KeyPool, tmp_path: Path
) -> None:
    """A partner's (or an attacker's) message whose From: cannot be read is still a message:
    the harness delivers it, and the client shows address-mismatch rather than a crash."""
    from engine.harness.steps import clients, organizations

    world = World(keys=key_pool.view())
    organizations.two_organizations(world, "Contoso", "Fabrikam")
    organizations.enrolled(world, "UserA", "Contoso")
    organizations.enrolled(world, "UserB", "Fabrikam")
    clients.trusts(world, "UserA", "Fabrikam")
    own = b"From: userb@fabrikam.example\r\n"
    signed = sign(own + BODY, world.enrollment("UserB").signing, clock=world.clock)
    forged = b"From: userb@fabrikam.example <ceo@contoso.example>\r\n" + signed[len(own) :]
    world.receive("UserA", forged, source=tmp_path / "forged.eml")
    received = world.open_last("UserA")
    assert received.status is MessageStatus.ADDRESS_MISMATCH
    assert received.sender is None
