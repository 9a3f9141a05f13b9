"""The SMBR profile a policy claims, checked with pkilint: never greener than the linter.

pkilint's own command line (``lint_cabf_smime_cert``, run in this process) is the
oracle: for every certificate here, the strict policy reports at least each error
and warning pkilint reports for the mailbox-validated strict profile. Certificates
come from the project's authority and from the ``openssl`` command line (a PKI the
project did not make).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from engine.cli.commands import main
from engine.clock import FixedClock
from engine.errors import CertificateError, InputError
from engine.findings import Finding, Severity
from engine.harness.world import World
from engine.mail.organization import Organization
from engine.mail.transport import MailNetwork
from engine.pki.authority import CertificateSpec, OrgCA
from engine.pki.keys import KeyPool, KeyType
from engine.pki.smbr import CertificateProfile
from engine.policy.compliance import check_certificate
from engine.policy.document import PolicyError, builtin_policy, policy_from_text
from engine.policy.lint import lint_certificate
from engine.policy.rules import rule
from tests.conftest import EPOCH, enroll

GOLDEN = Path(__file__).resolve().parent / "golden" / "policy"
STRICT = builtin_policy("strict")
PROFILE = CertificateProfile.MAILBOX_STRICT
DOMAIN = "contoso.example.com"  # registrable: the profile allows no internal names

# A partner PKI made with the openssl command line, the way partners really make theirs.
COMMON = """basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://pki.fabrikam.example.com/root.crl
"""
AIA = "authorityInfoAccess = caIssuers;URI:http://pki.fabrikam.example.com/root.cer\n"
# name: (subject, days, extensions beside COMMON)
LEAVES = {
    # The issue's case: O= in the subject, no certificatePolicies, no AIA.
    "with_o": (
        "/CN=bob@fabrikam.example.com/O=Fabrikam",
        365,
        "extendedKeyUsage = emailProtection\nsubjectAltName = email:bob@fabrikam.example.com\n",
    ),
    # Looks the part, but the legacy generation's OID, an extra EKU, a .example mailbox.
    "legacy_oid": (
        "/CN=Carol",
        900,
        "extendedKeyUsage = emailProtection,clientAuth\n"
        "subjectAltName = email:carol@fabrikam.example\n"
        "certificatePolicies = 2.23.140.1.5.1.1\n" + AIA,
    ),
    # What the profile asks for.
    "conforming": (
        "/CN=dave@fabrikam.example.com",
        365,
        "extendedKeyUsage = emailProtection\nsubjectAltName = email:dave@fabrikam.example.com\n"
        "certificatePolicies = 2.23.140.1.5.1.3\n" + AIA,
    ),
}


def now() -> dt.datetime:
    """openssl's certificates start when made (openssl 3.0 has no -not_before)."""
    return dt.datetime.now(dt.UTC)


def openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def partner(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Leaf certificates (PEM files) issued by an openssl-made CA."""
    folder = tmp_path_factory.mktemp("partner")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
            "-subj", "/CN=Fabrikam Root/O=Fabrikam", cwd=folder)  # fmt: skip
    sections = (f"[{name}]\n{COMMON}{extra}" for name, (_, _, extra) in LEAVES.items())
    (folder / "ext.cnf").write_text("\n".join(sections))
    paths = {}
    for name, (subject, days, _) in LEAVES.items():
        openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subject, cwd=folder)  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", str(days), "-sha256", "-extfile", "ext.cnf",
                "-extensions", name, "-out", f"{name}.pem", cwd=folder)  # fmt: skip
        paths[name] = folder / f"{name}.pem"
    return paths


@pytest.fixture(scope="module")
def ca(key_pool: KeyPool) -> OrgCA:
    """The project's authority, issuing to the strict profile."""
    clock = FixedClock(EPOCH)
    return OrgCA.create(
        "Contoso", DOMAIN, clock=clock, keys=key_pool, profile=PROFILE, intermediate=True
    )


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture(scope="module")
def oracle() -> Any:
    """pkilint, composed as its own lint_cabf_smime_cert composes it for MAILBOX-STRICT,
    built apart from engine.policy.lint."""
    from pkilint.cabf import smime
    from pkilint.cabf.smime.smime_constants import Generation, ValidationLevel
    from pkilint.pkix import certificate

    return certificate.create_pkix_certificate_validator_container(
        smime.create_decoding_validators(),
        smime.create_subscriber_validators(ValidationLevel.MAILBOX, Generation.STRICT),
    )


def pkilint_says(oracle: Any, path: Path) -> collections.Counter[str]:
    """The oracle's errors (FATAL, ERROR) and warnings for the certificate in ``path``."""
    from pkilint import loader

    document = loader.RFC5280CertificateDocumentLoader().load_pem_document(path.read_text())
    said: collections.Counter[str] = collections.Counter()
    for result in oracle.validate(document.root):
        for found in result.finding_descriptions:
            level = found.finding.severity.name
            if level in ("FATAL", "ERROR", "WARNING"):
                severity = "warning" if level == "WARNING" else "error"
                said[f"pkilint.{found.finding.code} {severity}"] += 1
    return said


def reported(findings: tuple[Finding, ...]) -> collections.Counter[str]:
    return collections.Counter(f"{f.rule_id} {f.severity.value}" for f in findings)


def bad(findings: tuple[Finding, ...]) -> list[str]:
    return [f.rule_id for f in findings if f.severity is not Severity.INFO]


# --- the project's authority ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_type", "separate"),
    [(KeyType.RSA_2048, False), (KeyType.RSA_3072, True), (KeyType.EC_P256, True)],
)
def test_the_authority_issues_lint_clean_certificates_for_the_strict_profile(
    ca: OrgCA,
    key_type: KeyType,
    separate: bool,
    tmp_path: Path,
    oracle: Any,
) -> None:
    address = f"{key_type.value}-{separate}@{DOMAIN}"
    made = ca.enroll(
        address, ca.issue_token(address).secret, key_type=key_type, separate_encryption_key=separate
    )
    for certificate in made.certificates:
        path = tmp_path / "leaf.pem"
        path.write_bytes(certificate.public_bytes(Encoding.PEM))
        assert pkilint_says(oracle, path) == collections.Counter()  # the linter itself
        assert bad(check_certificate(certificate, STRICT, at=EPOCH)) == []


def test_a_profile_certificate_asserts_the_policy_oid_aia_and_a_mailbox_subject(
    ca: OrgCA,
) -> None:
    cert = enroll(ca, f"erin@{DOMAIN}").signing.certificate
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["2.23.140.1.5.1.3"]
    access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [(a.access_method, a.access_location.value) for a in access] == [
        (AuthorityInformationAccessOID.CA_ISSUERS, f"http://pki.{DOMAIN}/contoso.cer")
    ]
    assert cert.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"erin@{DOMAIN}")])
    long = "l" * 60 + f"@{DOMAIN}"  # longer than a commonName may be: emailAddress instead
    named = enroll(ca, long).signing.certificate
    assert named.subject.get_attributes_for_oid(NameOID.COMMON_NAME) == []
    assert named.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value == long


def test_a_v1_certificate_cannot_claim_a_profile() -> None:
    with pytest.raises(CertificateError, match="version 1"):
        CertificateSpec(email=f"a@{DOMAIN}", version=1, profile=PROFILE)


def test_without_a_profile_the_authority_issues_what_strict_reports(
    key_pool: KeyPool, tmp_path: Path, oracle: Any
) -> None:
    """The regression: this certificate passed strict with no findings."""
    plain = OrgCA.create("Contoso", DOMAIN, clock=FixedClock(EPOCH), keys=key_pool)
    cert = enroll(plain, f"alice@{DOMAIN}").signing.certificate
    found = check_certificate(cert, STRICT, at=EPOCH)
    assert reported(found) == collections.Counter(
        {
            "pkilint.cabf.smime.prohibited_attribute error": 1,
            "pkilint.cabf.smime.certificate_policies_extension_missing error": 1,
            "pkilint.cabf.aia_extension_missing warning": 1,
        }
    )
    by_rule = {f.rule_id: f for f in found}
    assert by_rule["pkilint.cabf.smime.prohibited_attribute"].citation == "SMBR 7.1.4.2.2 (pkilint)"
    assert "2.5.4.10" in by_rule["pkilint.cabf.smime.prohibited_attribute"].message
    assert by_rule["pkilint.cabf.aia_extension_missing"].citation == "SMBR 7.1.2.3 (c) (pkilint)"
    path = tmp_path / "alice.pem"
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    assert reported(found) == pkilint_says(oracle, path)


def test_an_organization_issues_to_its_policy_s_profile_from_adoption_on(
    key_pool: KeyPool,
) -> None:
    clock = FixedClock(EPOCH)
    org = Organization("Contoso", DOMAIN, clock=clock, network=MailNetwork(), keys=key_pool)
    before = org.enroll(f"a@{DOMAIN}").signing.certificate
    org.adopt(STRICT)
    after = org.enroll(f"b@{DOMAIN}").signing.certificate
    renewed = org.renew(f"a@{DOMAIN}").signing.certificate
    assert "pkilint.cabf.smime.prohibited_attribute" in bad(
        check_certificate(before, STRICT, at=EPOCH)
    )
    assert bad(check_certificate(after, STRICT, at=EPOCH)) == []
    assert bad(check_certificate(renewed, STRICT, at=EPOCH)) == []
    org.adopt(builtin_policy("outlook98"))
    assert org.ca.profile is None


# --- a PKI the project did not make (openssl) ----------------------------------------------


def test_check_cert_reports_pkilint_errors_for_an_openssl_certificate(
    partner: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    at = now().isoformat()
    argv = ["check-cert", str(partner["with_o"]), "--at", at, "--json"]
    assert main([*argv, "--policy", "strict"]) == 1
    found = {(f["rule_id"], f["severity"]) for f in json.loads(capsys.readouterr().out)}
    assert ("pkilint.cabf.smime.prohibited_attribute", "error") in found
    assert ("pkilint.cabf.smime.certificate_policies_extension_missing", "error") in found
    assert ("pkilint.cabf.aia_extension_missing", "warning") in found
    # A policy that claims no profile does not run the linter.
    assert main([*argv, "--policy", "outlook98"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    conforming = ["check-cert", str(partner["conforming"]), "--at", at, "--policy", "strict"]
    assert main(conforming) == 0
    assert capsys.readouterr().out.endswith("no findings (policy strict)\n")


def test_strict_is_never_greener_than_pkilint(
    partner: dict[str, Path],
    ca: OrgCA,
    key_pool: KeyPool,
    tmp_path: Path,
    oracle: Any,
) -> None:
    """Every error and warning pkilint reports, strict reports too, as severe, as often."""
    lab = OrgCA.create("Lab", "lab.example", clock=FixedClock(EPOCH), keys=key_pool)
    made = {
        "internal-domain": lab.issue(CertificateSpec(email="x@lab.example", profile=PROFILE)),
        "no-key-usage": ca.issue(
            CertificateSpec(email=f"k@{DOMAIN}", key_usage=frozenset(), profile=PROFILE)
        ),
        "long-lived": ca.issue(
            CertificateSpec(email=f"l@{DOMAIN}", validity=dt.timedelta(days=900), profile=PROFILE)
        ),
    }
    certificates = {name: (path, now()) for name, path in partner.items()}
    for name in ("enrolled", "no-profile", "long-lived-no-san", "v1"):
        certificates[name] = (GOLDEN / f"{name}.pem", EPOCH)
    for name, credential in made.items():
        path = tmp_path / f"{name}.pem"
        path.write_bytes(credential.certificate.public_bytes(Encoding.PEM))
        certificates[name] = (path, EPOCH)
    said_anything = 0
    for name, (path, at) in certificates.items():
        said = pkilint_says(oracle, path)
        ours = reported(check_certificate(load(path), STRICT, at=at))
        # An error may be reported where pkilint warns, never the other way round.
        for key, count in said.items():
            code, severity = key.rsplit(" ", 1)
            as_severe = ours[key] + (ours[f"{code} error"] if severity == "warning" else 0)
            assert as_severe >= count, f"{name}: pkilint says {key} x{count}, strict {ours}"
        said_anything += sum(said.values())
    assert said_anything > 20  # the oracle saw the defects these certificates carry


def test_a_policy_file_that_relaxes_strict_still_reports_what_the_profile_requires(
    partner: dict[str, Path],
) -> None:
    relaxed = policy_from_text(
        'extends = "strict"\nname = "relaxed"\n[certificates]\nrequire_v3 = false\n'
        "require_rfc822_name = false\nemail_protection_only = false\nmax_validity_days = 2000\n",
        file="relaxed.toml",
    )
    found = bad(check_certificate(load(partner["legacy_oid"]), relaxed, at=now()))
    assert "pkilint.cabf.smime.no_required_reserved_policy_oid" in found
    assert "pkilint.cabf.smime.prohibited_eku_present" in found
    assert "pkilint.cabf.smime.certificate_validity_period_exceeds_825_days" in found
    assert "pkilint.cabf.internal_domain_name" in found


# --- policies name their profile ---------------------------------------------------------------


def test_which_built_in_policy_claims_which_profile() -> None:
    assert STRICT.certificate_profile is PROFILE
    assert builtin_policy("outlook98").certificate_profile is None
    assert builtin_policy("rfc8551").certificate_profile is None


def test_a_policy_file_may_claim_another_profile_or_none() -> None:
    def profile_of(value: str) -> CertificateProfile | None:
        text = f'extends = "strict"\nname = "p"\n[certificates]\nprofile = "{value}"\n'
        return policy_from_text(text, file="p.toml").certificate_profile

    assert profile_of("none") is None
    assert profile_of("cabf-smime-mailbox-legacy") is CertificateProfile.MAILBOX_LEGACY
    with pytest.raises(PolicyError) as caught:
        profile_of("cabf-smime-strict")
    assert str(caught.value).count("\n") == 0
    assert "certificates.profile" in str(caught.value)
    assert "cabf-smime-mailbox-strict" in str(caught.value)


def test_the_profile_oids_are_the_reserved_ones() -> None:
    assert [p.policy_oid for p in CertificateProfile] == [
        "2.23.140.1.5.1.1",
        "2.23.140.1.5.1.2",
        "2.23.140.1.5.1.3",
    ]


# --- the adapter ---------------------------------------------------------------------------


def test_the_domain_of_an_organization_is_set_once(key_pool: KeyPool) -> None:
    world = World(keys=key_pool)
    org = world.add_organization("Contoso", domain=DOMAIN)
    assert org.domain == DOMAIN and world.add_organization("Contoso") is org
    with pytest.raises(InputError, match=r"Contoso.s domain contoso\.example\.com"):
        world.add_organization("Contoso", domain="contoso.example")
    with pytest.raises(InputError):
        world.add_organization("Fabrikam", domain="not a domain")


def test_a_certificate_pkilint_cannot_decode_is_an_error_not_a_crash(
    ca: OrgCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pkilint import loader

    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError("Substrate is not DER-encoded")  # what pkilint raises for such input

    monkeypatch.setattr(loader.RFC5280CertificateDocumentLoader, "load_der_document", refuse)
    cert = enroll(ca, f"undecodable@{DOMAIN}").signing.certificate
    found = lint_certificate(cert, PROFILE, subject="certificate x")
    assert [(f.rule_id, f.severity) for f in found] == [
        ("smime.cert.profile.unlinted", Severity.ERROR)
    ]
    assert "not DER-encoded" in found[0].message


def test_a_crashing_pkilint_validator_is_an_error_finding_and_prints_nothing(
    ca: OrgCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pkilint.cabf import cabf_extension

    def crash(self: object, node: object) -> None:
        raise RuntimeError("boom")

    validator = cabf_extension.AuthorityInformationAccessPresenceValidator
    monkeypatch.setattr(validator, "validate", crash)
    cert = enroll(ca, f"crash@{DOMAIN}").signing.certificate
    found = lint_certificate(cert, PROFILE, subject="certificate x")
    assert [(f.rule_id, f.severity) for f in found] == [
        ("pkilint.base.unhandled_exception", Severity.ERROR)
    ]
    assert "boom" in found[0].message
    assert found[0].citation.startswith("smime-harness (a pkilint validator crashed")
    # On the command line: the finding, and no traceback from pkilint's logger.
    script = f"""
import sys
from pkilint.cabf import cabf_extension
def crash(self, node):
    raise RuntimeError("boom")
cabf_extension.AuthorityInformationAccessPresenceValidator.validate = crash
from engine.cli.commands import main
sys.exit(main(["check-cert", {str(GOLDEN / "enrolled.pem")!r}, "--policy", "strict",
               "--at", "2026-06-01T12:00:00Z"]))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stdout.startswith("error   pkilint.base.unhandled_exception  certificate alice@")
    assert run.stderr == ""


def test_a_pkilint_code_of_an_undeclared_namespace_still_has_a_citation() -> None:
    assert rule("pkilint.future.some_new_check").citation.startswith("SMBR 7.1 (pkilint")
    with pytest.raises(InputError):
        rule("smime.no.such.rule")


def test_pkilint_is_imported_only_when_a_policy_claims_a_profile() -> None:
    cert = GOLDEN / "enrolled.pem"
    probe = f"""
import sys, engine.cli.commands, engine.policy.compliance, engine.policy.document
from engine.cli.commands import main
engine.cli.commands.build_parser()
engine.policy.document.builtin_policy("strict")
loaded = lambda: sorted({{m.split(".")[0] for m in sys.modules}} & {{"pkilint", "pyasn1"}})
print(loaded())
main(["check-cert", {str(cert)!r}, "--at", "2026-06-01T12:00:00Z", "--policy", "outlook98"])
print(loaded())
main(["check-cert", {str(cert)!r}, "--at", "2026-06-01T12:00:00Z", "--policy", "strict"])
print(loaded())
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("[")]
    assert lines == ["[]", "[]", "['pkilint', 'pyasn1']"]
