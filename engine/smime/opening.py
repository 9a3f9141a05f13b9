"""Peel a message's S/MIME layers: decrypt, verify, repeat.

Real clients nest both ways (RFC 8551 §3.7): Outlook puts opaque signed-data
inside enveloped-data, Thunderbird multipart/signed inside enveloped-data,
and some gateways sign what is already encrypted. :func:`open_message` walks
any such nesting with the keys and trust anchors it is given.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence

from cryptography import x509

from engine._internal.memo import MemoTables, owned
from engine.errors import DecryptionError, InputError, NotARecipientError
from engine.pki.credential import Credential
from engine.smime.classification import EntityKind, classify
from engine.smime.decryption import DecryptResult, decrypt
from engine.smime.message import split_message
from engine.smime.sender import from_mailbox
from engine.smime.verification import verify
from engine.smime.verification_result import VerificationResult

MAX_DEPTH = 8  # deeper nesting is refused: no real client does it, and it bounds the work


class LayerKind(enum.Enum):
    SIGNED = "signed"
    ENCRYPTED = "encrypted"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    kind: LayerKind
    entity_kind: EntityKind
    verification: VerificationResult | None = None
    decryption: DecryptResult | None = None
    failure: str | None = None  # why the layer could not be opened (encrypted layers only)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OpenedMessage:
    """Every layer from the outside in, and what was found inside the last one opened."""

    layers: tuple[Layer, ...]
    content: bytes  # the innermost entity reached (still encrypted if a layer could not be opened)
    headers: tuple[tuple[str, str], ...]  # the outer RFC 5322 header fields

    @property
    def encrypted(self) -> bool:
        return any(layer.kind is LayerKind.ENCRYPTED for layer in self.layers)

    @property
    def decrypted(self) -> bool:
        enc = [layer for layer in self.layers if layer.kind is LayerKind.ENCRYPTED]
        return bool(enc) and all(layer.decryption is not None for layer in enc)

    @property
    def signature(self) -> VerificationResult | None:
        """The innermost signature: the one over the content a person reads."""
        for layer in reversed(self.layers):
            if layer.verification is not None:
                return layer.verification
        return None

    @property
    def decryption(self) -> DecryptResult | None:
        for layer in self.layers:
            if layer.decryption is not None:
                return layer.decryption
        return None


def open_message(
    message: bytes,
    *,
    credentials: Sequence[Credential],
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    crls: Sequence[x509.CertificateRevocationList] = (),
    sender: str | None = None,
) -> OpenedMessage:
    """Decrypt with whichever credential is a recipient, verify every signature, recursively.

    From the first encrypted layer on, everything is read inside :func:`owned` memo
    tables: the caller's when it opens inside an ``owned(tables)`` block (a client, a
    batch: what its messages repeat is read once), else this call's own. Nothing
    decrypted enters a module-level cache."""
    with contextlib.ExitStack() as private:
        return _open(message, private, credentials, anchors, at, crls, sender)


def _open(
    message: bytes,
    private: contextlib.ExitStack,
    credentials: Sequence[Credential],
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    crls: Sequence[x509.CertificateRevocationList],
    sender: str | None,
) -> OpenedMessage:
    headers, entity = split_message(message)
    layers: list[Layer] = []
    current = message
    tables: MemoTables | None = None
    for _ in range(MAX_DEPTH):
        kind = classify(entity)
        if kind in (EntityKind.ENVELOPED, EntityKind.AUTH_ENVELOPED):
            if tables is None:
                tables = private.enter_context(owned())
            layer, inner = _decrypt_layer(current, kind, credentials)
            layers.append(layer)
            if inner is None:
                break
            entity = inner
        elif kind in (EntityKind.SIGNED_MULTIPART, EntityKind.SIGNED_OPAQUE):
            # Every layer's signer is matched against the outer From:/Sender:, the
            # sender a person sees, by the one address rule (engine.smime.sender).
            result = verify(
                current, anchors=anchors, at=at, crls=crls, sender=sender, headers=headers
            )
            layers.append(Layer(kind=LayerKind.SIGNED, entity_kind=kind, verification=result))
            entity = result.content
        else:
            break
        current = entity
    else:
        raise InputError(f"at most {MAX_DEPTH} nested S/MIME layers", "more")
    return OpenedMessage(layers=tuple(layers), content=entity, headers=tuple(headers))


def _decrypt_layer(
    current: bytes, kind: EntityKind, credentials: Sequence[Credential]
) -> tuple[Layer, bytes | None]:
    failure = "no key for this message: not among its recipients"
    for credential in credentials:
        try:
            result = decrypt(current, credential)
        except NotARecipientError:
            continue
        except DecryptionError as exc:
            failure = str(exc)
            break
        return Layer(kind=LayerKind.ENCRYPTED, entity_kind=kind, decryption=result), result.content
    return Layer(kind=LayerKind.ENCRYPTED, entity_kind=kind, failure=failure), None


def header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """The first header field called ``name`` (case-insensitive), as written."""
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def from_address(headers: Sequence[tuple[str, str]]) -> str | None:
    """The message's one author (RFC 5322 §3.6.2), without display name: None when the
    From: field is missing or unreadable, or several authors are named."""
    return from_mailbox(headers)
