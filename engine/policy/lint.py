"""Lint a certificate against the SMBR profile a policy claims, with pkilint; findings come out.

pkilint is the CA/Browser Forum community's linter for the S/MIME Baseline
Requirements: its validators hold the profile's rules (subject attributes per
validation level, the reserved policy OID, AIA, CRL distribution points, key
usage per generation, validity, encodings...). A policy that claims a profile
runs them all, so it is never greener than the linter for that profile; each
pkilint finding keeps pkilint's code behind a ``pkilint.`` prefix, its
severity and message, and the node it is about (rule families and citations:
:mod:`engine.policy.rules`).

pkilint takes about half a second to import, so it is imported here, on the
first certificate linted, never when the command line merely starts.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from engine.findings import Finding, Severity
from engine.pki.smbr import CertificateProfile
from engine.policy.rules import finding

PREFIX = "pkilint."

# A pkilint validator that raises is logged with its traceback (logger.exception) and
# reported as base.unhandled_exception; the finding is what counts, and a command line
# prints no traceback, so pkilint's records go nowhere unless the application routes them.
logging.getLogger("pkilint").addHandler(logging.NullHandler())

# pkilint's severities (pkilint.validation.ValidationFindingSeverity) by name. FATAL means
# a validator could not go on: an error here too. pkilint's INFO is "not indicative of any
# problem" (e.g. which method made the key identifier) and DEBUG is for its developers:
# neither is a finding about the certificate, so neither is reported.
_SEVERITIES = {
    "FATAL": Severity.ERROR,
    "ERROR": Severity.ERROR,
    "WARNING": Severity.WARNING,
    "NOTICE": Severity.INFO,
}


def lint_certificate(
    certificate: x509.Certificate, profile: CertificateProfile, *, subject: str
) -> tuple[Finding, ...]:
    """pkilint's findings for ``certificate`` as a subscriber certificate of ``profile``."""
    from pkilint import loader
    from pyasn1.error import PyAsn1Error

    der = certificate.public_bytes(Encoding.DER)
    try:
        document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    except (ValueError, PyAsn1Error) as exc:
        return (
            finding(
                "smime.cert.profile.unlinted",
                Severity.ERROR,
                f"pkilint cannot decode the certificate ({exc}); "
                f"it was not checked against {profile.value}",
                subject,
            ),
        )
    found: list[Finding] = []
    for result in _validator(profile).validate(document.root):
        for description in result.finding_descriptions:
            severity = _SEVERITIES.get(description.finding.severity.name)
            if severity is None:
                continue
            code: str = description.finding.code
            text = description.message or code.rsplit(".", 1)[-1].replace("_", " ")
            found.append(
                finding(
                    PREFIX + code,
                    severity,
                    f"{text} (pkilint {result.validator}, at {result.node.path})",
                    subject,
                )
            )
    return tuple(found)


def profile_codes(profile: CertificateProfile) -> frozenset[str]:
    """Every rule ID (``pkilint.`` + code) the linter may report for ``profile``."""
    from pkilint import report

    return frozenset(PREFIX + v.code for v in report.get_included_validations(_validator(profile)))


# The validator tree of a profile: built once per profile (three at most) and reused; it
# holds configuration only, no certificate, so a certificate's lint never sees another's.
# Bounded by CertificateProfile's values (three), so functools.cache is safe here.
@functools.cache
def _validator(profile: CertificateProfile) -> Any:
    from pkilint.cabf import smime
    from pkilint.cabf.smime import smime_constants
    from pkilint.pkix import certificate

    level = smime_constants.ValidationLevel[profile.validation_level]
    generation = smime_constants.Generation[profile.generation]
    # As pkilint's own lint_cabf_smime_cert: the S/MIME decoders, then the subscriber
    # validators of the type; the validity period start is the certificate's notBefore.
    return certificate.create_pkix_certificate_validator_container(
        smime.create_decoding_validators(),
        smime.create_subscriber_validators(level, generation),
    )
