"""Regenerate the golden inputs (certificates and messages, never keys): run from the repo root.

    python tests/golden/policy/make_inputs.py
    SMIME_HARNESS_REGOLD=1 pytest tests/test_policy_golden.py

The inputs are committed; this script only documents how they were made.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from engine.clock import FixedClock
from engine.cms.algorithms import ContentCipher, DigestAlgorithm
from engine.pki.authority import CertificateSpec, OrgCA
from engine.pki.keys import KeyPool, default_cache_dir
from engine.pki.smbr import CertificateProfile
from engine.smime.encryption import encrypt
from engine.smime.signing import sign

HERE = Path(__file__).resolve().parent
EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
# A registered-style domain (under .com, reserved by RFC 2606): the SMBR profile allows no
# internal names (pkilint cabf.internal_domain_name), so a .example domain could never pass.
DOMAIN = "contoso.example.com"
MESSAGE = (
    b"From: alice@contoso.example.com\r\nTo: bob@fabrikam.example.com\r\n"
    b"Subject: golden\r\n\r\nHello Bob.\r\n"
)


def main() -> None:
    clock = FixedClock(EPOCH - dt.timedelta(days=1))
    keys = KeyPool(default_cache_dir())
    # The CA issues to the SMBR profile the strict policy claims (alice's certificate);
    # the others are deliberate deviations, issued without it.
    ca = OrgCA.create(
        "Contoso", DOMAIN, clock=clock, keys=keys, profile=CertificateProfile.MAILBOX_STRICT
    )
    alice = ca.enroll(f"alice@{DOMAIN}", ca.issue_token(f"alice@{DOMAIN}").secret)
    # What the CA issued before it could follow a profile: O= in the subject, no policy OID.
    unprofiled = ca.issue(CertificateSpec(email=f"erin@{DOMAIN}")).certificate
    long_lived = ca.issue(
        CertificateSpec(
            email=f"carol@{DOMAIN}",
            validity=dt.timedelta(days=1000),
            san_emails=(),
            subject_email=f"carol@{DOMAIN}",
        )
    ).certificate
    v1 = ca.issue(CertificateSpec(email=f"dave@{DOMAIN}", version=1)).certificate
    pem = Encoding.PEM
    (HERE / "root.pem").write_bytes(ca.root.public_bytes(pem))
    (HERE / "enrolled.pem").write_bytes(alice.signing.certificate.public_bytes(pem))
    (HERE / "no-profile.pem").write_bytes(unprofiled.public_bytes(pem))
    (HERE / "long-lived-no-san.pem").write_bytes(long_lived.public_bytes(pem))
    (HERE / "v1.pem").write_bytes(v1.public_bytes(pem))
    (HERE / "signed-sha1.eml").write_bytes(
        sign(MESSAGE, alice.signing, clock=clock, digest=DigestAlgorithm.SHA1)
    )
    (HERE / "encrypted-cbc.eml").write_bytes(
        encrypt(MESSAGE, [alice.encryption.certificate], cipher=ContentCipher.AES_128_CBC)
    )
    (HERE / "signed-sha256.eml").write_bytes(sign(MESSAGE, alice.signing, clock=clock))


if __name__ == "__main__":
    main()
