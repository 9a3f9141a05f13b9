"""An organization's certificate authority: Exchange KMS in a few calls.

``OrgCA.create()`` makes a root (and optionally an issuing intermediate),
``issue_token()`` hands a mailbox its one-time enrollment token (the KMS
"temporary key"), ``enroll()`` exchanges it for a dual-use certificate or for
separate signing and encryption certificates. Encryption keys are archived
and can be recovered; certificates can be renewed and revoked, and the CA
publishes signed CRLs. ``issue()`` makes deliberately odd certificates
(version 1, wrong key usage, outside their validity...) for negative tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import re
import secrets
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from engine.clock import Clock, aware
from engine.cms.algorithms import DigestAlgorithm, SignatureScheme, signature_oid
from engine.cms.certificate import assemble_certificate, v1_tbs_certificate
from engine.errors import CertificateError, EnrollmentError, InputError, KeyRecoveryError
from engine.pki.credential import Credential
from engine.pki.keys import FreshKeys, KeySource, KeyType, PrivateKey
from engine.pki.purpose import CertificatePurpose as CertificatePurpose
from engine.pki.revocation import RevocationReason, RevokedInfo, build_crl, signature_hash
from engine.pki.smbr import CertificateProfile

# Certificates start a little in the past so a peer whose clock runs slow accepts them.
CLOCK_SKEW = dt.timedelta(minutes=5)
DEFAULT_VALIDITY = dt.timedelta(days=365)
ROOT_VALIDITY = dt.timedelta(days=3650)
INTERMEDIATE_VALIDITY = dt.timedelta(days=1825)
DEFAULT_CRL_VALIDITY = dt.timedelta(days=7)


class KeyUsageBit(enum.Enum):
    """The keyUsage bits an S/MIME certificate may carry (RFC 5280 §4.2.1.3)."""

    DIGITAL_SIGNATURE = "digital-signature"
    NON_REPUDIATION = "non-repudiation"
    KEY_ENCIPHERMENT = "key-encipherment"
    DATA_ENCIPHERMENT = "data-encipherment"
    KEY_AGREEMENT = "key-agreement"


def default_key_usage(purpose: CertificatePurpose, key_type: KeyType) -> frozenset[KeyUsageBit]:
    """keyUsage per RFC 8550 §4.4.2: signing keys sign, RSA keys encipher, EC keys agree."""
    signing = {KeyUsageBit.DIGITAL_SIGNATURE}
    encryption = {
        KeyUsageBit.KEY_ENCIPHERMENT if key_type.is_rsa else KeyUsageBit.KEY_AGREEMENT,
    }
    if purpose is CertificatePurpose.SIGNING:
        return frozenset(signing | {KeyUsageBit.NON_REPUDIATION})
    if purpose is CertificatePurpose.ENCRYPTION:
        return frozenset(encryption)
    return frozenset(signing | encryption)


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
        _check_email(self.email, "email")
        for extra in self.san_emails or ():
            _check_email(extra, "san_emails")
        if self.subject_email is not None:
            _check_email(self.subject_email, "subject_email")
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
class _Arrangement:
    # How a mailbox enrolled, so renew() can repeat it.
    key_type: KeyType
    separate_encryption_key: bool
    validity: dt.timedelta


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Token:
    secret: str
    used: bool = False


class OrgCA:
    """An organization's certificate authority (root, optionally an issuing intermediate)."""

    def __init__(
        self,
        *,
        name: str,
        domain: str,
        clock: Clock,
        keys: KeySource,
        root: Credential,
        issuer: Credential,
        crl_validity: dt.timedelta = DEFAULT_CRL_VALIDITY,
        profile: CertificateProfile | None = None,
        memo: CertificateMemo | None = None,
    ) -> None:
        self.name = name
        self.domain = domain
        self.clock = clock
        self.keys = keys
        self._root = root
        self.issuer = issuer
        self.crl_validity = crl_validity
        # The SMBR profile enrollments and renewals follow (the organization's policy
        # says which; the CA itself never reads policies). None: no profile claimed.
        self.profile = profile
        self._tokens: dict[str, _Token] = {}
        self._arrangements: dict[str, _Arrangement] = {}
        self._enrollments: dict[str, list[Enrollment]] = {}
        self._issued: dict[tuple[bytes, int], x509.Certificate] = {}
        self._archive: dict[tuple[bytes, int], PrivateKey] = {}
        self._signing_only: set[tuple[bytes, int]] = set()
        self._revoked: dict[tuple[bytes, int], RevokedInfo] = {}
        self._crl_numbers: dict[bytes, int] = {}
        # Built certificates and CRLs shared with other CAs of the memo's owner; None: none.
        self._memo = memo

    # -- creation -----------------------------------------------------------

    @classmethod
    def create(
        cls,
        name: str,
        domain: str,
        *,
        clock: Clock,
        keys: KeySource = FreshKeys(),  # noqa: B008 - stateless, shared on purpose
        key_type: KeyType = KeyType.RSA_2048,
        intermediate: bool = False,
        crl_validity: dt.timedelta = DEFAULT_CRL_VALIDITY,
        profile: CertificateProfile | None = None,
        memo: CertificateMemo | None = None,
    ) -> OrgCA:
        """A new organization CA named ``name`` for mail domain ``domain``.

        ``memo`` (owned by the caller, e.g. one scenario run) shares built certificates
        and CRLs between CAs made from the same inputs; the CA behaves the same with or
        without it, whatever its ``keys``.
        """
        if not name.strip():
            raise InputError("a CA name", "an empty one")
        if not _DOMAIN.fullmatch(domain):
            raise InputError("a mail domain such as example.org", repr(domain))
        if crl_validity <= dt.timedelta(0):
            raise InputError("a positive CRL validity", str(crl_validity))
        now = aware(clock.now(), what="clock time")
        root_key = keys.new_key(key_type)
        sub_key = keys.new_key(key_type) if intermediate else None
        # The same name, domain, time and keys make the same certificates: a memo builds
        # them once for its owner (each CA keeps its own state).
        build = _build_authority if memo is None else memo.authority
        root, issuer = build(name, domain, now, root_key, sub_key)
        ca = cls(
            name=name,
            domain=domain,
            clock=clock,
            keys=keys,
            root=root,
            issuer=issuer,
            crl_validity=crl_validity,
            profile=profile,
            memo=memo,
        )
        if intermediate:
            ca._remember(issuer.certificate, root.certificate)
        return ca

    # -- what relying parties need ------------------------------------------

    @property
    def root(self) -> x509.Certificate:
        """The trust anchor."""
        return self._root.certificate

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """What a leaf carries with it: (intermediate, root) or (root,)."""
        return (self.issuer.certificate, *self.issuer.chain)

    @property
    def intermediate(self) -> x509.Certificate | None:
        return None if self.issuer is self._root else self.issuer.certificate

    @property
    def crl_url(self) -> str:
        """Where the CRL for end-entity certificates is published (their CRL distribution point)."""
        return _crl_url(self.domain, _slug(self.name))

    @property
    def ca_issuers_url(self) -> str:
        """Where the issuing CA's certificate is published (the caIssuers access location)."""
        return f"http://pki.{self.domain}/{_slug(self.name)}.cer"

    @property
    def root_crl_url(self) -> str:
        """Where the root CRL (covering the intermediate) is published; else ``crl_url``."""
        if self.intermediate is None:
            return self.crl_url
        return _crl_url(self.domain, f"{_slug(self.name)}-root")

    # -- enrollment -----------------------------------------------------------

    def issue_token(self, email: str) -> EnrollmentToken:
        """A fresh one-time token for ``email``; any earlier unused token is void."""
        _check_email(email, "email")
        secret = secrets.token_urlsafe(16)
        self._tokens[_mailbox(email)] = _Token(secret=secret)
        return EnrollmentToken(email=email, secret=secret)

    def enroll(
        self,
        email: str,
        token: str,
        *,
        key_type: KeyType = KeyType.RSA_2048,
        separate_encryption_key: bool = False,
        validity: dt.timedelta = DEFAULT_VALIDITY,
    ) -> Enrollment:
        """Exchange a one-time token for certificates (Exchange KMS enrollment).

        A dual-use certificate by default; with ``separate_encryption_key`` a
        signing and an encryption certificate with separate key pairs. The
        encryption key is archived.
        """
        _check_email(email, "email")
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
        if validity <= dt.timedelta(0):  # refuse before the token is spent
            raise CertificateError(f"validity={validity}, but it must be positive")
        self._tokens[mailbox] = dataclasses.replace(held, used=True)
        arrangement = _Arrangement(
            key_type=key_type,
            separate_encryption_key=separate_encryption_key,
            validity=validity,
        )
        return self._enroll(email, arrangement)

    def renew(self, email: str) -> Enrollment:
        """New certificates with new keys for an enrolled mailbox, arranged as before.

        The earlier certificates stay valid unless revoked.
        """
        arrangement = self._arrangements.get(_mailbox(email))
        if arrangement is None:
            raise EnrollmentError(f"{email} never enrolled, so there is nothing to renew")
        return self._enroll(email, arrangement)

    def enrollments(self, email: str) -> tuple[Enrollment, ...]:
        """Every enrollment of ``email``, oldest first."""
        return tuple(self._enrollments.get(_mailbox(email), ()))

    def _enroll(self, email: str, arrangement: _Arrangement) -> Enrollment:
        def spec(purpose: CertificatePurpose) -> CertificateSpec:
            return CertificateSpec(
                email=email,
                purpose=purpose,
                key_type=arrangement.key_type,
                validity=arrangement.validity,
                profile=self.profile,
            )

        if arrangement.separate_encryption_key:
            signing = self.issue(spec(CertificatePurpose.SIGNING))
            encryption = self.issue(spec(CertificatePurpose.ENCRYPTION))
        else:
            signing = encryption = self.issue(spec(CertificatePurpose.DUAL_USE))
        enrollment = Enrollment(email=email, signing=signing, encryption=encryption)
        mailbox = _mailbox(email)
        self._arrangements[mailbox] = arrangement
        self._enrollments.setdefault(mailbox, []).append(enrollment)
        return enrollment

    # -- issuing ----------------------------------------------------------------

    def issue(self, spec: CertificateSpec) -> Credential:
        """Issue an end-entity certificate exactly as ``spec`` says."""
        now = aware(self.clock.now(), what="clock time")
        key = spec.key if spec.key is not None else self.keys.new_key(spec.key_type)
        not_before = spec.not_before if spec.not_before is not None else now - CLOCK_SKEW
        not_after = spec.not_after if spec.not_after is not None else now + spec.validity
        if not_after <= not_before:
            raise CertificateError(
                f"not_after={not_after.isoformat()} must be after "
                f"not_before={not_before.isoformat()}"
            )
        subject = self._subject(spec)
        # A key source never hands out a key twice (KeySource contract), so within one CA
        # each memo key is new; a caller's own key (spec.key) may repeat, so it is never
        # memoized: issuing twice with it must still give two certificates.
        memo = self._memo if spec.key is None else None
        build = _build_credential if memo is None else memo.credential
        urls = _IssuerUrls(crl=self.crl_url, ca_issuers=self.ca_issuers_url)
        credential = build(self.issuer, urls, spec, subject, key, not_before, not_after)
        certificate = credential.certificate
        ref = self._remember(certificate, self.issuer.certificate)
        if spec.archived:
            self._archive[ref] = key
        else:
            self._signing_only.add(ref)
        return credential

    def _subject(self, spec: CertificateSpec) -> x509.Name:
        if spec.profile is not None:
            return _mailbox_validated_subject(spec)
        attributes = [
            x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name or _common_name(spec.email)),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organization or self.name),
        ]
        subject_email = spec.subject_email
        if subject_email is None and spec.version == 1 and spec.san_emails is None:
            subject_email = spec.email  # v1 has no SAN: the subject is the only place left
        if subject_email is not None:
            attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject_email))
        return x509.Name(attributes)

    # -- records -------------------------------------------------------------------

    def _remember(
        self, certificate: x509.Certificate, issuer: x509.Certificate
    ) -> tuple[bytes, int]:
        ref = _ref(certificate)
        self._issued[ref] = issuer
        return ref

    def issued(self, certificate: x509.Certificate) -> bool:
        """True when this authority issued ``certificate`` (an end entity or the intermediate)."""
        return _ref(certificate) in self._issued

    # -- key recovery ----------------------------------------------------------------

    def recover_key(self, certificate: x509.Certificate) -> PrivateKey:
        """The archived private key of an encryption (or dual-use) certificate (KMS recovery)."""
        ref = _ref(certificate)
        if ref in self._archive:
            return self._archive[ref]
        if ref in self._signing_only:
            raise KeyRecoveryError(
                serial_number=certificate.serial_number,
                reason="it is a signing certificate, and signing keys are never archived",
            )
        raise KeyRecoveryError(
            serial_number=certificate.serial_number,
            reason=f"{self.name} did not issue it",
        )

    # -- revocation -------------------------------------------------------------------

    def revoke(
        self,
        certificate: x509.Certificate,
        reason: RevocationReason,
        at: dt.datetime | None = None,
    ) -> None:
        """Revoke a certificate this CA issued, from ``at`` (default: now) on (RFC 5280 §5.3)."""
        when = aware(self.clock.now() if at is None else at, what="revocation time")
        ref = _ref(certificate)
        if ref not in self._issued:
            raise CertificateError(
                f"serial {certificate.serial_number:x} "
                f"({certificate.subject.rfc4514_string()}) was not issued by {self.name}"
            )
        if ref in self._revoked:
            raise CertificateError(
                f"serial {certificate.serial_number:x} is already revoked "
                f"({self._revoked[ref].reason.value})"
            )
        self._revoked[ref] = RevokedInfo(
            issuer=certificate.issuer,
            serial_number=certificate.serial_number,
            revocation_date=when.replace(microsecond=0),
            reason=reason,
        )

    def revoked(self) -> tuple[RevokedInfo, ...]:
        """Every revocation recorded so far (also those a CRL does not list yet)."""
        return tuple(self._revoked.values())

    def crl(self, *, next_update: dt.timedelta | None = None) -> x509.CertificateRevocationList:
        """A signed CRL for the certificates the issuing CA issued (RFC 5280 §5).

        thisUpdate is now, nextUpdate ``next_update`` later (default
        ``crl_validity``); the CRL number grows with each call. It lists
        revocations dated up to now.
        """
        return self._crl_for(self.issuer, next_update)

    def root_crl(
        self, *, next_update: dt.timedelta | None = None
    ) -> x509.CertificateRevocationList:
        """The root's CRL, covering the intermediate (the same as ``crl()`` without one)."""
        return self._crl_for(self._root, next_update)

    def crls(
        self, *, next_update: dt.timedelta | None = None
    ) -> tuple[x509.CertificateRevocationList, ...]:
        """Every CRL a relying party needs to check a whole chain of this CA."""
        if self.intermediate is None:
            return (self.crl(next_update=next_update),)
        return (self.crl(next_update=next_update), self.root_crl(next_update=next_update))

    def _crl_for(
        self, ca: Credential, next_update: dt.timedelta | None
    ) -> x509.CertificateRevocationList:
        lifetime = self.crl_validity if next_update is None else next_update
        if lifetime <= dt.timedelta(0):
            raise InputError("a positive CRL lifetime", str(lifetime))
        now = aware(self.clock.now(), what="clock time").replace(microsecond=0)
        key = ca.certificate.subject.public_bytes()
        number = self._crl_numbers.get(key, 0) + 1
        self._crl_numbers[key] = number
        listed = tuple(
            info
            for info in self._revoked.values()
            if info.issuer == ca.certificate.subject and info.revocation_date <= now
        )
        build = _build_crl if self._memo is None else self._memo.crl
        return build(ca, listed, now, now + lifetime, number)

    def __repr__(self) -> str:
        return f"OrgCA(name={self.name!r}, domain={self.domain!r})"


# -- helpers ----------------------------------------------------------------------------

# LDH labels; the top-level label is letters or an IDN A-label such as xn--p1ai (.рф),
# RFC 5890 §2.3.2.1 (the earlier letters-only rule refused internationalized TLDs).
_DOMAIN = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{1,58}[A-Za-z0-9])"
)


# X.520 ub-common-name (RFC 5280 Appendix A): a commonName holds at most 64 characters.
UB_COMMON_NAME = 64


def _common_name(text: str) -> str:
    """``text`` as a commonName. A longer mailbox (up to 254 characters, RFC 5321
    §4.5.3.1) or CA name is shortened; the full address stays in the SAN."""
    return text if len(text) <= UB_COMMON_NAME else text[: UB_COMMON_NAME - 3] + "..."


def _check_email(email: str, field: str) -> None:
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in email):
        raise InputError("a mailbox address such as alice@example.org", repr(email), source=field)


def _mailbox(email: str) -> str:
    # The domain part is case-insensitive (RFC 5321 §2.4); treat the local part alike here.
    return email.strip().lower()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "ca"


def _crl_url(domain: str, stem: str) -> str:
    return f"http://pki.{domain}/{stem}.crl"


def _mailbox_validated_subject(spec: CertificateSpec) -> x509.Name:
    # SMBR 7.1.4.2.2: a mailbox-validated subject may hold commonName (the mailbox
    # address, (a)) and emailAddress; organizationName is not allowed. A mailbox too
    # long for a commonName (ub-common-name 64) goes into emailAddress instead.
    email = spec.email
    attributes: list[x509.NameAttribute[str]] = []
    if spec.common_name is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name))
    elif len(email) <= UB_COMMON_NAME:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, email))
    if spec.organization is not None:  # a deliberate deviation, for negative tests
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organization))
    subject_email = spec.subject_email
    if subject_email is None and not attributes:
        subject_email = email
    if subject_email is not None:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject_email))
    return x509.Name(attributes)


@dataclasses.dataclass(frozen=True, slots=True)
class _IssuerUrls:
    # Where relying parties fetch the issuer's CRL and certificate (RFC 5280 §4.2.1.13, §4.2.2.1).
    crl: str
    ca_issuers: str


def _ref(certificate: x509.Certificate) -> tuple[bytes, int]:
    return (certificate.issuer.public_bytes(), certificate.serial_number)


def _ski(certificate: x509.Certificate) -> x509.SubjectKeyIdentifier:
    return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value


def _ca_name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, _common_name(common_name)),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )


def _crl_distribution(url: str) -> x509.CRLDistributionPoints:
    # RFC 5280 §4.2.1.13: a full name URI where the CRL is published.
    point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)],
        relative_name=None,
        reasons=None,
        crl_issuer=None,
    )
    return x509.CRLDistributionPoints([point])


def _key_usage(bits: Iterable[KeyUsageBit]) -> x509.KeyUsage:
    chosen = set(bits)
    return x509.KeyUsage(
        digital_signature=KeyUsageBit.DIGITAL_SIGNATURE in chosen,
        content_commitment=KeyUsageBit.NON_REPUDIATION in chosen,
        key_encipherment=KeyUsageBit.KEY_ENCIPHERMENT in chosen,
        data_encipherment=KeyUsageBit.DATA_ENCIPHERMENT in chosen,
        key_agreement=KeyUsageBit.KEY_AGREEMENT in chosen,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _build_credential(
    issuer: Credential,
    urls: _IssuerUrls,
    spec: CertificateSpec,
    subject: x509.Name,
    key: PrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> Credential:
    if spec.version == 1:
        certificate = _build_v1(issuer, subject, key, not_before, not_after)
    else:
        certificate = _build_v3(issuer, urls, spec, subject, key, not_before, not_after)
    chain = (issuer.certificate, *issuer.chain)
    return Credential(certificate=certificate, private_key=key, chain=chain)


def _build_v3(
    issuer: Credential,
    urls: _IssuerUrls,
    spec: CertificateSpec,
    subject: x509.Name,
    key: PrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        # RFC 5280 §4.2.1.9: an end entity is no CA.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                _ski(issuer.certificate)
            ),
            critical=False,
        )
    )
    san = (spec.email,) if spec.san_emails is None else spec.san_emails
    if san:
        # RFC 8550 §3: the mailbox travels as an rfc822Name.
        names: list[x509.GeneralName] = [x509.RFC822Name(a) for a in san]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    usage = (
        default_key_usage(spec.purpose, spec.key_type) if spec.key_usage is None else spec.key_usage
    )
    if usage:
        builder = builder.add_extension(_key_usage(usage), critical=True)
    eku = (
        (ExtendedKeyUsageOID.EMAIL_PROTECTION,)
        if spec.extended_key_usage is None
        else spec.extended_key_usage
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if spec.crl_distribution_point:
        builder = builder.add_extension(_crl_distribution(urls.crl), critical=False)
    if spec.profile is not None:
        # SMBR 7.1.2.3 (a), 7.1.6.4: the reserved CA/B Forum policy OID of the profile.
        policy = x509.PolicyInformation(x509.ObjectIdentifier(spec.profile.policy_oid), None)
        builder = builder.add_extension(x509.CertificatePolicies([policy]), critical=False)
        # SMBR 7.1.2.3 (c): where the issuing CA's certificate is published (HTTP).
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier(urls.ca_issuers),
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder.sign(issuer.private_key, signature_hash(issuer.private_key))


def _build_v1(
    issuer: Credential,
    subject: x509.Name,
    key: PrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    issuer_key = issuer.private_key
    algorithm = _signature_algorithm_oid(issuer_key)
    tbs = v1_tbs_certificate(
        serial_number=x509.random_serial_number(),
        signature_algorithm_oid=algorithm,
        issuer_der=issuer.certificate.subject.public_bytes(),
        subject_der=subject.public_bytes(),
        not_before=not_before,
        not_after=not_after,
        public_key_der=key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    digest = signature_hash(issuer_key)
    if isinstance(issuer_key, rsa.RSAPrivateKey):
        signature = issuer_key.sign(tbs, padding.PKCS1v15(), digest)
    else:
        signature = issuer_key.sign(tbs, ec.ECDSA(digest))
    return x509.load_der_x509_certificate(assemble_certificate(tbs, algorithm, signature))


def _build_authority(
    name: str,
    domain: str,
    now: dt.datetime,
    root_key: PrivateKey,
    sub_key: PrivateKey | None,
) -> tuple[Credential, Credential]:
    """The root credential and the issuing one (the root itself, or an intermediate)."""
    root_name = _ca_name(f"{name} Root CA", name)
    root_cert = _build_ca_certificate(
        subject=root_name,
        public_key=root_key.public_key(),
        issuer_name=root_name,
        issuer_key=root_key,
        issuer_ski=None,
        path_length=0 if sub_key is None else 1,
        not_before=now - CLOCK_SKEW,
        not_after=now + ROOT_VALIDITY,
        crl_url=None,
    )
    root = Credential(certificate=root_cert, private_key=root_key)
    if sub_key is None:
        return root, root
    sub_cert = _build_ca_certificate(
        subject=_ca_name(f"{name} Issuing CA", name),
        public_key=sub_key.public_key(),
        issuer_name=root_name,
        issuer_key=root_key,
        issuer_ski=_ski(root_cert),
        path_length=0,
        not_before=now - CLOCK_SKEW,
        not_after=now + INTERMEDIATE_VALIDITY,
        crl_url=_crl_url(domain, f"{_slug(name)}-root"),
    )
    return root, Credential(certificate=sub_cert, private_key=sub_key, chain=(root_cert,))


def _build_crl(
    ca: Credential,
    listed: tuple[RevokedInfo, ...],
    this_update: dt.datetime,
    next_update: dt.datetime,
    number: int,
) -> x509.CertificateRevocationList:
    return build_crl(ca, listed, this_update=this_update, next_update=next_update, number=number)


class CertificateMemo:
    """Certificates and CRLs built once for the object that owns a batch of CAs.

    Pass one to :meth:`OrgCA.create`; its owner (a scenario run, a test session) decides
    how long it lives. Builds are pure functions of their arguments (names, times, keys,
    issuer, revocation list), so equal inputs give the same bytes again; each table is
    bounded, least recently used first out. It holds private keys (those of the
    credentials it built), so it is never module-level and never written anywhere.
    """

    def __init__(self, *, authorities: int = 256, credentials: int = 4096, crls: int = 1024):
        for what, size in (
            ("authorities", authorities),
            ("credentials", credentials),
            ("crls", crls),
        ):
            if size < 1:
                raise InputError(f"a memo size of at least 1 for {what}", str(size))
        self.authority = functools.lru_cache(maxsize=authorities)(_build_authority)
        self.credential = functools.lru_cache(maxsize=credentials)(_build_credential)
        self.crl = functools.lru_cache(maxsize=crls)(_build_crl)

    def clear(self) -> None:
        """Forget everything built so far."""
        self.authority.cache_clear()
        self.credential.cache_clear()
        self.crl.cache_clear()


def _build_ca_certificate(
    *,
    subject: x509.Name,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    issuer_name: x509.Name,
    issuer_key: PrivateKey,
    issuer_ski: x509.SubjectKeyIdentifier | None,
    path_length: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    crl_url: str | None,
) -> x509.Certificate:
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        # RFC 5280 §4.2.1.9 / §4.2.1.3: a CA that signs certificates and CRLs.
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski or ski),
            critical=False,
        )
    )
    if crl_url is not None:
        builder = builder.add_extension(_crl_distribution(crl_url), critical=False)
    return builder.sign(issuer_key, signature_hash(issuer_key))


def _signature_algorithm_oid(key: PrivateKey) -> str:
    digest = (
        DigestAlgorithm.SHA384 if signature_hash(key).name == "sha384" else DigestAlgorithm.SHA256
    )
    if isinstance(key, rsa.RSAPrivateKey):
        return signature_oid(SignatureScheme.RSA_PKCS1V15, digest)
    return signature_oid(SignatureScheme.ECDSA, digest)
