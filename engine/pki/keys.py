"""Key types, key generation and a key pool.

Generating an RSA key (a search for primes) and loading one with full
validation are slow next to everything else a scenario does, so tests and
scenarios draw keys from a :class:`KeyPool` that generates each key once and
caches it on disk. Keys the pool made itself are reloaded without re-validation; keys from outside
(:func:`load_private_key`) are always validated.
"""

from __future__ import annotations

import enum
import os
import threading
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from engine._internal.files import write_atomically
from engine.cms.algorithms import parse_enum
from engine.errors import (
    DecodeError,
    InputError,
    PasswordError,
    UnsupportedKeyError,
    describe_bytes,
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class KeyType(enum.Enum):
    """Key types the engine issues (RFC 8551 §2.2 / §2.7)."""

    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"

    @classmethod
    def parse(cls, text: str) -> KeyType:
        return parse_enum(cls, text, "key type")

    @classmethod
    def of(cls, key: PrivateKey | PublicKey) -> KeyType:
        if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            for member in cls:
                if member.value == f"rsa-{key.key_size}":
                    return member
            raise InputError("an RSA key of 2048, 3072 or 4096 bits", f"{key.key_size} bits")
        curve = key.curve.name
        for member, name in ((cls.EC_P256, "secp256r1"), (cls.EC_P384, "secp384r1")):
            if curve == name:
                return member
        raise InputError("an EC key on P-256 or P-384", f"curve {curve}")

    @property
    def is_rsa(self) -> bool:
        return self.value.startswith("rsa-")


def generate_key(key_type: KeyType) -> PrivateKey:
    """Generate a fresh private key of ``key_type``."""
    if key_type.is_rsa:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type.value[4:]))
    curve: ec.EllipticCurve = ec.SECP256R1() if key_type is KeyType.EC_P256 else ec.SECP384R1()
    return ec.generate_private_key(curve)


class KeySource(Protocol):
    """Where an authority gets new key pairs from.

    Each call returns a key this source has not handed out before: an authority's
    :class:`engine.pki.authority.CertificateMemo` relies on it, as issuing with a repeated
    key and spec would otherwise give back the earlier certificate.
    """

    def new_key(self, key_type: KeyType) -> PrivateKey: ...


class FreshKeys:
    """A key source that generates every key anew (production behaviour)."""

    __slots__ = ()

    def new_key(self, key_type: KeyType) -> PrivateKey:
        return generate_key(key_type)


def default_cache_dir() -> Path:
    """``$SMIME_HARNESS_KEY_CACHE``, else ``$XDG_CACHE_HOME/smime-harness/keys``."""
    explicit = os.environ.get("SMIME_HARNESS_KEY_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "smime-harness" / "keys"


class KeyPool:
    """Pre-generated keys, each handed out at most once per pool.

    Key ``n`` of a type is the same across runs when a cache folder is given:
    it is generated once and stored there as unencrypted PKCS#8 DER (test keys
    only, never committed). Without a cache folder keys live in memory.
    Safe to share between threads; processes sharing the folder write
    atomically.
    """

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir
        self._next: dict[KeyType, int] = {}
        self._lock = threading.Lock()
        self._loaded: dict[tuple[KeyType, int], PrivateKey] = {}

    def view(self) -> KeyPool:
        """A pool over the same keys whose hand-out starts again at key 0.

        Independent worlds (one per scenario) each draw from a view: keys stay
        distinct within a world, and a run of 2,000 scenarios needs the keys of
        its largest scenario, not 2,000 times as many. Keys loaded once are
        shared, so a view costs nothing.
        """
        pool = KeyPool(self._cache_dir)
        pool._loaded = self._loaded
        return pool

    def new_key(self, key_type: KeyType) -> PrivateKey:
        with self._lock:
            index = self._next.get(key_type, 0)
            self._next[key_type] = index + 1
        return self.key(key_type, index)

    def key(self, key_type: KeyType, index: int) -> PrivateKey:
        """Key number ``index`` of ``key_type`` (without consuming it)."""
        if self._cache_dir is None:
            return _memory_key(key_type, index)
        loaded = self._loaded.get((key_type, index))
        if loaded is not None:
            return loaded
        key = self._cached_key(key_type, index)
        self._loaded[(key_type, index)] = key
        return key

    def _cached_key(self, key_type: KeyType, index: int) -> PrivateKey:
        assert self._cache_dir is not None
        path = self._cache_dir / f"{key_type.value}-{index:04d}.der"
        try:
            der = path.read_bytes()
        except FileNotFoundError:
            key = generate_key(key_type)
            der = key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            write_atomically(path, der, private=True)
            return key
        return _load_own_der(der)


_MEMORY: dict[tuple[KeyType, int], PrivateKey] = {}
_MEMORY_LOCK = threading.Lock()


def _memory_key(key_type: KeyType, index: int) -> PrivateKey:
    with _MEMORY_LOCK:
        found = _MEMORY.get((key_type, index))
    if found is None:
        found = generate_key(key_type)
        with _MEMORY_LOCK:
            found = _MEMORY.setdefault((key_type, index), found)
    return found


def _load_own_der(der: bytes) -> PrivateKey:
    # Keys this project generated itself: skip the costly RSA consistency check.
    key = serialization.load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise DecodeError("an RSA or EC private key", type(key).__name__, source="key cache")
    return key


def load_private_key(
    data: bytes, password: bytes | None = None, *, source: str = "private key"
) -> PrivateKey:
    """Load an RSA or EC private key from PEM or DER (PKCS#8, PKCS#1, SEC1).

    Keys from outside are fully validated.
    """
    stripped = data.lstrip()
    loader = (
        serialization.load_pem_private_key
        if stripped.startswith(b"-----BEGIN")
        else serialization.load_der_private_key
    )
    try:
        key = loader(stripped if loader is serialization.load_pem_private_key else data, password)
    except TypeError as exc:
        # cryptography: "Password was not given but private key is encrypted" and the reverse.
        if password is None:
            raise PasswordError("a password for the encrypted key", "none", source=source) from exc
        raise PasswordError(
            "an encrypted key", "an unencrypted key and a password", source=source
        ) from exc
    except ValueError as exc:
        if password is not None and b"ENCRYPTED" in stripped[:64]:
            raise PasswordError("the right password", "a wrong password", source=source) from exc
        raise DecodeError("a PEM or DER private key", describe_bytes(data), source=source) from exc
    except Exception as exc:  # cryptography may raise UnsupportedAlgorithm
        raise DecodeError("a PEM or DER private key", describe_bytes(data), source=source) from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise UnsupportedKeyError(key_type_name(key), source=source)
    return key


def key_type_name(key: object) -> str:
    """A readable name for a key's type: ``X25519``, ``Ed25519``, ``DSA``."""
    name = type(key).__name__.removeprefix("_")
    for suffix in ("PrivateKey", "PublicKey"):
        name = name.removesuffix(suffix)
    return name


def private_key_pem(key: PrivateKey, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted when a password is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
