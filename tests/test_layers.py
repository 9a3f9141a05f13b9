"""Nested layers both ways: sign-then-encrypt (Outlook opaque, Thunderbird multipart) and
encrypt-then-sign, opened with the right key and trust anchors."""

from __future__ import annotations

import pytest

from engine.clock import FixedClock
from engine.errors import InputError
from engine.pki.authority import Enrollment, OrgCA
from engine.pki.keys import KeyPool
from engine.smime.classification import EntityKind
from engine.smime.encryption import encrypt
from engine.smime.opening import LayerKind, open_message
from engine.smime.signing import sign

MESSAGE = (
    b"From: usera@contoso.example\r\nTo: userb@fabrikam.example\r\nSubject: layers\r\n"
    b"\r\nNested hello.\r\n"
)


@pytest.fixture(scope="module")
def pki(key_pool: KeyPool) -> tuple[OrgCA, Enrollment, Enrollment, Enrollment]:
    from tests.conftest import EPOCH, enroll

    clock = FixedClock(EPOCH)
    contoso = OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool)
    fabrikam = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool)
    a = enroll(contoso, "usera@contoso.example")
    b = enroll(fabrikam, "userb@fabrikam.example")
    f = enroll(fabrikam, "userf@fabrikam.example")
    return contoso, a, b, f


@pytest.mark.parametrize(
    ("opaque", "inner_kind"),
    [(True, EntityKind.SIGNED_OPAQUE), (False, EntityKind.SIGNED_MULTIPART)],
    ids=["outlook-opaque-inside", "thunderbird-multipart-inside"],
)
def test_sign_then_encrypt(pki, clock, opaque: bool, inner_kind: EntityKind) -> None:
    contoso, a, b, _ = pki
    message = encrypt(
        sign(MESSAGE, a.signing, clock=clock, opaque=opaque), [b.encryption.certificate]
    )
    opened = open_message(
        message, credentials=[b.encryption], anchors=[contoso.root], at=clock.now()
    )
    assert [layer.kind for layer in opened.layers] == [LayerKind.ENCRYPTED, LayerKind.SIGNED]
    assert opened.layers[1].entity_kind is inner_kind
    assert opened.decrypted
    assert opened.signature is not None and opened.signature.status == "valid"
    assert b"Nested hello." in opened.content


def test_encrypt_then_sign(pki, clock) -> None:
    contoso, a, b, _ = pki
    message = sign(encrypt(MESSAGE, [b.encryption.certificate]), a.signing, clock=clock)
    opened = open_message(
        message, credentials=[b.encryption], anchors=[contoso.root], at=clock.now()
    )
    assert [layer.kind for layer in opened.layers] == [LayerKind.SIGNED, LayerKind.ENCRYPTED]
    assert opened.layers[0].verification is not None
    assert opened.layers[0].verification.status == "valid"
    assert opened.decrypted
    assert b"Nested hello." in opened.content


def test_not_a_recipient_stops_at_the_envelope(pki, clock) -> None:
    contoso, a, b, f = pki
    message = encrypt(sign(MESSAGE, a.signing, clock=clock), [b.encryption.certificate])
    opened = open_message(
        message, credentials=[f.encryption], anchors=[contoso.root], at=clock.now()
    )
    assert opened.encrypted and not opened.decrypted
    assert opened.signature is None
    assert opened.layers[0].failure is not None
    assert b"Nested hello." not in opened.content


def test_plain_message_has_no_layers(clock) -> None:
    opened = open_message(MESSAGE, credentials=[], anchors=[], at=clock.now())
    assert opened.layers == ()
    assert not opened.encrypted
    assert opened.signature is None


def test_too_deep_nesting_is_refused(pki, clock) -> None:
    contoso, a, _, _ = pki
    message = MESSAGE
    for _ in range(9):
        message = sign(message, a.signing, clock=clock, opaque=True)
    with pytest.raises(InputError, match="at most 8 nested"):
        open_message(message, credentials=[], anchors=[contoso.root], at=clock.now())
