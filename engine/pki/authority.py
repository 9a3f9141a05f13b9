"""An organization's certificate authority: Exchange KMS in a few calls.

``OrgCA.create()`` makes a root (and optionally an issuing intermediate),
``issue_token()`` hands a mailbox its one-time enrollment token (the KMS
"temporary key"), ``enroll()`` exchanges it for a dual-use certificate or for
separate signing and encryption certificates. Encryption keys are archived
and can be recovered; certificates can be renewed and revoked, and the CA
publishes signed CRLs. ``issue()`` makes deliberately odd certificates
(version 1, wrong key usage, outside their validity...) for negative tests.

This module holds the CA and the state it owns; what a certificate should hold
is :mod:`engine.pki.certificate_spec`, how certificates and CRLs are built
:mod:`engine.pki.issuance`, tokens and the key archive :mod:`engine.pki.enrollment`,
revocation records and CRLs :mod:`engine.pki.revocation`.
"""

from __future__ import annotations

import datetime as dt
import re

from cryptography import x509

from engine.clock import Clock, aware
from engine.errors import CertificateError, InputError
from engine.pki.certificate_spec import DEFAULT_VALIDITY
from engine.pki.certificate_spec import CertificateSpec as CertificateSpec
from engine.pki.credential import Credential, certificate_ref
from engine.pki.enrollment import Arrangement, EnrollmentDesk, KeyArchive
from engine.pki.enrollment import Enrollment as Enrollment
from engine.pki.enrollment import EnrollmentToken as EnrollmentToken
from engine.pki.issuance import (
    CLOCK_SKEW,
    CertificateMemo,
    IssuerUrls,
    build_authority,
    build_ca_crl,
    build_credential,
    crl_url,
    end_entity_subject,
    slug,
)
from engine.pki.key_usage import CertificatePurpose as CertificatePurpose
from engine.pki.keys import FreshKeys, KeySource, KeyType, PrivateKey
from engine.pki.revocation import RevocationReason, RevocationRecords, RevokedInfo
from engine.pki.smbr import CertificateProfile

DEFAULT_CRL_VALIDITY = dt.timedelta(days=7)


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
        memo: CertificateMemo | None = None,
    ) -> None:
        self.name = name
        self.domain = domain
        self.clock = clock
        self.keys = keys
        self._root = root
        self.issuer = issuer
        self.crl_validity = DEFAULT_CRL_VALIDITY
        # The SMBR profile enrollments and renewals follow (the organization's policy
        # says which; the CA itself never reads policies). None: no profile claimed.
        self.profile: CertificateProfile | None = None
        self._enrollment = EnrollmentDesk()
        self._issued: dict[tuple[bytes, int], x509.Certificate] = {}
        self._archive = KeyArchive(name)
        self._revocations = RevocationRecords()
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
        build = build_authority if memo is None else memo.authority
        root, issuer = build(name, domain, now, root_key, sub_key)
        ca = cls(
            name=name, domain=domain, clock=clock, keys=keys, root=root, issuer=issuer, memo=memo
        )
        ca.crl_validity = crl_validity
        ca.profile = profile
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
        return crl_url(self.domain, slug(self.name))

    @property
    def ca_issuers_url(self) -> str:
        """Where the issuing CA's certificate is published (the caIssuers access location)."""
        return f"http://pki.{self.domain}/{slug(self.name)}.cer"

    @property
    def root_crl_url(self) -> str:
        """Where the root CRL (covering the intermediate) is published; else ``crl_url``."""
        if self.intermediate is None:
            return self.crl_url
        return crl_url(self.domain, f"{slug(self.name)}-root")

    # -- enrollment -----------------------------------------------------------

    def issue_token(self, email: str) -> EnrollmentToken:
        """A fresh one-time token for ``email``; any earlier unused token is void."""
        return self._enrollment.issue_token(email)

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
        arrangement = Arrangement(
            key_type=key_type,
            separate_encryption_key=separate_encryption_key,
            validity=validity,
        )
        self._enrollment.redeem(email, token, arrangement)
        return self._enroll(email, arrangement)

    def renew(self, email: str) -> Enrollment:
        """New certificates with new keys for an enrolled mailbox, arranged as before.

        The earlier certificates stay valid unless revoked.
        """
        return self._enroll(email, self._enrollment.arrangement(email))

    def enrollments(self, email: str) -> tuple[Enrollment, ...]:
        """Every enrollment of ``email``, oldest first."""
        return self._enrollment.enrollments(email)

    def _enroll(self, email: str, arrangement: Arrangement) -> Enrollment:
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
        self._enrollment.record(enrollment, arrangement)
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
        subject = end_entity_subject(spec, self.name)
        # A key source never hands out a key twice (KeySource contract), so within one CA
        # each memo key is new; a caller's own key (spec.key) may repeat, so it is never
        # memoized: issuing twice with it must still give two certificates.
        memo = self._memo if spec.key is None else None
        build = build_credential if memo is None else memo.credential
        urls = IssuerUrls(crl=self.crl_url, ca_issuers=self.ca_issuers_url)
        credential = build(self.issuer, urls, spec, subject, key, not_before, not_after)
        self._remember(credential.certificate, self.issuer.certificate)
        self._archive.keep(credential.certificate, key, archived=spec.archived)
        return credential

    def _remember(self, certificate: x509.Certificate, issuer: x509.Certificate) -> None:
        self._issued[certificate_ref(certificate)] = issuer

    def issued(self, certificate: x509.Certificate) -> bool:
        """True when this authority issued ``certificate`` (an end entity or the intermediate)."""
        return certificate_ref(certificate) in self._issued

    def recover_key(self, certificate: x509.Certificate) -> PrivateKey:
        """The archived private key of an encryption (or dual-use) certificate (KMS recovery)."""
        return self._archive.recover(certificate)

    # -- revocation -------------------------------------------------------------------

    def revoke(
        self,
        certificate: x509.Certificate,
        reason: RevocationReason,
        at: dt.datetime | None = None,
    ) -> None:
        """Revoke a certificate this CA issued, from ``at`` (default: now) on (RFC 5280 §5.3)."""
        when = aware(self.clock.now() if at is None else at, what="revocation time")
        if not self.issued(certificate):
            raise CertificateError(
                f"serial {certificate.serial_number:x} "
                f"({certificate.subject.rfc4514_string()}) was not issued by {self.name}"
            )
        self._revocations.revoke(certificate, reason, when)

    def revoked(self) -> tuple[RevokedInfo, ...]:
        """Every revocation recorded so far (also those a CRL does not list yet)."""
        return self._revocations.all()

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
        number, listed = self._revocations.next_crl(ca.certificate.subject, now)
        build = build_ca_crl if self._memo is None else self._memo.crl
        return build(ca, listed, now, now + lifetime, number)

    def __repr__(self) -> str:
        return f"OrgCA(name={self.name!r}, domain={self.domain!r})"


# LDH labels; the top-level label is letters or an IDN A-label such as xn--p1ai (.рф),
# RFC 5890 §2.3.2.1 (the earlier letters-only rule refused internationalized TLDs).
_DOMAIN = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{1,58}[A-Za-z0-9])"
)
