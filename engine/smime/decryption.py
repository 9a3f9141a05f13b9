"""Decrypt an S/MIME message: CMS EnvelopedData and AuthEnvelopedData.

The RecipientInfo that names the credential (:mod:`engine.smime.recipient`) gives the
content key: RSA PKCS#1 v1.5 or RSAES-OAEP key transport (RFC 3560, RFC 4055), or
ECDH key agreement with AES key unwrap (RFC 5753, RFC 3394); then AES-CBC (RFC 5652
§6.3, RFC 3565; 3DES-CBC for legacy clients) or AES-GCM (RFC 5083, RFC 5084) opens
the content. Every cryptographic failure is the one ``DecryptionError`` (RFC 3218);
CBC content is handed back with a warning that it is not authenticated (RFC 8551 §6).
"""

from __future__ import annotations

import dataclasses
import os
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from engine.cms import enveloped as asn1
from engine.cms.algorithms import (
    KEY_AGREEMENT_SCHEMES,
    KEY_WRAPS,
    RSA_ENCRYPTION,
    RSAES_OAEP,
    ContentCipher,
    DigestAlgorithm,
    KeyTransport,
    RecipientIdentifier,
)
from engine.errors import (
    DecodeError,
    DecryptionError,
    InputError,
    NotARecipientError,
    UnsupportedAlgorithmError,
)
from engine.pki.credential import Credential
from engine.smime.classification import EntityKind, classify
from engine.smime.entity import content_type
from engine.smime.message import split_message
from engine.smime.pkcs7 import pkcs7_payload
from engine.smime.recipient import derive_kek, find_recipient, oaep_padding

__all__ = [
    "DecryptResult",
    "content_is_signed",
    "decrypt",
    "decrypt_content",
    "refuse_unusable_key",
    "unauthenticated_warning",
]

_INNER_TYPE_NAMES = {
    asn1.DATA: "data",
    asn1.SIGNED_DATA: "signed-data",
    asn1.ENVELOPED_DATA: "enveloped-data",
    asn1.AUTH_ENVELOPED_DATA: "authEnveloped-data",
    asn1.COMPRESSED_DATA: "compressed-data",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DecryptResult:
    """What decryption produced and how the message was protected.

    ``content`` is the decrypted content exactly as it was encrypted (for :func:`decrypt`,
    the inner MIME entity, line ends untouched);
    ``recipients`` counts the RecipientInfos in the message; ``inner_content_type``
    is "data" or another CMS type name (a dotted OID when unknown).
    """

    content: bytes = dataclasses.field(repr=False)  # decrypted: keep it out of logs
    cipher: ContentCipher
    key_transport: KeyTransport
    identifier: RecipientIdentifier
    recipients: int
    authenticated: bool
    inner_content_type: str


def decrypt(message: bytes, credential: Credential) -> DecryptResult:
    """Decrypt a whole message or bare entity of type application/pkcs7-mime
    (or the legacy application/x-pkcs7-mime) holding (Auth)EnvelopedData.

    The result's ``content`` is the inner MIME entity exactly as it was encrypted, byte
    for byte (as ``openssl cms -decrypt -binary`` and gpgsm give it): line ends are not
    touched, because a signature inside may cover LF-only bytes (RFC 8551 §3.1 asks
    senders for canonical form; not every one complies). Canonical form is a matter
    for whoever checks a signature (:mod:`engine.smime.verification`), never of what is
    handed back.
    """
    _, entity = split_message(message)
    payload = asn1.Handover(_enveloped_payload(entity))
    del entity  # a large message is held once, not twice, while it is decrypted
    return _decrypt_content(payload, credential)


def _enveloped_payload(entity: bytes) -> bytes:
    kind = classify(entity)
    if kind not in (EntityKind.ENVELOPED, EntityKind.AUTH_ENVELOPED):
        found = content_type(entity)
        if kind is not EntityKind.PLAIN:
            found = f"{found} ({kind.value})"
        raise InputError(
            "an application/pkcs7-mime entity with enveloped-data or authEnveloped-data", found
        )
    return pkcs7_payload(entity)


def unauthenticated_warning(result: DecryptResult) -> str | None:
    """One line saying that tampering with the content could go unseen, or None (GCM).

    CBC (and 3DES) in EnvelopedData has no integrity protection: flipping ciphertext
    bits changes the plaintext predictably and decryption still succeeds (RFC 8551 §6,
    EFAIL). The content is still handed back, since real mail uses CBC. When the
    content is itself signed, the signature inside is what can detect a change, once
    it is verified; unsigned content has nothing that can.
    """
    if result.authenticated:
        return None
    what = f"content encrypted with {result.cipher.value} is not authenticated"
    if content_is_signed(result):
        return f"{what}; only the signature inside can detect tampering: verify it"
    return f"{what}; tampering cannot be detected (unsigned; EFAIL, RFC 8551 §6)"


def content_is_signed(result: DecryptResult) -> bool:
    """Whether the decrypted content is a signed entity (or CMS SignedData)."""
    if result.inner_content_type == "signed-data":
        return True
    try:
        kind = classify(result.content)
    except InputError:
        return False
    return kind in (EntityKind.SIGNED_MULTIPART, EntityKind.SIGNED_OPAQUE)


def decrypt_content(der: bytes, credential: Credential) -> DecryptResult:
    """Decrypt a DER/BER ContentInfo (EnvelopedData or AuthEnvelopedData) with ``credential``.

    Raises NotARecipientError when no RecipientInfo names the credential's certificate,
    DecryptionError("decryption failed") for any cryptographic failure, and DecodeError /
    InputError / UnsupportedAlgorithmError for malformed or unsupported input.
    """
    return _decrypt_content(asn1.Handover(der), credential)


def _decrypt_content(handed: asn1.Handover[bytes], credential: Credential) -> DecryptResult:
    # A large message: the encoding is let go as it is parsed, and the ciphertext
    # once decrypted, so that neither adds up with the copies made from it.
    message = asn1.decode_enveloped_from(handed)
    cipher = ContentCipher.from_oid(message.algorithm_oid)
    if cipher.authenticated != message.authenticated:
        container = "AuthEnvelopedData" if message.authenticated else "EnvelopedData"
        wanted = "an AEAD cipher" if message.authenticated else "a non-AEAD cipher"
        raise InputError(f"{wanted} in {container}", cipher.value)
    recipient, rid = find_recipient(message.recipients, credential)
    rejected = False
    if isinstance(recipient, asn1.KeyTransRecipient):
        cek, transport, rejected = _unwrap_key_transport(recipient, credential, cipher)
    else:
        cek, transport = _unwrap_key_agreement(recipient, rid, credential, cipher)
    ciphertext = asn1.Handover(message.encrypted_content)
    message = dataclasses.replace(message, encrypted_content=b"")  # ``ciphertext`` holds it
    content = _decrypt_payload(message, ciphertext, cipher, cek)
    if rejected:
        # RFC 3218 §2.3: a bad key block was replaced by a random key and the content
        # decrypted and unpadded all the same; it fails here even when that key's padding
        # happened to look right (one CBC content in 256), never handing out garbage.
        raise DecryptionError()
    return DecryptResult(
        content=content,
        cipher=cipher,
        key_transport=transport,
        identifier=(
            RecipientIdentifier.ISSUER_AND_SERIAL
            if isinstance(rid, asn1.IssuerSerial)
            else RecipientIdentifier.SUBJECT_KEY_IDENTIFIER
        ),
        recipients=len(message.recipients),
        authenticated=message.authenticated,
        inner_content_type=_INNER_TYPE_NAMES.get(message.content_type, message.content_type),
    )


def refuse_unusable_key(message: bytes, key_type: str) -> NoReturn:
    """Decrypting ``message`` with a key of a type the engine cannot use (``key_type``,
    e.g. "X25519"): NotARecipientError, once ``message`` is known to be an
    (Auth)EnvelopedData message (else the InputError :func:`decrypt` would raise)."""
    _, entity = split_message(message)
    envelope = asn1.decode_enveloped(_enveloped_payload(entity))
    raise NotARecipientError(len(envelope.recipients), key_type=key_type)


def _unwrap_key_transport(
    recipient: asn1.KeyTransRecipient, credential: Credential, cipher: ContentCipher
) -> tuple[bytes, KeyTransport, bool]:
    """The content-encryption key, the transport, and whether the key block was rejected
    (PKCS#1 v1.5 only: then the key is random, and the caller fails after the same work)."""
    key = credential.private_key
    if recipient.algorithm_oid == RSA_ENCRYPTION:
        _require_rsa(key, "rsaes-pkcs1-v1_5")
        assert isinstance(key, rsa.RSAPrivateKey)
        try:
            cek = key.decrypt(recipient.encrypted_key, asym_padding.PKCS1v15())
        except ValueError:
            cek = b""
        rejected = len(cek) != cipher.key_size
        if rejected:
            # RFC 3218 §2.3: carry on with a random key so that a bad PKCS#1 v1.5 block
            # does the work a bad content padding or tag does, and fails with its error.
            cek = os.urandom(cipher.key_size)
        return cek, KeyTransport.RSAES_PKCS1_V1_5, rejected
    if recipient.algorithm_oid == RSAES_OAEP:
        _require_rsa(key, "rsaes-oaep")
        assert isinstance(key, rsa.RSAPrivateKey)
        oaep = recipient.oaep or asn1.OaepParameters()
        scheme = oaep_padding(
            DigestAlgorithm.from_oid(oaep.hash_oid),
            DigestAlgorithm.from_oid(oaep.mgf_hash_oid),
            oaep.label,
        )
        try:
            cek = key.decrypt(recipient.encrypted_key, scheme)
        except ValueError:
            raise DecryptionError() from None
        if len(cek) != cipher.key_size:
            raise DecryptionError()
        return cek, KeyTransport.RSAES_OAEP, False
    raise UnsupportedAlgorithmError("key transport algorithm", recipient.algorithm_oid)


def _require_rsa(key: object, algorithm: str) -> None:
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InputError(f"an RSA private key for {algorithm}", f"a {type(key).__name__}")


def _unwrap_key_agreement(
    recipient: asn1.KeyAgreeRecipient,
    rid: asn1.RecipientId,
    credential: Credential,
    cipher: ContentCipher,
) -> tuple[bytes, KeyTransport]:
    if recipient.algorithm_oid not in KEY_AGREEMENT_SCHEMES:
        raise UnsupportedAlgorithmError("key agreement algorithm", recipient.algorithm_oid)
    if recipient.wrap_oid not in KEY_WRAPS:
        raise UnsupportedAlgorithmError("key wrap algorithm", recipient.wrap_oid)
    if recipient.originator_point is None:
        raise InputError("an ephemeral originatorKey (RFC 5753)", "a static originator")
    key = credential.private_key
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError("an EC private key for ECDH key agreement", f"a {type(key).__name__}")
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, recipient.originator_point)
    except ValueError:
        raise DecodeError(
            f"an originator EC point on {key.curve.name}",
            f"{len(recipient.originator_point)} bytes that are not one",
        ) from None
    kek = derive_kek(key, peer, recipient.algorithm_oid, recipient.wrap_oid, recipient.ukm)
    encrypted_key = next(e.encrypted_key for e in recipient.encrypted_keys if e.rid == rid)
    try:
        cek = aes_key_unwrap(kek, encrypted_key)
    except (InvalidUnwrap, ValueError):
        raise DecryptionError() from None
    if len(cek) != cipher.key_size:
        raise DecryptionError()
    return cek, KeyTransport.ECDH


def _decrypt_payload(
    message: asn1.EnvelopedMessage, handed: asn1.Handover[bytes], cipher: ContentCipher, cek: bytes
) -> bytes:
    data = handed.take()
    if cipher.authenticated:
        tag = message.mac or b""
        if not 12 <= len(tag) <= 16 or len(tag) != message.icv_length:
            raise DecodeError(
                f"a {message.icv_length}-byte GCM tag as GCMParameters say", f"{len(tag)} bytes"
            )
        if not 8 <= len(message.iv) <= 128:
            raise DecodeError("a GCM nonce of 8 to 128 bytes", f"{len(message.iv)} bytes")
        decryptor = Cipher(
            cipher.spec.algorithm(cek), modes.GCM(message.iv, tag, min_tag_length=len(tag))
        ).decryptor()
        if message.auth_attributes is not None:
            decryptor.authenticate_additional_data(message.auth_attributes)
        try:
            return decryptor.update(data) + decryptor.finalize()
        except InvalidTag:
            raise DecryptionError() from None
    block = cipher.spec.block_size
    if len(message.iv) != block:
        raise DecodeError(f"a {block}-byte CBC IV", f"{len(message.iv)} bytes")
    if not data or len(data) % block:
        raise DecryptionError()
    cbc = Cipher(cipher.spec.algorithm(cek), modes.CBC(message.iv)).decryptor()
    padded = cbc.update(data) + cbc.finalize()  # finalize gives b"" (whole blocks): no copy
    del data  # the ciphertext goes before the plaintext is cut to length
    # RFC 5652 §6.3: the padding lies in the last block only, so cryptography's
    # (constant-time) unpadder sees just that block; a bad one fails the same way.
    unpadder = padding.PKCS7(block * 8).unpadder()
    try:
        kept = len(unpadder.update(padded[-block:]) + unpadder.finalize())
    except ValueError:
        raise DecryptionError() from None
    return padded[: len(padded) - block + kept]
