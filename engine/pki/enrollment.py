"""Enrollment, as Exchange KMS did it: one-time tokens, what each mailbox holds, the key archive.

A CA hands a mailbox a one-time token (the KMS "temporary key"); the mailbox
exchanges it for a dual-use certificate or a signing and an encryption
certificate (:class:`Enrollment`). :class:`EnrollmentDesk` keeps the tokens and
each mailbox's enrollments, so renewing repeats the arrangement;
:class:`KeyArchive` keeps encryption keys for recovery and never a signing key
(RFC 8550 §4.4.2 separates the two). Issuing the certificates is
:class:`~engine.pki.authority.OrgCA`'s.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

from cryptography import x509

from engine.errors import CertificateError, EnrollmentError, KeyRecoveryError
from engine.pki.certificate_spec import check_email
from engine.pki.credential import Credential, certificate_ref
from engine.pki.keys import KeyType, PrivateKey


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentToken:
    """A one-time enrollment secret for one mailbox (the KMS "temporary key")."""

    email: str
    secret: str

    def __repr__(self) -> str:  # keep the secret out of logs and test output
        return f"EnrollmentToken(email={self.email!r}, secret='***')"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Enrollment:
    """What a mailbox holds after enrolling: its signing and its encryption credential."""

    email: str
    signing: Credential
    encryption: Credential  # the same object as ``signing`` for a dual-use certificate

    @property
    def dual_use(self) -> bool:
        return self.signing is self.encryption

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        if self.dual_use:
            return (self.signing.certificate,)
        return (self.signing.certificate, self.encryption.certificate)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Arrangement:
    """How a mailbox enrolled, so that renewing repeats it."""

    key_type: KeyType
    separate_encryption_key: bool
    validity: dt.timedelta


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Token:
    secret: str
    used: bool = False


def _mailbox(email: str) -> str:
    # The domain part is case-insensitive (RFC 5321 §2.4); treat the local part alike here.
    return email.strip().lower()


class EnrollmentDesk:
    """The tokens a CA handed out and the enrollments they were exchanged for, by mailbox."""

    def __init__(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._arrangements: dict[str, Arrangement] = {}
        self._enrollments: dict[str, list[Enrollment]] = {}

    def issue_token(self, email: str) -> EnrollmentToken:
        """A fresh one-time token for ``email``; any earlier unused token is void."""
        check_email(email, "email")
        secret = secrets.token_urlsafe(16)
        self._tokens[_mailbox(email)] = _Token(secret=secret)
        return EnrollmentToken(email=email, secret=secret)

    def redeem(self, email: str, token: str, arrangement: Arrangement) -> None:
        """Spend the token of ``email``, or raise :class:`EnrollmentError` saying why not."""
        check_email(email, "email")
        mailbox = _mailbox(email)
        held = self._tokens.get(mailbox)
        if held is None:
            raise EnrollmentError(f"no enrollment token was issued for {email}")
        # Compare in constant time so response timing reveals nothing of the secret.
        if not secrets.compare_digest(held.secret.encode(), token.encode()):
            raise EnrollmentError(f"the enrollment token for {email} is wrong")
        if held.used:
            raise EnrollmentError(
                f"the enrollment token for {email} was already used; ask for a new one"
            )
        if arrangement.validity <= dt.timedelta(0):  # refuse before the token is spent
            raise CertificateError(f"validity={arrangement.validity}, but it must be positive")
        self._tokens[mailbox] = dataclasses.replace(held, used=True)

    def arrangement(self, email: str) -> Arrangement:
        """How ``email`` enrolled last; an :class:`EnrollmentError` if it never did."""
        arrangement = self._arrangements.get(_mailbox(email))
        if arrangement is None:
            raise EnrollmentError(f"{email} never enrolled, so there is nothing to renew")
        return arrangement

    def record(self, enrollment: Enrollment, arrangement: Arrangement) -> None:
        mailbox = _mailbox(enrollment.email)
        self._arrangements[mailbox] = arrangement
        self._enrollments.setdefault(mailbox, []).append(enrollment)

    def enrollments(self, email: str) -> tuple[Enrollment, ...]:
        """Every enrollment of ``email``, oldest first."""
        return tuple(self._enrollments.get(_mailbox(email), ()))


class KeyArchive:
    """Private keys of the encryption (and dual-use) certificates a CA issued (KMS recovery)."""

    def __init__(self, owner: str) -> None:
        self._owner = owner  # the CA's name, for the error that it did not issue a certificate
        self._keys: dict[tuple[bytes, int], PrivateKey] = {}
        self._signing_only: set[tuple[bytes, int]] = set()

    def keep(self, certificate: x509.Certificate, key: PrivateKey, *, archived: bool) -> None:
        """Archive ``key``, or only remember that ``certificate`` is a signing one."""
        ref = certificate_ref(certificate)
        if archived:
            self._keys[ref] = key
        else:
            self._signing_only.add(ref)

    def recover(self, certificate: x509.Certificate) -> PrivateKey:
        """The archived private key of an encryption (or dual-use) certificate."""
        ref = certificate_ref(certificate)
        if ref in self._keys:
            return self._keys[ref]
        if ref in self._signing_only:
            raise KeyRecoveryError(
                serial_number=certificate.serial_number,
                reason="it is a signing certificate, and signing keys are never archived",
            )
        raise KeyRecoveryError(
            serial_number=certificate.serial_number,
            reason=f"{self._owner} did not issue it",
        )
