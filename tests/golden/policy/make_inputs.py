"""Regenerate the golden inputs (certificates and messages, never keys): run from the repo root.

    python tests/golden/policy/make_inputs.py
    SMIME_HARNESS_REGOLD=1 pytest tests/test_policy_golden.py

The inputs are committed; this script only documents how they were made.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from engine.algorithms import ContentCipher, DigestAlgorithm
from engine.authority import CertificateSpec, OrgCA
from engine.clock import FixedClock
from engine.envelope import encrypt
from engine.keys import KeyPool, default_cache_dir
from engine.signing import sign

HERE = Path(__file__).resolve().parent
EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
MESSAGE = (
    b"From: alice@contoso.example\r\nTo: bob@fabrikam.example\r\n"
    b"Subject: golden\r\n\r\nHello Bob.\r\n"
)


def main() -> None:
    clock = FixedClock(EPOCH - dt.timedelta(days=1))
    keys = KeyPool(default_cache_dir())
    ca = OrgCA.create("Contoso", "contoso.example", clock=clock, keys=keys)
    alice = ca.enroll("alice@contoso.example", ca.issue_token("alice@contoso.example").secret)
    long_lived = ca.issue(
        CertificateSpec(
            email="carol@contoso.example",
            validity=dt.timedelta(days=1000),
            san_emails=(),
            subject_email="carol@contoso.example",
        )
    ).certificate
    v1 = ca.issue(CertificateSpec(email="dave@contoso.example", version=1)).certificate
    pem = Encoding.PEM
    (HERE / "root.pem").write_bytes(ca.root.public_bytes(pem))
    (HERE / "enrolled.pem").write_bytes(alice.signing.certificate.public_bytes(pem))
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
