"""The organizations and mailboxes the interop suite exchanges mail between.

Built once per session from the shared key pool: RSA key generation is the
slow part of these tests, and the pool caches keys on disk between runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from engine.clock import FixedClock
from engine.pki.authority import Enrollment, OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeySource, KeyType
from engine.pki.smbr import CertificateProfile


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Mailbox:
    """An enrolled person: address, the CA that vouches for them, their credentials."""

    email: str
    org: OrgCA
    enrollment: Enrollment

    @property
    def signing(self) -> Credential:
        return self.enrollment.signing

    @property
    def encryption(self) -> Credential:
        return self.enrollment.encryption

    @property
    def certificate(self) -> x509.Certificate:
        return self.enrollment.encryption.certificate

    @property
    def anchor(self) -> x509.Certificate:
        return self.org.root

    def __repr__(self) -> str:  # short ids in pytest parametrization and failures
        return f"Mailbox({self.email})"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InteropPKI:
    """Three organizations: Alpha (RSA root + intermediate), Beta (RSA root), Gamma (EC root).

    alice@alpha: RSA-2048 dual use, issued by Alpha's intermediate.
    bob@beta:    RSA-2048 dual use.
    carol@alpha: EC P-256 dual use (ECDSA signing, ECDH key agreement).
    dave@alpha:  RSA-2048, separate signing and encryption certificates.
    erin@gamma:  EC P-256 under an EC root.
    mallory:     RSA-2048 from an untrusted organization, for negative cases.

    Alpha and Gamma issue to the SMBR mailbox-validated strict profile (policy OID,
    authorityInformationAccess, no O= in the subject), Beta as before: openssl and gpgsm
    read both kinds.
    """

    clock: FixedClock
    at: dt.datetime
    alpha: OrgCA
    beta: OrgCA
    gamma: OrgCA
    rogue: OrgCA
    alice: Mailbox
    bob: Mailbox
    carol: Mailbox
    dave: Mailbox
    erin: Mailbox
    mallory: Mailbox

    @property
    def anchors(self) -> tuple[x509.Certificate, ...]:
        """The trusted roots (not the rogue one)."""
        return (self.alpha.root, self.beta.root, self.gamma.root)


def _enroll(
    org: OrgCA, local: str, key_type: KeyType = KeyType.RSA_2048, *, separate: bool = False
) -> Mailbox:
    email = f"{local}@{org.domain}"
    token = org.issue_token(email)
    enrollment = org.enroll(
        email, token.secret, key_type=key_type, separate_encryption_key=separate
    )
    return Mailbox(email=email, org=org, enrollment=enrollment)


def build_pki(keys: KeySource, epoch: dt.datetime) -> InteropPKI:
    clock = FixedClock(epoch)
    strict = CertificateProfile.MAILBOX_STRICT
    alpha = OrgCA.create(
        "Alpha Corp", "alpha.example", clock=clock, keys=keys, intermediate=True, profile=strict
    )
    beta = OrgCA.create("Beta Ltd", "beta.example", clock=clock, keys=keys)
    gamma = OrgCA.create(
        "Gamma GmbH",
        "gamma.example",
        clock=clock,
        keys=keys,
        key_type=KeyType.EC_P256,
        profile=strict,
    )
    rogue = OrgCA.create("Alpha Corp", "rogue.example", clock=clock, keys=keys)
    return InteropPKI(
        clock=clock,
        at=epoch + dt.timedelta(hours=1),
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        rogue=rogue,
        alice=_enroll(alpha, "alice"),
        bob=_enroll(beta, "bob"),
        carol=_enroll(alpha, "carol", KeyType.EC_P256),
        dave=_enroll(alpha, "dave", separate=True),
        erin=_enroll(gamma, "erin", KeyType.EC_P256),
        mallory=_enroll(rogue, "mallory"),
    )


def forged_twin(genuine: x509.Certificate, impostor: Credential) -> x509.Certificate:
    """A certificate with the genuine one's issuer, serial and subject but the impostor's key.

    A SignedData's signer identifier (issuer and serial) then finds this certificate,
    whose key did not make the signature, and whose own signature no CA made.
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(genuine.subject)
        .issuer_name(genuine.issuer)
        .serial_number(genuine.serial_number)
        .not_valid_before(genuine.not_valid_before_utc)
        .not_valid_after(genuine.not_valid_after_utc)
        .public_key(impostor.private_key.public_key())
    )
    for extension in genuine.extensions:
        if isinstance(extension.value, x509.SubjectKeyIdentifier):
            continue
        builder = builder.add_extension(extension.value, extension.critical)
    return builder.sign(impostor.private_key, hashes.SHA256())
