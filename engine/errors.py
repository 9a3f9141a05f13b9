"""One error hierarchy for the whole engine.

Every exception the engine raises on purpose derives from :class:`SmimeError`.
Errors about bad input also derive from :class:`ValueError`. Each exception
keeps the data its one-line message is built from, so callers can act on it.
"""

from __future__ import annotations

import re


class SmimeError(Exception):
    """Root of every error the engine raises."""

    def diagnostics(self) -> str:
        """A one-line text for humans (what the CLI prints)."""
        return str(self)


class InputError(SmimeError, ValueError):
    """Input is malformed or of the wrong kind.

    ``expected`` says what the engine needed, ``found`` what it got; ``source``
    names the input (a file name, a MIME part, a field) when known.
    """

    def __init__(self, expected: str, found: str, *, source: str | None = None) -> None:
        self.expected = expected
        self.found = found
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}expected {expected}, found {found}")


class DecodeError(InputError):
    """Bytes could not be decoded as the DER/BER/PEM/MIME structure expected."""


class UnsupportedAlgorithmError(InputError):
    """An algorithm identifier the engine does not implement."""

    def __init__(self, what: str, oid: str, *, source: str | None = None) -> None:
        self.what = what
        self.oid = oid
        super().__init__(f"a supported {what}", f"unsupported {what} {oid}", source=source)


class UnsupportedKeyError(InputError):
    """A well-formed private key of a type the engine cannot use (X25519, Ed25519, DSA...).

    ``key_type`` names it. Decrypting with such a key is "not a recipient", not bad input.
    """

    def __init__(self, key_type: str, *, source: str | None = None) -> None:
        self.key_type = key_type
        super().__init__("an RSA or EC private key", f"a key of type {key_type}", source=source)


class KeyMismatchError(InputError):
    """A private key does not belong to the certificate it was given with."""


class PasswordError(InputError):
    """A password is missing or wrong for encrypted key material."""


class DecryptionError(SmimeError):
    """Decryption failed.

    Deliberately says no more than that: wrong key, bad padding and a bad tag
    give the same message so the error is no oracle (RFC 3218 §2.3).
    """

    def __init__(self, message: str = "decryption failed") -> None:
        super().__init__(message)


class NotARecipientError(SmimeError):
    """The given key is not among the message's recipients."""

    def __init__(self, recipients: int, *, key_type: str | None = None) -> None:
        self.recipients = recipients
        self.key_type = key_type
        if key_type is not None:
            # A key the engine cannot decrypt with: no recipient info is one it can open.
            super().__init__(
                f"expected a recipient key the engine can use (RSA or EC), found a key of "
                f"type {key_type}: not a recipient in any of {recipients} recipient info(s)"
            )
            return
        super().__init__(
            f"expected a recipient matching the given certificate, "
            f"found none among {recipients} recipient info(s)"
        )


class EnrollmentError(SmimeError):
    """An enrollment request was refused (unknown mailbox, token used or wrong)."""


class CertificateError(SmimeError, ValueError):
    """A certificate request cannot be honoured as specified."""


class KeyRecoveryError(SmimeError):
    """An archived private key cannot be recovered for a certificate."""

    def __init__(self, *, serial_number: int, reason: str) -> None:
        self.serial_number = serial_number
        self.reason = reason
        super().__init__(f"cannot recover the key of certificate {serial_number:x}: {reason}")


_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9][A-Z0-9 #]{0,40})-----")


def describe_bytes(data: bytes) -> str:
    """What kind of thing unexpected input is, for an error's ``found``: never its content.

    The input may be anything a user pointed at by mistake (a password file, a
    private key), so the description names only its size and kind: a PEM block's
    label (a standard word such as ``PRIVATE KEY``), DER, text or binary data.
    """
    if not data:
        return "empty input"
    size = f"{len(data)} byte{'s' if len(data) != 1 else ''}"
    label = _PEM_LABEL.match(data.lstrip()[:64])
    if label:
        return f"a PEM block labelled {label.group(1).decode('ascii')!r} ({size})"
    if data[0] == 0x30:  # the tag of an ASN.1 SEQUENCE: DER of some other kind, or broken
        return f"{size} of DER (an ASN.1 SEQUENCE) of another kind or malformed"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"{size} of binary data"
    if all(c.isprintable() or c in "\r\n\t" for c in text):
        return f"{size} of text"
    return f"{size} of binary data"
