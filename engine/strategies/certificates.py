"""Certificate specifications: every deliberate variation :class:`~engine.pki.authority.OrgCA`
can issue, plus how the certificate is treated afterwards (revoked, issuer trusted).

Validity windows are placed around a given instant ``at`` with the boundary
cases first: expiring exactly at ``at`` (still valid, RFC 5280 §4.1.2.5 counts
notAfter in), one second past, valid from exactly ``at`` and one second before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import strategies as st

from engine.pki.certificate_spec import CertificateSpec
from engine.pki.key_usage import CertificatePurpose, KeyUsageBit
from engine.pki.keys import KeyType
from engine.strategies.checks import (
    StrategyArgumentError,
    check_choices,
    check_instant,
    check_size,
)
from engine.strategies.keys import DEFAULT_POOL_SIZE, MAX_POOL_SIZE, IndexedKeys, check_keys

__all__ = [
    "AddressVariant",
    "IssuanceSpec",
    "ValidityWindow",
    "certificate_specs",
]

SECOND = dt.timedelta(seconds=1)


class AddressVariant(enum.Enum):
    """Where the certificate names an address, and whether it is the holder's."""

    MATCH = "match"  # the address in the SAN (the default)
    SUBJECT_ONLY = "subject-only"  # no SAN; the subject emailAddress (RFC 8550 §3)
    DOMAIN_CASE = "domain-case"  # the address with its domain in upper case
    LOCAL_CASE = "local-case"  # the address with its local part in upper case
    OTHER = "other"  # someone else's address
    NONE = "none"  # no address at all


class ValidityWindow(enum.Enum):
    """The certificate's validity relative to the instant ``at``."""

    CURRENT = "current"  # issued at ``at`` for a year
    EXPIRES_AT = "expires-at"  # notAfter == at: still valid at ``at``
    EXPIRED = "expired"  # notAfter == at - 1 s
    STARTS_AT = "starts-at"  # notBefore == at: valid
    NOT_YET_VALID = "not-yet-valid"  # notBefore == at + 1 s
    LONG_EXPIRED = "long-expired"  # a year and more in the past
    FUTURE = "future"  # starts in a month


# Edge cases first: one_of/sampled_from shrink towards the start.
_WINDOWS = (
    ValidityWindow.CURRENT,
    ValidityWindow.EXPIRES_AT,
    ValidityWindow.EXPIRED,
    ValidityWindow.STARTS_AT,
    ValidityWindow.NOT_YET_VALID,
    ValidityWindow.LONG_EXPIRED,
    ValidityWindow.FUTURE,
)

_EKUS: tuple[tuple[x509.ObjectIdentifier, ...] | None, ...] = (
    None,  # emailProtection
    (),  # no extension: unrestricted (RFC 8550 §4.4.4)
    (ExtendedKeyUsageOID.CLIENT_AUTH,),
    (ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,),
    (ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH),
    (ExtendedKeyUsageOID.SERVER_AUTH,),
    (ExtendedKeyUsageOID.CODE_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION),
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IssuanceSpec:
    """A certificate to issue (``certificate``) and what happens to it afterwards.

    ``revoked``: the issuer revokes it and publishes a CRL. ``issuer_trusted``:
    it comes from the holder's own organization's CA rather than from a CA
    nobody trusts. ``address`` and ``window`` say which variation
    ``certificate`` carries, so a failing example reads as words.
    """

    certificate: CertificateSpec
    address: AddressVariant
    window: ValidityWindow
    revoked: bool = False
    issuer_trusted: bool = True

    @property
    def dual_use(self) -> bool:
        return self.certificate.purpose is CertificatePurpose.DUAL_USE

    def for_email(self, email: str) -> IssuanceSpec:
        """The same variation for another mailbox."""
        san, subject = _address_fields(email, self.address, self.certificate.version)
        certificate = dataclasses.replace(
            self.certificate, email=email, san_emails=san, subject_email=subject
        )
        return dataclasses.replace(self, certificate=certificate)

    def describe(self) -> str:
        """A short phrase for reports: ``v3 ec-p256 dual-use, expired, revoked``."""
        spec = self.certificate
        words = [f"v{spec.version} {spec.key_type.value} {spec.purpose.value}"]
        if self.window is not ValidityWindow.CURRENT:
            words.append(self.window.value)
        if self.address is not AddressVariant.MATCH:
            words.append(f"address {self.address.value}")
        if spec.key_usage is not None:
            bits = "+".join(sorted(b.value for b in spec.key_usage)) or "absent"
            words.append(f"key usage {bits}")
        if spec.extended_key_usage is not None:
            names = "+".join(getattr(o, "_name", o.dotted_string) for o in spec.extended_key_usage)
            words.append(f"eku {names or 'absent'}")
        if self.revoked:
            words.append("revoked")
        if not self.issuer_trusted:
            words.append("untrusted issuer")
        return ", ".join(words)


def _other_address(email: str) -> str:
    local, _, domain = email.rpartition("@")
    other = "somebody.else" if local.lower() != "somebody.else" else "somebody.other"
    return f"{other}@{domain}"


def _address_fields(
    email: str, variant: AddressVariant, version: int
) -> tuple[tuple[str, ...] | None, str | None]:
    """(san_emails, subject_email) for the variation."""
    local, _, domain = email.rpartition("@")
    if version == 1:
        # No SAN in a v1 certificate: the subject emailAddress is the only place.
        subject = {
            AddressVariant.OTHER: _other_address(email),
            AddressVariant.DOMAIN_CASE: f"{local}@{domain.upper()}",
            AddressVariant.LOCAL_CASE: f"{local.upper()}@{domain}",
        }.get(variant, email)
        if variant is AddressVariant.NONE:
            return (), None
        return None, subject
    if variant is AddressVariant.MATCH:
        return None, None
    if variant is AddressVariant.SUBJECT_ONLY:
        return (), email
    if variant is AddressVariant.DOMAIN_CASE:
        return (f"{local}@{domain.upper()}",), None
    if variant is AddressVariant.LOCAL_CASE:
        return (f"{local.upper()}@{domain}",), None
    if variant is AddressVariant.OTHER:
        return (_other_address(email),), None
    return (), None


def _window(window: ValidityWindow, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(not_before, not_after)."""
    year = dt.timedelta(days=365)
    return {
        ValidityWindow.CURRENT: (at - dt.timedelta(minutes=5), at + year),
        ValidityWindow.EXPIRES_AT: (at - year, at),
        ValidityWindow.EXPIRED: (at - year, at - SECOND),
        ValidityWindow.STARTS_AT: (at, at + year),
        ValidityWindow.NOT_YET_VALID: (at + SECOND, at + year),
        ValidityWindow.LONG_EXPIRED: (at - 3 * year, at - year),
        ValidityWindow.FUTURE: (at + dt.timedelta(days=30), at + 2 * year),
    }[window]


def certificate_specs(
    *,
    keys: IndexedKeys,
    at: dt.datetime,
    email: str = "user@example.org",
    key_types: tuple[KeyType, ...] = (KeyType.EC_P256, KeyType.RSA_2048),
    pool_size: int = DEFAULT_POOL_SIZE,
    versions: tuple[int, ...] = (3, 1),
    purposes: tuple[CertificatePurpose, ...] = (
        CertificatePurpose.DUAL_USE,
        CertificatePurpose.ENCRYPTION,
        CertificatePurpose.SIGNING,
    ),
    windows: tuple[ValidityWindow, ...] = _WINDOWS,
    addresses: tuple[AddressVariant, ...] = tuple(AddressVariant),
    revoked: tuple[bool, ...] = (False, True),
    issuer_trusted: tuple[bool, ...] = (True, False),
) -> st.SearchStrategy[IssuanceSpec]:
    """Certificate variations for ``email``, with keys from the first ``pool_size`` of ``keys``.

    Every keyword narrows a dimension to the choices given; each must be
    non-empty. Key usage is the default for the purpose, absent, or any set of
    the S/MIME bits; extended key usage is emailProtection, absent or an
    assortment with and without emailProtection.
    """
    pool = check_keys(keys)
    at = check_instant("at", at)
    if not isinstance(email, str) or email.count("@") != 1:
        raise StrategyArgumentError(f"email={email!r}, but only one address local@domain is valid")
    types = check_choices("key_types", key_types, tuple(KeyType))
    size = check_size("pool_size", pool_size, low=1, high=MAX_POOL_SIZE)
    version_choices = check_choices("versions", versions, (1, 3))
    purpose_choices = check_choices("purposes", purposes, tuple(CertificatePurpose))
    window_choices = check_choices("windows", windows, tuple(ValidityWindow))
    address_choices = check_choices("addresses", addresses, tuple(AddressVariant))
    revoked_choices = check_choices("revoked", revoked, (False, True))
    trusted_choices = check_choices("issuer_trusted", issuer_trusted, (True, False))

    key_usages: st.SearchStrategy[frozenset[KeyUsageBit] | None] = st.one_of(
        st.just(None), st.just(frozenset()), st.frozensets(st.sampled_from(tuple(KeyUsageBit)))
    )

    @st.composite
    def build(draw: st.DrawFn) -> IssuanceSpec:
        key_type = draw(st.sampled_from(types))
        version = draw(st.sampled_from(version_choices))
        address = draw(st.sampled_from(address_choices))
        window = draw(st.sampled_from(window_choices))
        extensions: dict[str, object] = {}
        if version == 3:
            extensions = {
                "key_usage": draw(key_usages),
                "extended_key_usage": draw(st.sampled_from(_EKUS)),
            }
        not_before, not_after = _window(window, at)
        spec = CertificateSpec(
            not_before=not_before,
            not_after=not_after,
            email=email,
            purpose=draw(st.sampled_from(purpose_choices)),
            key_type=key_type,
            version=version,
            key=pool.key(key_type, draw(st.integers(min_value=0, max_value=size - 1))),
            **extensions,  # type: ignore[arg-type]
        )
        issued = IssuanceSpec(
            certificate=spec,
            address=address,
            window=window,
            revoked=draw(st.sampled_from(revoked_choices)),
            issuer_trusted=draw(st.sampled_from(trusted_choices)),
        )
        return issued.for_email(email)

    return build()
