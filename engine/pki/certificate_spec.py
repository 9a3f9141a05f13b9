"""What an end-entity certificate should hold: a :class:`CertificateSpec`, checked when made.

The defaults describe a well-formed S/MIME certificate (RFC 8550 §3, §4.4: v3, the
mailbox as an rfc822Name, keyUsage per purpose and key type, emailProtection);
each field that deviates does so on purpose, for negative scenarios. Building the
certificate from a spec is :mod:`engine.pki.issuance`'s work.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from cryptography import x509

from engine.clock import aware
from engine.errors import CertificateError, InputError
from engine.pki.key_usage import CertificatePurpose, KeyUsageBit
from engine.pki.keys import KeyType, PrivateKey
from engine.pki.smbr import CertificateProfile

DEFAULT_VALIDITY = dt.timedelta(days=365)
# X.520 ub-common-name (RFC 5280 Appendix A): a commonName holds at most 64 characters.
UB_COMMON_NAME = 64


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CertificateSpec:
    """What to put in an end-entity certificate; the defaults make a well-formed one.

    Deviations are deliberate, for negative scenarios:

    - ``version=1``: no extensions at all (Exchange KMS before SP1); the mailbox
      then goes into the subject emailAddress unless ``subject_email`` says otherwise.
    - ``san_emails``: ``None`` puts ``email`` in the SAN; ``()`` leaves the SAN out;
      other addresses make a certificate that does not match its mailbox.
    - ``subject_email``: an emailAddress attribute in the subject (RFC 8550 §3).
    - ``key_usage``: ``None`` derives it from purpose and key type; ``frozenset()``
      leaves the extension out.
    - ``extended_key_usage``: ``None`` means emailProtection; ``()`` leaves it out.
    - ``not_before`` / ``not_after``: an explicit window instead of now-skew .. +validity.
    - ``key``: use this private key instead of a new one from the key source.
    - ``profile``: make the certificate meet an SMBR certificate profile: it asserts
      the profile's reserved policy OID (SMBR 7.1.6.4), carries authorityInformationAccess
      (SMBR 7.1.2.3 (c)), and its subject holds the mailbox as commonName and no
      organizationName (mailbox-validated, SMBR 7.1.4.2.2) unless ``organization`` is
      given on purpose.
    """

    email: str
    purpose: CertificatePurpose = CertificatePurpose.DUAL_USE
    key_type: KeyType = KeyType.RSA_2048
    version: int = 3
    common_name: str | None = None
    organization: str | None = None
    san_emails: tuple[str, ...] | None = None
    subject_email: str | None = None
    key_usage: frozenset[KeyUsageBit] | None = None
    extended_key_usage: tuple[x509.ObjectIdentifier, ...] | None = None
    validity: dt.timedelta = DEFAULT_VALIDITY
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    crl_distribution_point: bool = True
    key: PrivateKey | None = None
    profile: CertificateProfile | None = None

    def __post_init__(self) -> None:
        check_email(self.email, "email")
        for extra in self.san_emails or ():
            check_email(extra, "san_emails")
        if self.subject_email is not None:
            check_email(self.subject_email, "subject_email")
        if self.common_name is not None and not 1 <= len(self.common_name) <= UB_COMMON_NAME:
            raise CertificateError(
                f"common_name={self.common_name!r}, but only 1 to {UB_COMMON_NAME} characters "
                "are valid (RFC 5280 ub-common-name)"
            )
        if self.version not in (1, 3):
            raise CertificateError(f"version={self.version}, but only 1 or 3 are valid")
        if self.version == 1 and (self.san_emails or self.key_usage or self.extended_key_usage):
            raise CertificateError(
                "a version 1 certificate has no extensions, "
                "so san_emails, key_usage and extended_key_usage must stay unset"
            )
        if self.version == 1 and self.profile is not None:
            raise CertificateError(
                f"profile={self.profile.value}, but a version 1 certificate has no extensions "
                "to meet it with"
            )
        if self.validity <= dt.timedelta(0):
            raise CertificateError(f"validity={self.validity}, but it must be positive")
        if self.not_before is not None:
            aware(self.not_before, what="not_before")
        if self.not_after is not None:
            aware(self.not_after, what="not_after")
        if (
            self.not_before is not None
            and self.not_after is not None
            and self.not_after <= self.not_before
        ):
            raise CertificateError(
                f"not_after={self.not_after.isoformat()} must be after "
                f"not_before={self.not_before.isoformat()}"
            )
        if self.key is not None and KeyType.of(self.key) is not self.key_type:
            raise CertificateError(
                f"key_type={self.key_type.value}, but the given key is {KeyType.of(self.key).value}"
            )

    @property
    def archived(self) -> bool:
        """Encryption keys (dual-use included) are archived for recovery; signing keys never."""
        return self.purpose is not CertificatePurpose.SIGNING


def check_email(email: str, field: str) -> None:
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in email):
        raise InputError("a mailbox address such as alice@example.org", repr(email), source=field)
