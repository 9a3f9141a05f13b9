"""Encrypt and decrypt S/MIME messages: CMS EnvelopedData and AuthEnvelopedData.

Content encryption: AES-128/256-CBC in EnvelopedData (RFC 5652 §6, RFC 3565) and
AES-128/256-GCM in AuthEnvelopedData (RFC 5083, RFC 5084); 3DES-CBC is decrypted
for legacy clients and reported. Key management: RSA PKCS#1 v1.5 and RSAES-OAEP key
transport (RFC 3560, RFC 4055) and, for EC recipients, ephemeral-static ECDH with the
X9.63 KDF and AES key wrap (RFC 5753, RFC 3394). Every primitive comes from
``cryptography``; the CMS structures from :mod:`engine.cms.enveloped`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import NoReturn

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from engine.cms import enveloped as asn1
from engine.cms.algorithms import (
    ID_EC_PUBLIC_KEY,
    KEY_AGREEMENT_SCHEMES,
    KEY_TRANSPORTS,
    KEY_WRAPS,
    PUBLIC_KEY_NAMES,
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
from engine.errors import (
    DecodeError,
    DecryptionError,
    InputError,
    NotARecipientError,
    UnsupportedAlgorithmError,
)
from engine.pki.credential import Credential
from engine.pki.keys import key_type_name
from engine.smime.canonical import canonicalize
from engine.smime.classification import EntityKind, classify
from engine.smime.entity import content_type
from engine.smime.message import is_bare_entity, split_message, with_mime_version
from engine.smime.pkcs7 import pkcs7_mime_message, pkcs7_payload

_INNER_TYPE_NAMES = {
    asn1.DATA: "data",
    asn1.SIGNED_DATA: "signed-data",
    asn1.ENVELOPED_DATA: "enveloped-data",
    asn1.AUTH_ENVELOPED_DATA: "authEnveloped-data",
    asn1.COMPRESSED_DATA: "compressed-data",
}

_GCM_NONCE_LENGTH = 12  # RFC 5084 §3.2: 12 octets RECOMMENDED
_GCM_TAG_LENGTH = 16


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


# --- messages ---------------------------------------------------------------------------------


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


# --- encryption -------------------------------------------------------------------------------


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
    rid = _recipient_id(certificate, identifier)
    public_key = certificate.public_key()
    if isinstance(public_key, rsa.RSAPublicKey):
        if key_transport is KeyTransport.RSAES_OAEP:
            # RFC 8551 §2.7 / RFC 4055 §4: SHA-256 with MGF1-SHA-256, explicit parameters.
            sha256 = DigestAlgorithm.SHA256
            encrypted = public_key.encrypt(cek, _oaep(sha256, sha256, b""))
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
    kek = _derive_kek(ephemeral, public_key, scheme, wrap_oid, ukm)
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


def _derive_kek(
    private_key: ec.EllipticCurvePrivateKey,
    peer: ec.EllipticCurvePublicKey,
    scheme: str,
    wrap_oid: str,
    ukm: bytes | None,
) -> bytes:
    # RFC 5753 §3.1.1 / §7.2: X9.63 KDF over the shared x-coordinate with ECC-CMS-SharedInfo.
    length = KEY_WRAPS[wrap_oid].kek_size
    shared_info = asn1.encode_ecc_cms_shared_info(wrap_oid=wrap_oid, ukm=ukm, kek_length=length)
    secret = private_key.exchange(ec.ECDH(), peer)
    kdf = X963KDF(
        algorithm=KEY_AGREEMENT_SCHEMES[scheme].kdf.hash(), length=length, sharedinfo=shared_info
    )
    return kdf.derive(secret)


def _recipient_id(
    certificate: x509.Certificate, identifier: RecipientIdentifier
) -> asn1.RecipientId:
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


def _oaep(hash_alg: DigestAlgorithm, mgf_hash: DigestAlgorithm, label: bytes) -> asym_padding.OAEP:
    return asym_padding.OAEP(
        mgf=asym_padding.MGF1(mgf_hash.hash()), algorithm=hash_alg.hash(), label=label or None
    )


# --- decryption -------------------------------------------------------------------------------


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
    recipient, rid = _find_recipient(message.recipients, credential)
    if isinstance(recipient, asn1.KeyTransRecipient):
        cek, transport = _unwrap_key_transport(recipient, credential, cipher)
    else:
        cek, transport = _unwrap_key_agreement(recipient, rid, credential, cipher)
    ciphertext = asn1.Handover(message.encrypted_content)
    message = dataclasses.replace(message, encrypted_content=b"")  # ``ciphertext`` holds it
    content = _decrypt_payload(message, ciphertext, cipher, cek)
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


def _find_recipient(
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


def refuse_unusable_key(message: bytes, key_type: str) -> NoReturn:
    """Decrypting ``message`` with a key of a type the engine cannot use (``key_type``,
    e.g. "X25519"): NotARecipientError, once ``message`` is known to be an
    (Auth)EnvelopedData message (else the InputError :func:`decrypt` would raise)."""
    _, entity = split_message(message)
    envelope = asn1.decode_enveloped(_enveloped_payload(entity))
    raise NotARecipientError(len(envelope.recipients), key_type=key_type)


def _unwrap_key_transport(
    recipient: asn1.KeyTransRecipient, credential: Credential, cipher: ContentCipher
) -> tuple[bytes, KeyTransport]:
    key = credential.private_key
    if recipient.algorithm_oid == RSA_ENCRYPTION:
        _require_rsa(key, "rsaes-pkcs1-v1_5")
        assert isinstance(key, rsa.RSAPrivateKey)
        try:
            cek = key.decrypt(recipient.encrypted_key, asym_padding.PKCS1v15())
        except ValueError:
            cek = b""
        if len(cek) != cipher.key_size:
            # RFC 3218 §2.3: carry on with a random key so that a bad PKCS#1 v1.5 block
            # fails where a bad content padding or tag does, with the same error.
            cek = os.urandom(cipher.key_size)
        return cek, KeyTransport.RSAES_PKCS1_V1_5
    if recipient.algorithm_oid == RSAES_OAEP:
        _require_rsa(key, "rsaes-oaep")
        assert isinstance(key, rsa.RSAPrivateKey)
        oaep = recipient.oaep or asn1.OaepParameters()
        scheme = _oaep(
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
        return cek, KeyTransport.RSAES_OAEP
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
    kek = _derive_kek(key, peer, recipient.algorithm_oid, recipient.wrap_oid, recipient.ukm)
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
