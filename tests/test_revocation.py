"""Revocation: the authority's records, the CRLs it signs, and looking serials up in them."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from engine.clock import FixedClock
from engine.errors import CertificateError, InputError
from engine.pki.authority import OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeyPool
from engine.pki.revocation import (
    CrlCoverage,
    RevocationReason,
    RevokedInfo,
    build_crl,
    check_revocation,
)

DAY = dt.timedelta(days=1)


@pytest.fixture
def ca(clock: FixedClock, key_pool: KeyPool) -> OrgCA:
    return OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool)


def leaf(ca: OrgCA, email: str = "alice@contoso.example") -> Credential:
    return ca.enroll(email, ca.issue_token(email).secret).signing


# -- reasons ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(RevocationReason))
def test_reason_maps_to_a_crl_reason_flag_and_back(reason: RevocationReason) -> None:
    assert RevocationReason.from_flag(reason.flag) is reason


def test_reason_parses_its_own_words() -> None:
    assert RevocationReason.parse("Key-Compromise") is RevocationReason.KEY_COMPROMISE
    with pytest.raises(InputError, match="revocation reason"):
        RevocationReason.parse("lost")


# -- the CRL ---------------------------------------------------------------------------------


def test_crl_is_signed_by_the_issuer_and_dated_by_the_clock(ca: OrgCA, clock: FixedClock) -> None:
    crl = ca.crl()
    assert crl.is_signature_valid(ca.root.public_key())  # type: ignore[arg-type]
    assert crl.issuer == ca.root.subject
    assert crl.last_update_utc == clock.now()
    assert crl.next_update_utc == clock.now() + 7 * DAY
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert len(crl) == 0


def test_crl_next_update_is_configurable(ca: OrgCA, clock: FixedClock) -> None:
    assert ca.crl(next_update=DAY).next_update_utc == clock.now() + DAY


def test_crl_numbers_increase(ca: OrgCA) -> None:
    numbers = [
        ca.crl().extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        for _ in range(3)
    ]
    assert numbers == [1, 2, 3]


def test_revoked_entry_carries_date_and_reason(ca: OrgCA, clock: FixedClock) -> None:
    cert = leaf(ca).certificate
    when = clock.now() - DAY
    ca.revoke(cert, RevocationReason.AFFILIATION_CHANGED, at=when)
    entry = ca.crl().get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None and entry.revocation_date_utc == when
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.affiliation_changed


def test_unspecified_reason_is_left_out(ca: OrgCA) -> None:
    # RFC 5280 §5.3.1: the reason code unspecified SHOULD be absent.
    cert = leaf(ca).certificate
    ca.revoke(cert, RevocationReason.UNSPECIFIED)
    entry = ca.crl().get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None and len(entry.extensions) == 0


def test_future_revocation_is_listed_only_once_due(ca: OrgCA, clock: FixedClock) -> None:
    cert = leaf(ca).certificate
    ca.revoke(cert, RevocationReason.CESSATION_OF_OPERATION, at=clock.now() + DAY)
    assert len(ca.crl()) == 0
    clock.advance(DAY)
    assert len(ca.crl()) == 1


def test_revoking_twice_is_refused(ca: OrgCA) -> None:
    cert = leaf(ca).certificate
    ca.revoke(cert, RevocationReason.SUPERSEDED)
    with pytest.raises(CertificateError, match="already revoked"):
        ca.revoke(cert, RevocationReason.KEY_COMPROMISE)


def test_revoking_a_stranger_is_refused(ca: OrgCA, key_pool: KeyPool, clock: FixedClock) -> None:
    other = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool)
    with pytest.raises(CertificateError, match="not issued by Contoso"):
        ca.revoke(leaf(other, "bob@fabrikam.example").certificate, RevocationReason.UNSPECIFIED)


def test_naive_revocation_time_is_refused(ca: OrgCA) -> None:
    with pytest.raises(InputError, match="timezone-aware"):
        ca.revoke(leaf(ca).certificate, RevocationReason.UNSPECIFIED, at=dt.datetime(2026, 1, 1))


def test_intermediate_is_revoked_on_the_root_crl(key_pool: KeyPool, clock: FixedClock) -> None:
    ca = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool, intermediate=True)
    assert ca.intermediate is not None
    ca.revoke(ca.intermediate, RevocationReason.CA_COMPROMISE)
    issuing, root = ca.crls()
    assert issuing.issuer == ca.intermediate.subject and len(issuing) == 0
    assert root.issuer == ca.root.subject and len(root) == 1
    assert root.is_signature_valid(ca.root.public_key())  # type: ignore[arg-type]


def test_build_crl_refuses_next_update_before_this_update(ca: OrgCA, clock: FixedClock) -> None:
    with pytest.raises(InputError, match="nextUpdate"):
        build_crl(ca.issuer, [], this_update=clock.now(), next_update=clock.now(), number=1)


@pytest.mark.requires_tool("openssl")
def test_crl_loads_in_openssl(ca: OrgCA, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl is not None
    ca.revoke(leaf(ca).certificate, RevocationReason.KEY_COMPROMISE)
    path = tmp_path / "ca.crl"
    path.write_bytes(ca.crl().public_bytes(serialization.Encoding.PEM))
    (tmp_path / "root.pem").write_bytes(ca.root.public_bytes(serialization.Encoding.PEM))
    done = subprocess.run(
        [
            openssl,
            "crl",
            "-in",
            str(path),
            "-noout",
            "-text",
            "-CAfile",
            str(tmp_path / "root.pem"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "Key Compromise" in done.stdout and "verify OK" in done.stderr + done.stdout


# -- looking a serial up ------------------------------------------------------------------------


def test_lookup_finds_a_revoked_serial(ca: OrgCA, clock: FixedClock) -> None:
    cert = leaf(ca).certificate
    ca.revoke(cert, RevocationReason.KEY_COMPROMISE)
    result = check_revocation(cert, ca.root, [ca.crl()], at=clock.now())
    assert result.coverage is CrlCoverage.COVERED and result.covered
    assert result.revoked == RevokedInfo(
        issuer=ca.root.subject,
        serial_number=cert.serial_number,
        revocation_date=clock.now(),
        reason=RevocationReason.KEY_COMPROMISE,
    )


def test_lookup_of_a_good_serial(ca: OrgCA, clock: FixedClock) -> None:
    result = check_revocation(leaf(ca).certificate, ca.root, [ca.crl()], at=clock.now())
    assert result.covered and result.revoked is None


def test_lookup_without_a_crl(ca: OrgCA, clock: FixedClock) -> None:
    result = check_revocation(leaf(ca).certificate, ca.root, [], at=clock.now())
    assert result.coverage is CrlCoverage.NO_CRL and not result.covered


def test_lookup_refuses_a_crl_with_a_bad_signature(
    ca: OrgCA, clock: FixedClock, key_pool: KeyPool
) -> None:
    cert = leaf(ca).certificate
    impostor = OrgCA.create("Contoso", "evil.example", clock=clock, keys=key_pool)
    # Same issuer name, other key: a CRL that claims to come from Contoso's root.
    forged = build_crl(
        impostor.issuer,
        [
            RevokedInfo(
                issuer=ca.root.subject,
                serial_number=cert.serial_number,
                revocation_date=clock.now(),
                reason=RevocationReason.KEY_COMPROMISE,
            )
        ],
        this_update=clock.now(),
        next_update=clock.now() + DAY,
        number=1,
    )
    assert forged.issuer == ca.root.subject
    result = check_revocation(cert, ca.root, [forged], at=clock.now())
    assert result.coverage is CrlCoverage.BAD_SIGNATURE and result.revoked is None


def test_lookup_ignores_a_stale_crl(ca: OrgCA, clock: FixedClock) -> None:
    cert = leaf(ca).certificate
    crl = ca.crl(next_update=DAY)
    result = check_revocation(cert, ca.root, [crl], at=clock.now() + 2 * DAY)
    assert result.coverage is CrlCoverage.STALE
    before = check_revocation(cert, ca.root, [crl], at=clock.now() - DAY)
    assert before.coverage is CrlCoverage.STALE


def test_lookup_before_the_revocation_date_is_not_revoked(ca: OrgCA, clock: FixedClock) -> None:
    cert = leaf(ca).certificate
    later = clock.now() + 2 * DAY
    crl = build_crl(
        ca.issuer,
        [
            RevokedInfo(
                issuer=ca.root.subject,
                serial_number=cert.serial_number,
                revocation_date=later,
                reason=RevocationReason.SUPERSEDED,
            )
        ],
        this_update=clock.now(),
        next_update=clock.now() + 7 * DAY,
        number=1,
    )
    assert check_revocation(cert, ca.root, [crl], at=clock.now() + DAY).revoked is None
    assert check_revocation(cert, ca.root, [crl], at=later).revoked is not None
