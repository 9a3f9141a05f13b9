"""Sign → verify round trips, and tampering always detected.

Round trips cover every key type, digest and MIME shape (detached
multipart/signed and opaque signed-data) with bodies from
``message_bodies()``, also after the message was stored with LF line ends.
Tampering edits the CMS DER with asn1crypto here in the test, independent of
the engine's own CMS code.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import email
import email.policy

import pytest
from asn1crypto import cms, core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.cms.algorithms import DigestAlgorithm, SignatureScheme
from engine.errors import SmimeError
from engine.pki.authority import CertificateSpec, OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeyPool, KeyType
from engine.smime.canonical import seven_bit
from engine.smime.message import split_message
from engine.smime.signing import sign
from engine.smime.verification import verify
from engine.strategies import MessageBody, message_bodies
from tests.property.gherkin import note_example
from tests.property.world import EPOCH

KEY_TYPES = (KeyType.EC_P256, KeyType.RSA_2048, KeyType.EC_P384, KeyType.RSA_3072)
DIGESTS = (DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512)


@dataclasses.dataclass(frozen=True)
class Signers:
    root: x509.Certificate
    by_type: dict[KeyType, Credential]
    other: Credential  # someone else, same CA


@pytest.fixture(scope="module")
def signers(key_pool: KeyPool) -> Signers:
    clock = FixedClock(EPOCH)
    ca = OrgCA.create(
        "Contoso", "contoso.example", clock=clock, keys=key_pool, key_type=KeyType.EC_P256
    )
    by_type = {
        kind: ca.issue(
            CertificateSpec(email="alice@contoso.example", key_type=kind, key=key_pool.key(kind, 0))
        )
        for kind in KEY_TYPES
    }
    other = ca.issue(
        CertificateSpec(
            email="alice@contoso.example",
            key_type=KeyType.EC_P256,
            key=key_pool.key(KeyType.EC_P256, 1),
        )
    )
    return Signers(root=ca.root, by_type=by_type, other=other)


def _scheme(key_type: KeyType, pss: bool) -> SignatureScheme | None:
    if not key_type.is_rsa:
        return None
    return SignatureScheme.RSA_PSS if pss else SignatureScheme.RSA_PKCS1V15


def _leaves(entity: bytes) -> list[bytes]:
    """Decoded leaf payloads, read with the standard library (not engine.smime.canonical)."""
    parsed = email.message_from_bytes(entity, policy=email.policy.compat32)
    out = []
    for part in parsed.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        out.append(payload if isinstance(payload, bytes) else b"")
    return out


@given(
    body=message_bodies(),
    key_type=st.sampled_from(KEY_TYPES),
    digest=st.sampled_from(DIGESTS),
    pss=st.booleans(),
    opaque=st.booleans(),
    stored_with_lf=st.booleans(),
)
def test_sign_then_verify_round_trips(
    signers: Signers,
    body: MessageBody,
    key_type: KeyType,
    digest: DigestAlgorithm,
    pss: bool,
    opaque: bool,
    stored_with_lf: bool,
) -> None:
    note_example(
        "A signed message verifies and keeps its content",
        {
            "body": body.shape,
            "line_ends": body.line_ends,
            "key": key_type,
            "digest": digest,
            "pss": pss,
            "opaque": opaque,
            "stored_with_lf": stored_with_lf,
        },
    )
    scheme = _scheme(key_type, pss)
    signed = sign(
        body.message,
        signers.by_type[key_type],
        clock=FixedClock(EPOCH),
        digest=digest,
        scheme=scheme,
        opaque=opaque,
    )
    transported = signed.replace(b"\r\n", b"\n") if stored_with_lf else signed
    result = verify(transported, anchors=[signers.root], at=EPOCH)
    assert result.intact, result.reasons
    assert result.status == "valid", result.reasons
    assert result.digest is digest
    # Byte for byte: what was signed is the entity made 7-bit and CRLF (RFC 8551 §3.1).
    assert result.content == seven_bit(split_message(body.message)[1])
    # And it still means what the author wrote: every leaf decodes to the original.
    leaves = [leaf.replace(b"\r\n", b"\n") for leaf in _leaves(result.content)]
    assert leaves == [part.replace(b"\r\n", b"\n") for part in body.parts]


# --- tampering ----------------------------------------------------------------------


def _der_and_part(message: bytes, opaque: bool) -> tuple[bytes, str]:
    """The CMS DER and its base64 text exactly as it stands in the message."""
    parsed = email.message_from_bytes(message, policy=email.policy.compat32)
    part = parsed if opaque else parsed.get_payload()[1]  # type: ignore[index]
    text = part.get_payload()
    return base64.b64decode(text), text


def _with_der(message: bytes, old_text: str, der: bytes) -> bytes:
    encoded = base64.encodebytes(der).replace(b"\n", b"\r\n")
    old = old_text.encode().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert old in message
    return message.replace(old, encoded, 1)


def _forged_twin(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bytes:
    """Another key under the same issuer name and serial number."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(certificate.subject)
        .issuer_name(certificate.issuer)
        .public_key(key.public_key())
        .serial_number(certificate.serial_number)
        .not_valid_before(certificate.not_valid_before_utc)
        .not_valid_after(certificate.not_valid_after_utc)
    )
    from cryptography.hazmat.primitives import serialization

    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


TAMPERING = ("content", "attribute", "signature", "certificate", "certificate-twin")
ATTRIBUTES = ("signing_time", "message_digest", "content_type", "drop", "add")


@given(
    key_type=st.sampled_from(KEY_TYPES),
    digest=st.sampled_from(DIGESTS),
    opaque=st.booleans(),
    tampering=st.sampled_from(TAMPERING),
    attribute=st.sampled_from(ATTRIBUTES),
    where=st.integers(min_value=0),
    bit=st.integers(min_value=0, max_value=7),
)
def test_tampering_is_always_detected(
    signers: Signers,
    key_pool: KeyPool,
    key_type: KeyType,
    digest: DigestAlgorithm,
    opaque: bool,
    tampering: str,
    attribute: str,
    where: int,
    bit: int,
) -> None:
    note_example(
        "Tampering with a signed message is detected",
        {
            "key": key_type,
            "digest": digest,
            "opaque": opaque,
            "tampering": tampering,
            "attribute": attribute if tampering == "attribute" else "-",
            "where": where,
        },
    )
    signed = sign(
        b"From: alice@contoso.example\r\nTo: bob@fabrikam.example\r\nSubject: s\r\n\r\n"
        b"Pay 100 EUR to account 12345.\r\n",
        signers.by_type[key_type],
        clock=FixedClock(EPOCH),
        digest=digest,
        opaque=opaque,
    )
    der, text = _der_and_part(signed, opaque)
    info = cms.ContentInfo.load(der)
    signed_data = info["content"]
    signer_info = signed_data["signer_infos"][0]

    if tampering == "content" and not opaque:
        content = verify(signed, anchors=[signers.root], at=EPOCH).content
        start = signed.index(content)
        spots = [i for i, b in enumerate(content) if b not in b"\r\n"]
        at = start + spots[where % len(spots)]
        new = (signed[at] ^ (1 << bit)) & 0x7F or 0x41
        if new in b"\r\n" or new == signed[at]:
            new = 0x41 if signed[at] != 0x41 else 0x42
        tampered = signed[:at] + bytes([new]) + signed[at + 1 :]
    else:
        if tampering == "content":
            old = signed_data["encap_content_info"]["content"].native
            at = where % len(old)
            changed = old[:at] + bytes([old[at] ^ (1 << bit)]) + old[at + 1 :]
            signed_data["encap_content_info"]["content"] = changed
        elif tampering == "attribute":
            attrs = signer_info["signed_attrs"]
            items = list(attrs)
            if attribute == "drop":
                items = [a for a in items if a["type"].native != "smime_capabilities"]
                assert len(items) < len(list(attrs))
            elif attribute == "add":
                items.append(cms.CMSAttribute({"type": "1.2.3.4.5", "values": [core.Null()]}))
            else:
                for a in items:
                    if a["type"].native != attribute:
                        continue
                    if attribute == "signing_time":
                        when = a["values"][0].native + dt.timedelta(seconds=1 + where % 86400)
                        a["values"] = [cms.Time({"utc_time": when})]
                    elif attribute == "message_digest":
                        old = a["values"][0].native
                        a["values"] = [old[:-1] + bytes([old[-1] ^ (1 << bit)])]
                    else:
                        a["values"] = ["signed_data"]
            signer_info["signed_attrs"] = cms.CMSAttributes(items)
        elif tampering == "signature":
            old = signer_info["signature"].native
            at = where % len(old)
            signer_info["signature"] = old[:at] + bytes([old[at] ^ (1 << bit)]) + old[at + 1 :]
        else:
            certificates = [c.dump() for c in signed_data["certificates"]]
            signer_cert = signers.by_type[key_type].certificate
            from cryptography.hazmat.primitives import serialization

            mine = signer_cert.public_bytes(serialization.Encoding.DER)
            if tampering == "certificate":
                swap = signers.other.certificate.public_bytes(serialization.Encoding.DER)
            else:
                twin_key = key_pool.key(KeyType.EC_P256, 2)
                assert isinstance(twin_key, ec.EllipticCurvePrivateKey)
                swap = _forged_twin(signer_cert, twin_key)
            replaced = [swap if c == mine else c for c in certificates]
            assert replaced != certificates
            signed_data["certificates"] = cms.CertificateSet(
                [cms.CertificateChoices.load(c) for c in replaced]
            )
        tampered = _with_der(signed, text, info.dump(force=True))
    assert tampered != signed
    try:
        result = verify(tampered, anchors=[signers.root], at=EPOCH)
    except SmimeError:
        return  # refused as malformed: also detected
    assert not result.intact, result.reasons
    assert result.status == "tampered"
