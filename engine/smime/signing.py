"""Sign a message: CMS SignedData wrapped as S/MIME (RFC 5652 §5, RFC 8551 §3.5).

Detached ``multipart/signed`` (the default) or opaque
``application/pkcs7-mime; smime-type=signed-data``. The signed entity is
made 7-bit safe and CRLF-canonical first, so the bytes signed are the bytes
sent (RFC 8551 §3.1.1, §3.1.2).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from engine.clock import Clock, aware
from engine.cms.algorithms import (
    RSA_ENCRYPTION,
    RSAES_OAEP,
    RSASSA_PSS,
    STRENGTH_ORDER,
    ContentCipher,
    DigestAlgorithm,
    KeyTransport,
    SignatureScheme,
    signature_oid,
)
from engine.cms.attributes import Capability, signed_attributes_der
from engine.cms.content_types import OID_DATA
from engine.cms.identifiers import IssuerSerial
from engine.cms.parameters import (
    AlgorithmIdentifier,
    null_der,
    oaep_parameters_der,
    pss_parameters_der,
)
from engine.cms.signed import signed_data_der
from engine.errors import InputError
from engine.pki.credential import Credential
from engine.pki.requirements import (
    CertificateContext,
    first_shortfall,
    key_usage_allows_key_establishment,
)
from engine.smime.canonical import seven_bit
from engine.smime.message import is_bare_entity, split_message, with_mime_version
from engine.smime.multipart import multipart_signed_message
from engine.smime.pkcs7 import pkcs7_mime_message

__all__ = [
    "DEFAULT_CAPABILITIES",
    "DEFAULT_KEY_TRANSPORTS",
    "capability_list",
    "sign",
    "signature_algorithm",
]

# RFC 8551 §2.5.2: strongest first, every cipher the engine encrypts with (the
# registry's order). AES-GCM needs AuthEnvelopedData (RFC 5083).
DEFAULT_CAPABILITIES: tuple[ContentCipher, ...] = STRENGTH_ORDER
# Announced after the ciphers: the signer can decrypt RSAES-OAEP (RFC 8551 §2.5.2).
DEFAULT_KEY_TRANSPORTS: tuple[KeyTransport, ...] = (KeyTransport.RSAES_OAEP,)

OID_RSAES_OAEP = RSAES_OAEP


def sign(
    message: bytes,
    signer: Credential,
    *,
    clock: Clock,
    digest: DigestAlgorithm = DigestAlgorithm.SHA256,
    scheme: SignatureScheme | None = None,
    opaque: bool = False,
    encryption_certificate: x509.Certificate | None = None,
    capabilities: Sequence[ContentCipher] = DEFAULT_CAPABILITIES,
    include_chain: bool = True,
    key_transports: Sequence[KeyTransport] = DEFAULT_KEY_TRANSPORTS,
) -> bytes:
    """Sign ``message`` (a whole RFC 5322 message or a bare MIME entity).

    Returns the same shape: outer headers (From, To, Subject, ...) stay outside,
    the MIME content headers move into the signed entity. ``scheme`` defaults
    to PKCS #1 v1.5 for RSA keys and ECDSA for EC keys.
    """
    key = signer.private_key
    scheme = _scheme_for(key, scheme)
    headers, entity = split_message(message)
    content = seven_bit(entity)  # CRLF canonical and 7-bit (RFC 8551 §3.1)
    hasher = hashes.Hash(digest.hash())
    hasher.update(content)

    signing_time = aware(clock.now(), what="signing time")
    preferred = encryption_certificate
    if preferred is None and _can_encrypt(signer.certificate, signing_time):
        preferred = signer.certificate  # dual-use: the signer's own certificate
    reference = None if preferred is None else issuer_serial(preferred)
    attributes = signed_attributes_der(
        content_type=OID_DATA,
        message_digest=hasher.finalize(),
        signing_time=signing_time,
        capabilities=capability_list(capabilities, key_transports),
        encryption_key_preference=reference,
        microsoft_encryption_key=reference,
    )
    algorithm, signature = _sign_attributes(key, scheme, digest, attributes)

    certificates = [signer.certificate]
    if include_chain:
        certificates.extend(signer.chain)
    if encryption_certificate is not None:
        certificates.append(encryption_certificate)
    der = signed_data_der(
        content=content if opaque else None,
        digest_oid=digest.oid,
        signature_algorithm=algorithm,
        signer=issuer_serial(signer.certificate),
        signed_attributes=attributes,
        signature=signature,
        certificates=[_der(c) for c in certificates],
    )
    outer = with_mime_version(headers)
    if is_bare_entity(headers):
        outer = [h for h in outer if h[0].lower() == "mime-version"]
    if opaque:
        return pkcs7_mime_message(outer, der, "signed-data")
    return multipart_signed_message(outer, content, der, digest.micalg)  # one join, one copy


@functools.lru_cache(maxsize=256)
def _der(certificate: x509.Certificate) -> bytes:
    # The same bytes object each time: the certificate set is cached on them (RFC 5652 §10.2.1).
    return certificate.public_bytes(serialization.Encoding.DER)


def issuer_serial(certificate: x509.Certificate) -> IssuerSerial:
    """IssuerAndSerialNumber of a certificate (RFC 5652 §10.2.4)."""
    return IssuerSerial.of(certificate)


def capability_list(
    ciphers: Sequence[ContentCipher], key_transports: Sequence[KeyTransport] = ()
) -> list[Capability]:
    """SMIMECapabilities in order of preference (RFC 8551 §2.5.2)."""
    result = [Capability(oid=cipher.oid) for cipher in ciphers]
    for transport in key_transports:
        if transport is KeyTransport.RSAES_OAEP:
            # The engine's OAEP uses SHA-256 with MGF1-SHA-256 (RFC 4055 §4.1).
            parameters = oaep_parameters_der(DigestAlgorithm.SHA256.oid)
            result.append(Capability(oid=OID_RSAES_OAEP, parameters=parameters))
    return result


def signature_algorithm(scheme: SignatureScheme, digest: DigestAlgorithm) -> AlgorithmIdentifier:
    """The SignerInfo signatureAlgorithm (RFC 3370 §3.2, RFC 4056 §2, RFC 5753 §7.1.3)."""
    if scheme is SignatureScheme.RSA_PKCS1V15:
        return AlgorithmIdentifier(oid=RSA_ENCRYPTION, parameters=null_der())
    if scheme is SignatureScheme.RSA_PSS:
        parameters = pss_parameters_der(digest.oid, digest.hash().digest_size)
        return AlgorithmIdentifier(oid=RSASSA_PSS, parameters=parameters)
    return AlgorithmIdentifier(oid=signature_oid(SignatureScheme.ECDSA, digest))


def _scheme_for(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, scheme: SignatureScheme | None
) -> SignatureScheme:
    if isinstance(key, rsa.RSAPrivateKey):
        if scheme is None:
            return SignatureScheme.RSA_PKCS1V15
        if scheme is SignatureScheme.ECDSA:
            raise InputError("an RSA signature scheme for an RSA key", "ecdsa")
        return scheme
    if scheme not in (None, SignatureScheme.ECDSA):
        raise InputError("ecdsa for an EC key", scheme.value)
    return SignatureScheme.ECDSA


def _sign_attributes(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    scheme: SignatureScheme,
    digest: DigestAlgorithm,
    attributes: bytes,
) -> tuple[AlgorithmIdentifier, bytes]:
    # RFC 5652 §5.4: the signature covers the DER SET OF signed attributes.
    algorithm = signature_algorithm(scheme, digest)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return algorithm, key.sign(attributes, ec.ECDSA(digest.hash()))
    if scheme is SignatureScheme.RSA_PSS:
        # RFC 4056 §3: MGF1 with the same hash, salt as long as the hash output.
        pss = padding.PSS(mgf=padding.MGF1(digest.hash()), salt_length=digest.hash().digest_size)
        return algorithm, key.sign(attributes, pss, digest.hash())
    return algorithm, key.sign(attributes, padding.PKCS1v15(), digest.hash())


def _can_encrypt(certificate: x509.Certificate, at: dt.datetime) -> bool:
    """A dual-use certificate: its key usage allows key establishment (RFC 8550 §4.4.2)."""
    context = CertificateContext(at=at, subject="the signer's certificate")
    try:
        return first_shortfall(certificate, context, (key_usage_allows_key_establishment,)) is None
    except ValueError:  # a keyUsage extension that cannot be read allows nothing
        return False
