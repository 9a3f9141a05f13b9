"""Building certificates and CRLs for an organization's CA, and the memo that shares them.

A root (and optionally an issuing intermediate) with basicConstraints and keyUsage
for a CA (RFC 5280 §4.2.1.9, §4.2.1.3); end-entity certificates from a
:class:`~engine.pki.certificate_spec.CertificateSpec`, v3 through ``cryptography``'s
builder or v1 through :mod:`engine.cms.certificate`; the CA's CRLs. Every builder
is a pure function of its arguments, which is what lets a :class:`CertificateMemo`
hand the same certificate out again for the same inputs. The CA's state (tokens,
archive, revocations) is :mod:`engine.pki.authority`'s.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from engine.cms.algorithms import DigestAlgorithm, SignatureScheme, signature_oid
from engine.cms.certificate import assemble_certificate, v1_tbs_certificate
from engine.errors import InputError
from engine.pki.certificate_spec import UB_COMMON_NAME, CertificateSpec
from engine.pki.credential import Credential
from engine.pki.key_usage import KeyUsageBit, default_key_usage
from engine.pki.keys import PrivateKey
from engine.pki.revocation import RevokedInfo, build_crl, signature_hash

# Certificates start a little in the past so a peer whose clock runs slow accepts them.
CLOCK_SKEW = dt.timedelta(minutes=5)
ROOT_VALIDITY = dt.timedelta(days=3650)
INTERMEDIATE_VALIDITY = dt.timedelta(days=1825)


def end_entity_subject(spec: CertificateSpec, organization: str) -> x509.Name:
    """The subject of an end-entity certificate an organization's CA issues from ``spec``."""
    if spec.profile is not None:
        return _mailbox_validated_subject(spec)
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name or _common_name(spec.email)),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organization or organization),
    ]
    subject_email = spec.subject_email
    if subject_email is None and spec.version == 1 and spec.san_emails is None:
        subject_email = spec.email  # v1 has no SAN: the subject is the only place left
    if subject_email is not None:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject_email))
    return x509.Name(attributes)


def _common_name(text: str) -> str:
    """``text`` as a commonName. A longer mailbox (up to 254 characters, RFC 5321
    §4.5.3.1) or CA name is shortened; the full address stays in the SAN."""
    return text if len(text) <= UB_COMMON_NAME else text[: UB_COMMON_NAME - 3] + "..."


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "ca"


def crl_url(domain: str, stem: str) -> str:
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
class IssuerUrls:
    # Where relying parties fetch the issuer's CRL and certificate (RFC 5280 §4.2.1.13, §4.2.2.1).
    crl: str
    ca_issuers: str


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


def _key_usage_extension(
    bits: Iterable[KeyUsageBit], *, signs_certificates: bool = False
) -> x509.KeyUsage:
    # RFC 5280 §4.2.1.3: an end entity's bits as chosen; a CA's keyCertSign and cRLSign.
    chosen = set(bits)
    return x509.KeyUsage(
        digital_signature=KeyUsageBit.DIGITAL_SIGNATURE in chosen,
        content_commitment=KeyUsageBit.NON_REPUDIATION in chosen,
        key_encipherment=KeyUsageBit.KEY_ENCIPHERMENT in chosen,
        data_encipherment=KeyUsageBit.DATA_ENCIPHERMENT in chosen,
        key_agreement=KeyUsageBit.KEY_AGREEMENT in chosen,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def build_credential(
    issuer: Credential,
    urls: IssuerUrls,
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
    urls: IssuerUrls,
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
        builder = builder.add_extension(_key_usage_extension(usage), critical=True)
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


def build_authority(
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
        crl_url=crl_url(domain, f"{slug(name)}-root"),
    )
    return root, Credential(certificate=sub_cert, private_key=sub_key, chain=(root_cert,))


def build_ca_crl(
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
        self.authority = functools.lru_cache(maxsize=authorities)(build_authority)
        self.credential = functools.lru_cache(maxsize=credentials)(build_credential)
        self.crl = functools.lru_cache(maxsize=crls)(build_ca_crl)

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
        .add_extension(_key_usage_extension((), signs_certificates=True), critical=True)
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
