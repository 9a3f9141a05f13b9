"""AlgorithmIdentifiers and their parameters, built and parsed.

Signature algorithms: rsaEncryption with NULL parameters (RFC 3370 §3.2), RSASSA-PSS
(RFC 4055 §3.1, RFC 4056 §2.2); digest algorithms with absent parameters (RFC 5754 §2).
Key transport: RSAES-OAEP (RFC 4055 §4.1). Content encryption: an IV for CBC (RFC 3565
§4.1, RFC 3370 §5.1) and GCMParameters for GCM (RFC 5084 §3.2), as the algorithm
registry (:mod:`engine.cms.algorithms`) says each cipher takes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from asn1crypto import algos, cms, core

from engine._internal.memo import bounded, memoize
from engine.cms.algorithms import (
    MGF1,
    P_SPECIFIED,
    RSAES_OAEP,
    RSASSA_PSS,
    CipherMode,
    DigestAlgorithm,
    cipher_mode,
)
from engine.cms.codec import constant, dotted, frozen, octets
from engine.errors import DecodeError, UnsupportedAlgorithmError

SHA1 = DigestAlgorithm.SHA1.oid


class _AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    # RFC 5280 §4.1.1.2. asn1crypto's own classes force NULL parameters on SHA-2;
    # RFC 5754 §2 says generate them absent.
    _fields = [  # noqa: RUF012 - asn1crypto's class-level schema
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _OaepParameters(core.Sequence):  # type: ignore[misc]
    # RFC 4055 §4.1 RSAES-OAEP-params; pSourceFunc keeps its default (empty label).
    _fields = [  # noqa: RUF012 - asn1crypto's class-level schema
        ("hash_algorithm", _AlgorithmIdentifier, {"explicit": 0}),
        ("mask_gen_algorithm", _AlgorithmIdentifier, {"explicit": 1}),
    ]


class _PssParameters(core.Sequence):  # type: ignore[misc]
    # RFC 4055 §3.1 RSASSA-PSS-params; the trailer field keeps its default.
    _fields = [  # noqa: RUF012 - asn1crypto's class-level schema
        ("hash_algorithm", _AlgorithmIdentifier, {"explicit": 0}),
        ("mask_gen_algorithm", _AlgorithmIdentifier, {"explicit": 1}),
        ("salt_length", core.Integer, {"explicit": 2}),
    ]


class _GCMParameters(core.Sequence):  # type: ignore[misc]
    # RFC 5084 §3.2: GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING,
    # aes-ICVlen AES-GCM-ICVlen DEFAULT 12 }
    _fields = [  # noqa: RUF012  (asn1crypto's class-level schema)
        ("aes_nonce", core.OctetString),
        ("aes_icvlen", core.Integer, {"default": 12}),
    ]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AlgorithmIdentifier:
    oid: str
    parameters: bytes | None = None  # DER, None when absent


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PssParameters:
    """RSASSA-PSS-params (RFC 4055 §3.1), with the RFC defaults filled in."""

    hash_oid: str
    mgf_oid: str
    mgf_hash_oid: str | None
    salt_length: int
    trailer_field: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OaepParameters:
    """RSAES-OAEP-params (RFC 4055 §4.1); the defaults are SHA-1 / MGF1-SHA-1 / empty label."""

    hash_oid: str = SHA1
    mgf_hash_oid: str = SHA1
    label: bytes = b""


# --- signature and digest algorithms ------------------------------------------------------


def _algorithm(oid: str, parameters: bytes | None = None) -> _AlgorithmIdentifier:
    value: dict[str, Any] = {"algorithm": oid}
    if parameters is not None:
        value["parameters"] = core.Any.load(parameters)
    return _AlgorithmIdentifier(value)


@bounded(maxsize=64)
def algorithm_der(oid: str, parameters: bytes | None = None) -> bytes:
    """DER of an AlgorithmIdentifier; parameters absent unless given."""
    return bytes(_algorithm(oid, parameters).dump())


@bounded(maxsize=64)
def null_der() -> bytes:
    """DER NULL, the parameters of rsaEncryption (RFC 3370 §3.2)."""
    return bytes(core.Null().dump())


@bounded(maxsize=64)
def pss_parameters_der(hash_oid: str, salt_length: int) -> bytes:
    """RSASSA-PSS-params with MGF1 over the same hash (RFC 4056 §2.2)."""
    params = _PssParameters(
        {
            "hash_algorithm": _algorithm(hash_oid),
            "mask_gen_algorithm": _algorithm(MGF1, algorithm_der(hash_oid)),
            "salt_length": salt_length,
        }
    )
    return bytes(params.dump())


@bounded(maxsize=64)
def oaep_parameters_der(hash_oid: str) -> bytes:
    """RSAES-OAEP-params with MGF1 over the same hash and an empty label (RFC 4055 §4.1)."""
    params = _OaepParameters(
        {
            "hash_algorithm": _algorithm(hash_oid),
            "mask_gen_algorithm": _algorithm(MGF1, algorithm_der(hash_oid)),
        }
    )
    return bytes(params.dump())


@memoize(maxsize=256, max_bytes=4096)
def signature_algorithm(encoding: bytes) -> tuple[AlgorithmIdentifier, PssParameters | None]:
    """A SignerInfo's signatureAlgorithm (RFC 5652 §5.3), its PSS parameters read."""
    algorithm = cms.SignedDigestAlgorithm.load(encoding)
    signature_oid = dotted(algorithm["algorithm"])
    parameters = algorithm["parameters"]
    params_der = None if isinstance(parameters, core.Void) else bytes(parameters.dump())
    pss = _pss_parameters(params_der) if signature_oid == RSASSA_PSS else None
    return AlgorithmIdentifier(oid=signature_oid, parameters=params_der), pss


def _pss_parameters(der: bytes | None) -> PssParameters:
    if der is None:
        raise DecodeError("RSASSA-PSS parameters (RFC 4055 §3.1)", "none")
    params = algos.RSASSAPSSParams.load(der)
    mgf = params["mask_gen_algorithm"]
    mgf_params = mgf["parameters"]
    mgf_hash = None if isinstance(mgf_params, core.Void) else dotted(mgf_params["algorithm"])
    trailer = params["trailer_field"].native
    return PssParameters(
        hash_oid=dotted(params["hash_algorithm"]["algorithm"]),
        mgf_oid=dotted(mgf["algorithm"]),
        mgf_hash_oid=mgf_hash,
        salt_length=int(params["salt_length"].native),
        trailer_field=1 if trailer == "trailer_field_bc" else int(trailer),
    )


# --- key transport ---------------------------------------------------------------------------


@bounded(maxsize=64)
def key_transport_algorithm(oid: str, oaep: OaepParameters | None) -> cms.KeyEncryptionAlgorithm:
    """The keyEncryptionAlgorithm of a KeyTransRecipientInfo (RFC 5652 §6.2.1)."""
    if oaep is None:
        # asn1crypto writes rsaEncryption with NULL parameters (RFC 3370 §4.2.1).
        return frozen(cms.KeyEncryptionAlgorithm({"algorithm": oid}))
    # RFC 4055 §4.1/§2.1: hash AlgorithmIdentifiers carry NULL; DEFAULT values are omitted.
    fields: dict[str, object] = {}
    if oaep.hash_oid != SHA1:
        fields["hash_algorithm"] = {"algorithm": oaep.hash_oid}
    if oaep.mgf_hash_oid != SHA1:
        fields["mask_gen_algorithm"] = {
            "algorithm": "mgf1",
            "parameters": {"algorithm": oaep.mgf_hash_oid},
        }
    if oaep.label:
        fields["p_source_algorithm"] = {"algorithm": "p_specified", "parameters": oaep.label}
    # All defaults: an empty SEQUENCE (RFC 4055 §4.1 rSAES-OAEP-Default-Identifier).
    params = algos.RSAESOAEPParams(fields) if fields else algos.RSAESOAEPParams.load(b"\x30\x00")
    return frozen(cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_oaep", "parameters": params}))


@memoize(maxsize=64, max_bytes=1024)
def key_transport(
    encoding: bytes,
) -> tuple[str, OaepParameters | None, tuple[str, str] | None]:
    """A keyEncryptionAlgorithm read: its OID, its OAEP parameters, and what in them the
    engine does not implement as (what, OID), else None."""
    # The same few algorithm encodings in every message of a batch.
    algorithm = cms.KeyEncryptionAlgorithm.load(encoding)
    algorithm_oid = str(algorithm["algorithm"].dotted)
    if algorithm_oid != RSAES_OAEP:
        return algorithm_oid, None, None
    try:
        return algorithm_oid, _parse_oaep(algorithm), None
    except UnsupportedAlgorithmError as exc:
        # One recipient's parameters: that recipient is unusable, the others are not.
        return algorithm_oid, None, (exc.what, exc.oid)


def _parse_oaep(algorithm: cms.KeyEncryptionAlgorithm) -> OaepParameters:
    params = algorithm["parameters"]
    if isinstance(params, core.Void):
        return OaepParameters()  # RFC 4055 §4.1: absent means all defaults
    mgf = params["mask_gen_algorithm"]
    if mgf["algorithm"].dotted != MGF1:
        raise UnsupportedAlgorithmError("OAEP mask generation function", mgf["algorithm"].dotted)
    source = params["p_source_algorithm"]
    if source["algorithm"].dotted != P_SPECIFIED:
        raise UnsupportedAlgorithmError("OAEP label source", source["algorithm"].dotted)
    label_value = source["parameters"]
    label = b"" if isinstance(label_value, core.Void) else octets(label_value)
    return OaepParameters(
        hash_oid=params["hash_algorithm"]["algorithm"].dotted,
        mgf_hash_oid=mgf["parameters"]["algorithm"].dotted,
        label=label,
    )


# --- content encryption ----------------------------------------------------------------------


def content_encryption_algorithm(
    oid: str, iv: bytes, icv_length: int | None
) -> cms.EncryptionAlgorithm:
    """The contentEncryptionAlgorithm with the parameters the registry says the cipher
    takes: an IV OCTET STRING for CBC (RFC 3565 §4.1, RFC 3370 §5.1), GCMParameters for
    GCM (RFC 5084 §3.2)."""
    mode = cipher_mode(oid)
    if mode is CipherMode.GCM:
        # RFC 5084 §3.2; asn1crypto leaves out aes-ICVlen when it is the DEFAULT 12.
        params: core.Asn1Value = _GCMParameters({"aes_nonce": iv, "aes_icvlen": icv_length or 16})
    elif mode is CipherMode.CBC:
        params = core.OctetString(iv)
    else:
        raise UnsupportedAlgorithmError("content-encryption algorithm", oid)
    algorithm = constant(algos.EncryptionAlgorithmId, oid)
    return frozen(cms.EncryptionAlgorithm({"algorithm": algorithm, "parameters": params}))


def content_parameters(oid: str, params_der: bytes | None) -> tuple[bytes, int | None]:
    """(IV or nonce, GCM tag length or None) from a contentEncryptionAlgorithm's
    parameters; (b"", None) for a cipher the registry does not know."""
    mode = cipher_mode(oid)
    if mode is CipherMode.CBC:
        if params_der is None:
            raise DecodeError("a CBC IV in the content-encryption parameters", "none")
        return octets(core.OctetString.load(params_der)), None
    if mode is CipherMode.GCM:
        if params_der is None:
            raise DecodeError("GCMParameters in the content-encryption parameters", "none")
        gcm = _GCMParameters.load(params_der)
        return octets(gcm["aes_nonce"]), int(gcm["aes_icvlen"].native)
    # An algorithm the engine does not know: the message still parses, so that it can be
    # described (inspect, check-message); decryption refuses it by its OID.
    return b"", None
