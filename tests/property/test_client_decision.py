"""The client's encryption decision, and what actually leaves, for any recipient set.

Both properties build a world from generated specs (organizations, a client
profile, recipients of every kind with odd certificates and Contacts in every
state) and compare the engine with the independent oracle in ``oracle.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from engine.errors import NotARecipientError
from engine.mail.client import SendStatus
from engine.mail.profile import ClientProfile
from engine.mail.prompt import Choice
from engine.pki.keys import KeyPool
from engine.policy.document import Policy
from engine.smime.classification import EntityKind, classify
from engine.smime.decryption import decrypt
from engine.smime.message import split_message
from engine.smime.opening import open_message
from engine.strategies import (
    OrganizationSpec,
    RecipientSpec,
    client_profiles,
    key_sources,
    organizations,
    policies,
    recipient_sets,
)
from tests.property.gherkin import note_example
from tests.property.oracle import ExpectedSend, expect_send
from tests.property.world import EPOCH, ROGUE, SENDER_LOCAL, UNKNOWN_DOMAIN, World, build_world
from tests.property.world import Recipient as BuiltRecipient

MARKER = "secret-marker-7f1c"


def _draft(world: World, *, sign: bool) -> object:
    from engine.mail.client import Draft

    return Draft(
        to=tuple(r.address for r in world.recipients),
        subject="property",
        body=f"The {MARKER} body.\n",
        encrypt=True,
        sign=sign,
    )


def _profile_words(profile: ClientProfile) -> str:
    return (
        f"{profile.name}: lookup {'>'.join(s.value for s in profile.lookup_order)}, "
        f"none {profile.when_none_usable.value}, some {profile.when_some_usable.value}, "
        f"delay {int(profile.processing_delay.total_seconds())}s, "
        f"to-self {profile.encrypt_to_self}, trusted-only {profile.require_trusted_recipient}, "
        f"ciphers {','.join(c.value for c in profile.capabilities)}"
    )


def _note(world: World, expected: ExpectedSend, outline: str, **extra: object) -> None:
    allowed = world.own.allowed_ciphers
    event(f"status: {expected.status}")
    event(f"usable: {sum(e.usable for e in expected.recipients)} of {len(expected.recipients)}")
    note_example(
        outline,
        {
            "profile": _profile_words(world.profile),
            "trusts_other": world.trusts_other,
            "allowed_ciphers": "any" if allowed is None else sorted(c.value for c in allowed),
            "recipients": " / ".join(r.spec.describe() for r in world.recipients),
            "usable": [e.address for e in expected.recipients if e.usable],
            "status": expected.status,
            "cipher": expected.cipher,
            **extra,
        },
    )


def _distinct(
    own: OrganizationSpec, other: OrganizationSpec, recipients: tuple[RecipientSpec, ...]
) -> None:
    domains = {own.domain.lower(), other.domain.lower(), ROGUE.domain, UNKNOWN_DOMAIN}
    assume(len(domains) == 4)
    assume(all(r.local_part.lower() != SENDER_LOCAL for r in recipients))


def _policy_profile(policy: Policy) -> ClientProfile:
    return policy.client_profile()


def _worlds(pool: KeyPool) -> st.SearchStrategy[World]:
    @st.composite
    def build(draw: st.DrawFn) -> World:
        own = draw(organizations())
        other = draw(organizations())
        recipients = draw(recipient_sets(keys=pool, at=EPOCH, max_size=4))
        _distinct(own, other, recipients)
        return build_world(
            keys=draw(key_sources(keys=pool)),
            own=own,
            other=other,
            recipients=recipients,
            # A profile as generated, or as an organization's policy configures it.
            profile=draw(st.one_of(client_profiles(), policies().map(_policy_profile))),
            trusts_other=draw(st.booleans()),
        )

    return build()


@given(data=st.data(), sign=st.booleans())
def test_the_decision_matches_the_oracle(
    key_pool: KeyPool, data: st.DataObject, sign: bool
) -> None:
    world = data.draw(_worlds(key_pool), label="world")
    expected = expect_send(world)
    _note(world, expected, "The client's encryption decision for mixed recipients")
    draft = _draft(world, sign=sign)
    decision = world.sender.decide(draft)  # type: ignore[arg-type]

    found = [(d.address, d.usable, d.source) for d in decision.recipients]
    wanted = [(e.address, e.usable, e.source) for e in expected.recipients]
    assert found == wanted, [d.reason for d in decision.recipients]
    assert decision.to_self == expected.to_self
    if expected.cipher_chosen:
        assert decision.cipher is not None
        assert decision.cipher.cipher == expected.cipher, decision.cipher.reason
    else:
        assert decision.cipher is None

    outcome = world.sender.send(draft)  # type: ignore[arg-type]
    assert outcome.status.value == expected.status, outcome.reason
    if expected.prompt_text is None:
        assert outcome.prompt is None
    else:
        assert outcome.prompt is not None
        assert outcome.prompt.text == expected.prompt_text
        assert tuple(c.value for c in outcome.prompt.choices) == expected.prompt_choices


def _can_decrypt(message: bytes, recipient: BuiltRecipient, world: World) -> bool:
    for credential in recipient.credentials:
        try:
            decrypt(message, credential)
        except NotARecipientError:
            continue
        # Whoever can decrypt reads the body, through any signature layer inside.
        opened = open_message(message, credentials=[credential], anchors=[], at=world.now)
        assert MARKER.encode() in opened.content.replace(b"=\r\n", b"")
        return True
    return False


@given(data=st.data(), sign=st.booleans())
def test_only_usable_recipients_and_the_sender_can_read_what_leaves(
    key_pool: KeyPool, data: st.DataObject, sign: bool
) -> None:
    world = data.draw(_worlds(key_pool), label="world")
    answer = data
    expected = expect_send(world)
    client = world.sender
    sent_before = len(client.sent)
    outcome = client.send(_draft(world, sign=sign))  # type: ignore[arg-type]
    choice: Choice | None = None
    if outcome.status is SendStatus.PROMPT:
        assert outcome.prompt is not None
        choice = answer.draw(st.sampled_from(outcome.prompt.choices), label="answer")
        outcome = client.answer(choice)  # type: ignore[assignment]
    _note(
        world,
        expected,
        "What leaves after the answer",
        answer=choice.value if choice else "none",
        outcome=outcome.status.value,
    )
    assert client.pending_prompt is None

    if outcome.status is not SendStatus.SENT:
        # Cancelled or refused: nothing at all left.
        assert len(client.sent) == sent_before
        assert outcome.message is None
        return
    assert len(client.sent) == sent_before + 1
    message = outcome.message
    assert message is not None
    kind = classify(split_message(message)[1])
    if not outcome.encrypted:
        # Plaintext leaves only because the user chose so, and the outcome says so.
        assert choice in (Choice.PROCEED_UNENCRYPTED, Choice.SEND_UNENCRYPTED)
        assert outcome.plaintext_by_choice
        assert kind not in (EntityKind.ENVELOPED, EntityKind.AUTH_ENVELOPED)
        return
    assert not outcome.plaintext_by_choice
    assert kind in (EntityKind.ENVELOPED, EntityKind.AUTH_ENVELOPED)
    assert MARKER.encode() not in message
    usable = {e.address for e in expected.recipients if e.usable}
    readers = {r.address for r in world.recipients if _can_decrypt(message, r, world)}
    assert readers == usable
    sender_key = client.encryption_credentials[0]
    sender_reads = True
    try:
        decrypt(message, sender_key)
    except NotARecipientError:
        sender_reads = False
    assert sender_reads == expected.to_self
    expected_for = [r.address for r in world.recipients if r.address in usable]
    if expected.to_self:
        expected_for.append(client.address)
    assert list(outcome.encrypted_for) == expected_for
    # A bystander with a certificate from a CA nobody trusts reads nothing.
    for credential in world.rogue.ca.enrollments(client.address):
        with pytest.raises(NotARecipientError):
            decrypt(message, credential.encryption)


def test_the_oracle_sees_every_branch() -> None:
    """Guard against a vacuous oracle: its texts are the engine's documented ones."""
    from engine.mail.prompt import NONE_CAN_DECRYPT, some_cannot_decrypt
    from tests.property.oracle import NONE_TEXT, SOME_TEXT

    assert NONE_TEXT == NONE_CAN_DECRYPT
    assert SOME_TEXT.format(names="a@b.example") == some_cannot_decrypt(["a@b.example"]).text
