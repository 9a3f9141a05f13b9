"""A RecipientInfo, on both sides: whom it names and how its key-encryption key is made.

CMS gives each recipient of an (Auth)EnvelopedData a RecipientInfo (RFC 5652 §6.2)
naming the recipient's certificate by issuer and serial number or by subject key
identifier (§6.2.1). Encryption builds one per certificate
(:mod:`engine.smime.encryption`); decryption picks the one a credential can open
(:mod:`engine.smime.decryption`) and skips the kinds the engine cannot use. Both
sides share the RSAES-OAEP parameters (RFC 4055 §4, RFC 8551 §2.7) and the ECDH
key-encryption key derivation (RFC 5753 §3.1.1, §7.2).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from engine.cms import enveloped as asn1
from engine.cms.algorithms import (
    ID_EC_PUBLIC_KEY,
    KEY_AGREEMENT_SCHEMES,
    KEY_TRANSPORTS,
    KEY_WRAPS,
    PUBLIC_KEY_NAMES,
    DigestAlgorithm,
    RecipientIdentifier,
)
from engine.errors import NotARecipientError, UnsupportedAlgorithmError
from engine.pki.credential import Credential
from engine.pki.keys import key_type_name

__all__ = [
    "derive_kek",
    "find_recipient",
    "oaep_padding",
    "recipient_id",
    "unsupported_recipient",
]


def recipient_id(
    certificate: x509.Certificate, identifier: RecipientIdentifier
) -> asn1.RecipientId:
    """How a RecipientInfo names ``certificate`` (RFC 5652 §6.2.1)."""
    if identifier is RecipientIdentifier.SUBJECT_KEY_IDENTIFIER:
        return asn1.KeyIdentifier(key_identifier=_subject_key_identifier(certificate))
    return asn1.IssuerSerial.of(certificate)


def _subject_key_identifier(certificate: x509.Certificate) -> bytes:
    """The certificate's SKI extension, else the RFC 5280 §4.2.1.2 method-1 value."""
    try:
        ext = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return ext.value.digest
    except (x509.ExtensionNotFound, ValueError):
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest


def oaep_padding(
    hash_alg: DigestAlgorithm, mgf_hash: DigestAlgorithm, label: bytes
) -> asym_padding.OAEP:
    """RSAES-OAEP with these hashes and label (RFC 4055 §4.1; an empty label is none)."""
    return asym_padding.OAEP(
        mgf=asym_padding.MGF1(mgf_hash.hash()), algorithm=hash_alg.hash(), label=label or None
    )


def derive_kek(
    private_key: ec.EllipticCurvePrivateKey,
    peer: ec.EllipticCurvePublicKey,
    scheme: str,
    wrap_oid: str,
    ukm: bytes | None,
) -> bytes:
    """The key-encryption key of an ECDH KeyAgreeRecipientInfo (RFC 5753 §3.1.1, §7.2):
    the X9.63 KDF over the shared x-coordinate with ECC-CMS-SharedInfo; the same on the
    sender's side (ephemeral key, recipient's public key) and the recipient's."""
    length = KEY_WRAPS[wrap_oid].kek_size
    shared_info = asn1.encode_ecc_cms_shared_info(wrap_oid=wrap_oid, ukm=ukm, kek_length=length)
    secret = private_key.exchange(ec.ECDH(), peer)
    kdf = X963KDF(
        algorithm=KEY_AGREEMENT_SCHEMES[scheme].kdf.hash(), length=length, sharedinfo=shared_info
    )
    return kdf.derive(secret)


def find_recipient(
    recipients: Sequence[asn1.Recipient], credential: Credential
) -> tuple[asn1.KeyTransRecipient | asn1.KeyAgreeRecipient, asn1.RecipientId]:
    """The first RecipientInfo that names the credential's certificate and that its key
    can open.

    RFC 5652 §6.2: a message carries a RecipientInfo per recipient, of whatever kind;
    those the engine cannot use (KEK, password, X25519/X448 key agreement, an unknown
    oriType, an algorithm it does not implement) are skipped, never fatal to the others.
    Raises NotARecipientError when none is left for this credential, or the
    UnsupportedAlgorithmError of one that names it with an algorithm the engine lacks.
    """
    certificate = credential.certificate
    key = credential.private_key
    named = asn1.IssuerSerial.of(certificate)  # cached per certificate
    issuer, serial = named.issuer, named.serial
    ski = _subject_key_identifier(certificate)
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    is_ec = isinstance(key, ec.EllipticCurvePrivateKey)

    def names(rid: asn1.RecipientId) -> bool:
        if isinstance(rid, asn1.IssuerSerial):
            return rid.serial == serial and asn1.names_equal(rid.issuer, issuer)
        return rid.key_identifier == ski

    lacking: UnsupportedAlgorithmError | None = None
    for recipient in recipients:
        if isinstance(recipient, asn1.KeyTransRecipient) and is_rsa:
            rids: tuple[asn1.RecipientId, ...] = (recipient.rid,)
        elif (
            isinstance(recipient, asn1.KeyAgreeRecipient)
            and is_ec
            # X25519/X448 (RFC 8418) or a static originator: never an EC key's.
            and recipient.originator_key_oid == ID_EC_PUBLIC_KEY
        ):
            rids = tuple(entry.rid for entry in recipient.encrypted_keys)
        else:
            continue  # kekri, pwri, ori, or not for this kind of key
        rid = next((r for r in rids if names(r)), None)
        if rid is None:
            continue
        unsupported = _unsupported_algorithm(recipient)
        if unsupported is None:
            return recipient, rid
        lacking = lacking or unsupported
    if lacking is not None:
        raise lacking  # named, but only with an algorithm the engine lacks: say which
    if not (is_rsa or is_ec):
        raise NotARecipientError(len(recipients), key_type=key_type_name(key))
    raise NotARecipientError(len(recipients))


_ORIGINATOR_KEY_NAMES = PUBLIC_KEY_NAMES  # RFC 8410 / RFC 8418
_OTHER_RECIPIENT_NAMES = {
    "kekri": "a KEKRecipientInfo (a pre-shared key-encryption key, RFC 5652 §6.2.3)",
    "pwri": "a PasswordRecipientInfo (a password, RFC 5652 §6.2.4, RFC 3211)",
}


def unsupported_recipient(recipient: asn1.Recipient) -> str | None:
    """Why the engine cannot open ``recipient`` with any key, or None when it can with
    the right one: what ``inspect`` says of it and what decryption skips."""
    if isinstance(recipient, asn1.KeyAgreeRecipient):
        oid = recipient.originator_key_oid
        if oid is None:
            return "static-static key agreement (an originator named by certificate)"
        if oid != ID_EC_PUBLIC_KEY:
            name = _ORIGINATOR_KEY_NAMES.get(oid, oid)
            return f"unsupported key agreement with an {name} originator key (RFC 8418)"
    if isinstance(recipient, asn1.KeyTransRecipient | asn1.KeyAgreeRecipient):
        lacking = _unsupported_algorithm(recipient)
        return None if lacking is None else lacking.found
    if recipient.kind in _OTHER_RECIPIENT_NAMES:
        return f"{_OTHER_RECIPIENT_NAMES[recipient.kind]} is not supported"
    if recipient.kind == "ori":
        return f"an OtherRecipientInfo of type {recipient.algorithm_oid} is not supported"
    return f"a {recipient.kind} recipient info is not supported"


def _unsupported_algorithm(
    recipient: asn1.KeyTransRecipient | asn1.KeyAgreeRecipient,
) -> UnsupportedAlgorithmError | None:
    if isinstance(recipient, asn1.KeyTransRecipient):
        if recipient.unsupported is not None:
            return UnsupportedAlgorithmError(*recipient.unsupported)
        if recipient.algorithm_oid not in tuple(KEY_TRANSPORTS):
            return UnsupportedAlgorithmError("key transport algorithm", recipient.algorithm_oid)
        return None
    if recipient.algorithm_oid not in KEY_AGREEMENT_SCHEMES:
        return UnsupportedAlgorithmError("key agreement algorithm", recipient.algorithm_oid)
    if recipient.wrap_oid not in KEY_WRAPS:
        return UnsupportedAlgorithmError("key wrap algorithm", recipient.wrap_oid)
    return None
