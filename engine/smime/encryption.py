"""Encrypt an S/MIME message: CMS EnvelopedData and AuthEnvelopedData.

Content encryption with AES-CBC in EnvelopedData (RFC 5652 §6, RFC 3565) or AES-GCM
in AuthEnvelopedData (RFC 5083, RFC 5084), the cipher taken from the registry
(:mod:`engine.cms.algorithms`); a fresh content key per message, and a RecipientInfo
per recipient (:mod:`engine.smime.recipient`): RSA PKCS#1 v1.5 or RSAES-OAEP key
transport (RFC 3560, RFC 4055) for RSA keys, ephemeral-static ECDH with the X9.63 KDF
and AES key wrap (RFC 5753, RFC 3394) for EC keys. The message keeps its outer headers;
its MIME entity goes inside in canonical form (RFC 8551 §3.1, §3.3, §3.4). Every
primitive comes from ``cryptography``; the CMS structures from :mod:`engine.cms.enveloped`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from engine.cms import enveloped as asn1
from engine.cms.algorithms import (
    RSA_ENCRYPTION,
    RSAES_OAEP,
    STRENGTH_ORDER,
    ContentCipher,
    DigestAlgorithm,
    KeyTransport,
    RecipientIdentifier,
    key_agreement_scheme,
    key_wrap_for,
)
from engine.errors import InputError
from engine.smime.canonical import canonicalize
from engine.smime.message import is_bare_entity, split_message, with_mime_version
from engine.smime.pkcs7 import pkcs7_mime_message
from engine.smime.recipient import derive_kek, oaep_padding, recipient_id

__all__ = ["encrypt", "encrypt_content"]

_GCM_NONCE_LENGTH = 12  # RFC 5084 §3.2: 12 octets RECOMMENDED
_GCM_TAG_LENGTH = 16


def encrypt(
    message: bytes,
    recipients: Sequence[x509.Certificate],
    *,
    cipher: ContentCipher = ContentCipher.AES_256_CBC,
    key_transport: KeyTransport = KeyTransport.RSAES_PKCS1_V1_5,
    identifier: RecipientIdentifier = RecipientIdentifier.ISSUER_AND_SERIAL,
    ukm: bytes | None = None,
) -> bytes:
    """Encrypt a whole RFC 5322 message or a bare MIME entity; the same shape comes back.

    The outer headers (From, To, Subject, ...) stay outside; the MIME entity, with its
    Content-* headers, is encrypted in canonical form (RFC 8551 §3.1) and replaced by
    an application/pkcs7-mime part with smime-type enveloped-data, or
    authEnveloped-data for GCM (RFC 8551 §3.2.2, §3.4).
    """
    headers, entity = split_message(message)
    del message  # split off into a copy: a message the caller handed over goes now
    content = asn1.Handover(canonicalize(entity))
    del entity  # the canonical entity is held by ``content`` only, and let go once encrypted
    der = _encrypt_content(
        content,
        recipients,
        cipher=cipher,
        key_transport=key_transport,
        identifier=identifier,
        ukm=ukm,
    )
    smime_type = "authEnveloped-data" if cipher.authenticated else "enveloped-data"
    outer = headers if is_bare_entity(headers) else with_mime_version(headers)
    return pkcs7_mime_message(outer, der, smime_type)


def encrypt_content(
    content: bytes,
    recipients: Sequence[x509.Certificate],
    *,
    cipher: ContentCipher = ContentCipher.AES_256_CBC,
    key_transport: KeyTransport = KeyTransport.RSAES_PKCS1_V1_5,
    identifier: RecipientIdentifier = RecipientIdentifier.ISSUER_AND_SERIAL,
    ukm: bytes | None = None,
) -> bytes:
    """Encrypt ``content`` (id-data) for every certificate in ``recipients``.

    Returns a DER ContentInfo: EnvelopedData for CBC ciphers, AuthEnvelopedData for GCM.
    RSA recipients get ``key_transport``; EC recipients always get ECDH key agreement
    (RFC 5753), with ``ukm`` as user keying material when given.
    """
    return _encrypt_content(
        asn1.Handover(content),
        recipients,
        cipher=cipher,
        key_transport=key_transport,
        identifier=identifier,
        ukm=ukm,
    )


def _encrypt_content(
    handed: asn1.Handover[bytes],
    recipients: Sequence[x509.Certificate],
    *,
    cipher: ContentCipher,
    key_transport: KeyTransport,
    identifier: RecipientIdentifier,
    ukm: bytes | None,
) -> bytes:
    # A large message: the plaintext is let go once encrypted and the ciphertext once
    # encoded, so that the DER encoding's copies do not add up with them.
    if not recipients:
        raise InputError("at least one recipient certificate", "none")
    if cipher.legacy:
        choices = ", ".join(c.value for c in STRENGTH_ORDER)
        raise InputError(f"a content cipher for encryption ({choices})", f"{cipher.value} (legacy)")
    if key_transport is KeyTransport.ECDH:
        rsa_recipient = next(
            (c for c in recipients if isinstance(c.public_key(), rsa.RSAPublicKey)), None
        )
        if rsa_recipient is not None:
            raise InputError(
                "an RSA key transport (rsaes-pkcs1-v1_5, rsaes-oaep) for RSA recipients",
                f"ecdh for {rsa_recipient.subject.rfc4514_string()}",
            )
    cek = os.urandom(cipher.key_size)
    content = handed.take()
    infos = tuple(
        _recipient_info(certificate, cek, cipher, key_transport, identifier, ukm)
        for certificate in recipients
    )
    if cipher.authenticated:
        nonce = os.urandom(_GCM_NONCE_LENGTH)
        encryptor = Cipher(cipher.spec.algorithm(cek), modes.GCM(nonce)).encryptor()
        # RFC 5083 §2.2: no authAttrs, so no additional authenticated data.
        ciphertext = encryptor.update(content) + encryptor.finalize()
        del content
        message = asn1.EnvelopedMessage(
            authenticated=True,
            recipients=infos,
            content_type=asn1.DATA,
            algorithm_oid=cipher.oid,
            iv=nonce,
            icv_length=_GCM_TAG_LENGTH,
            encrypted_content=ciphertext,
            mac=encryptor.tag,
        )
        del ciphertext  # held once, in the message
    else:
        block = cipher.spec.block_size
        iv = os.urandom(block)
        # RFC 5652 §6.3 padding: only the last, partial block is padded (no padded copy).
        whole = len(content) - len(content) % block
        padder = padding.PKCS7(block * 8).padder()
        last = padder.update(content[whole:]) + padder.finalize()
        cbc = Cipher(cipher.spec.algorithm(cek), modes.CBC(iv)).encryptor()
        parts = (cbc.update(memoryview(content)[:whole]), cbc.update(last), cbc.finalize())
        del content
        message = asn1.EnvelopedMessage(
            authenticated=False,
            recipients=infos,
            content_type=asn1.DATA,
            algorithm_oid=cipher.oid,
            iv=iv,
            encrypted_content=b"".join(parts),
        )
        del parts  # the ciphertext is held once, in the message
    handed_on = asn1.Handover(message)
    del message
    return asn1.encode_enveloped_from(handed_on)


def _recipient_info(
    certificate: x509.Certificate,
    cek: bytes,
    cipher: ContentCipher,
    key_transport: KeyTransport,
    identifier: RecipientIdentifier,
    ukm: bytes | None,
) -> asn1.Recipient:
    rid = recipient_id(certificate, identifier)
    public_key = certificate.public_key()
    if isinstance(public_key, rsa.RSAPublicKey):
        if key_transport is KeyTransport.RSAES_OAEP:
            # RFC 8551 §2.7 / RFC 4055 §4: SHA-256 with MGF1-SHA-256, explicit parameters.
            sha256 = DigestAlgorithm.SHA256
            encrypted = public_key.encrypt(cek, oaep_padding(sha256, sha256, b""))
            return asn1.KeyTransRecipient(
                rid=rid,
                algorithm_oid=RSAES_OAEP,
                encrypted_key=encrypted,
                oaep=asn1.OaepParameters(hash_oid=sha256.oid, mgf_hash_oid=sha256.oid),
            )
        return asn1.KeyTransRecipient(
            rid=rid,
            algorithm_oid=RSA_ENCRYPTION,
            encrypted_key=public_key.encrypt(cek, asym_padding.PKCS1v15()),
        )
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return _key_agreement(public_key, rid, cek, cipher, ukm, certificate)
    raise InputError(
        "a recipient certificate with an RSA or EC key",
        f"a {type(public_key).__name__} key in {certificate.subject.rfc4514_string()}",
    )


def _key_agreement(
    public_key: ec.EllipticCurvePublicKey,
    rid: asn1.RecipientId,
    cek: bytes,
    cipher: ContentCipher,
    ukm: bytes | None,
    certificate: x509.Certificate,
) -> asn1.KeyAgreeRecipient:
    # RFC 5753 §3.1.1: a fresh ephemeral key per message (here per recipient).
    if isinstance(public_key.curve, ec.SECP256R1):
        scheme = key_agreement_scheme(DigestAlgorithm.SHA256)
    elif isinstance(public_key.curve, ec.SECP384R1):
        scheme = key_agreement_scheme(DigestAlgorithm.SHA384)
    else:
        raise InputError(
            "an EC recipient key on P-256 or P-384",
            f"curve {public_key.curve.name} in {certificate.subject.rfc4514_string()}",
        )
    # The KEK is as strong as the content key (RFC 5753 §7.1.5 / RFC 8551 §2.7).
    wrap_oid = key_wrap_for(cipher)
    ephemeral = ec.generate_private_key(public_key.curve)
    kek = derive_kek(ephemeral, public_key, scheme, wrap_oid, ukm)
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return asn1.KeyAgreeRecipient(
        originator_point=point,
        ukm=ukm,
        algorithm_oid=scheme,
        wrap_oid=wrap_oid,
        encrypted_keys=(asn1.RecipientEncryptedKey(rid=rid, encrypted_key=aes_key_wrap(kek, cek)),),
    )
