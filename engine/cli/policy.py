"""The commands that judge against a policy: ``check-cert`` (an end-entity certificate),
``check-message`` (every layer of a message) and ``policies`` (the built-in ones), with
their options.

Findings are printed one a line (or as a JSON list); an error-level finding exits 1.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from engine.cli.arguments import (
    EXIT_FAILED,
    EXIT_OK,
    add_command,
    add_credential_args,
    instant,
)
from engine.cli.files import emit_json, load_certs, load_credential, load_crls, read_input

if TYPE_CHECKING:
    from engine.findings import Finding


def _report_findings(findings: Sequence[Finding], *, as_json: bool, empty: str) -> int:
    """Print findings (one a line, or a JSON list); exit 1 on an error-level finding."""
    from engine.findings import errors

    if as_json:
        emit_json([f.view() for f in findings])
    elif findings:
        for found in findings:
            print(found.line())
    else:
        print(empty)
    return EXIT_FAILED if errors(findings) else EXIT_OK


def cmd_check_cert(args: argparse.Namespace) -> int:
    """Print the policy's findings for an end-entity certificate (PEM or DER; every certificate of a
    PEM bundle). Exit 1 on an error-level finding, 0 otherwise, 2 for a bad policy file or
    unreadable input."""
    from engine.clock import SystemClock
    from engine.pki.credential import load_certificates
    from engine.policy.compliance import check_certificate
    from engine.policy.document import load_policy

    policy = load_policy(args.policy)
    certificates = load_certificates(read_input(args.infile, "certificate"), source=args.infile)
    issuers = load_certs(args.issuer, "issuer certificate")
    crls = load_crls(args.crl) if args.crl else None
    at = args.at or SystemClock().now()
    findings = [
        found
        for certificate in certificates
        for found in check_certificate(certificate, policy, at=at, issuers=issuers, crls=crls)
    ]
    return _report_findings(
        findings, as_json=args.json, empty=f"{args.infile}: no findings (policy {policy.name})"
    )


def cmd_check_message(args: argparse.Namespace) -> int:
    """Print the policy's findings for every layer of a message: signature, digest, signer
    certificate, capabilities, content cipher, key transport. Encrypted layers are opened with
    --cert/--key or --p12 when given. Exit 1 on an error-level finding, 0 otherwise, 2 for a bad
    policy file or unreadable input."""
    from engine.clock import SystemClock
    from engine.policy.compliance import check_message
    from engine.policy.document import load_policy

    policy = load_policy(args.policy)
    anchors = load_certs(args.trust, "trust anchor")
    crls = load_crls(args.crl)
    credentials = []
    if args.cert or args.key or args.p12:
        credentials.append(load_credential(args.cert, args.key, args.p12, args.password_file))
    at = args.at or SystemClock().now()
    findings = check_message(
        read_input(args.infile, "message"),
        policy,
        anchors=anchors,
        at=at,
        crls=crls,
        credentials=credentials,
        sender=args.sender,
        subject=args.infile,
    )
    return _report_findings(
        findings, as_json=args.json, empty=f"{args.infile}: no findings (policy {policy.name})"
    )


def cmd_policies(args: argparse.Namespace) -> int:
    """List the built-in policies, one a line; the default is marked."""
    from engine.policy.document import BUILTIN, DEFAULT_POLICY, builtin_policy

    policies = [builtin_policy(name) for name in BUILTIN]
    if args.json:
        emit_json(
            {
                "default": DEFAULT_POLICY,
                "policies": [{"name": p.name, "description": p.description} for p in policies],
            }
        )
        return EXIT_OK
    width = max(len(p.name) for p in policies)
    for policy in policies:
        mark = " (default)" if policy.name == DEFAULT_POLICY else ""
        print(f"{policy.name:<{width}}  {policy.description}{mark}")
    return EXIT_OK


def add_policy_commands(sub: Any) -> None:
    """``check-cert``, ``check-message`` and ``policies``, in ``--help``'s order."""
    policy_help = "built-in policy (outlook98, rfc8551, strict) or a .toml file (default outlook98)"
    cert = add_command(
        sub, "check-cert", cmd_check_cert, help="judge a certificate against a policy"
    )
    cert.add_argument("infile", metavar="FILE", help="certificate file")
    cert.add_argument("--policy", default="outlook98", metavar="P", help=policy_help)
    cert.add_argument("--at", type=instant, metavar="ISO-8601", help="check time (default now)")
    cert.add_argument(
        "--issuer", action="append", default=[], metavar="CA", help="issuing CA certificate"
    )
    cert.add_argument(
        "--crl", action="append", default=[], metavar="F", help="CRL: revocation is judged"
    )
    cert.add_argument("--json", action="store_true", help="findings as a JSON list")

    msg = add_command(
        sub, "check-message", cmd_check_message, help="judge a message against a policy"
    )
    msg.add_argument("infile", metavar="FILE", help="message (.eml)")
    msg.add_argument(
        "--trust", action="append", default=[], metavar="CA", help="trust anchor (repeatable)"
    )
    msg.add_argument("--policy", default="outlook98", metavar="P", help=policy_help)
    msg.add_argument("--at", type=instant, metavar="ISO-8601", help="check time (default now)")
    msg.add_argument("--crl", action="append", default=[], metavar="F", help="CRL (repeatable)")
    msg.add_argument("--sender", metavar="ADDR", help="expected sender (default: From:)")
    add_credential_args(msg)
    msg.add_argument("--json", action="store_true", help="findings as a JSON list")

    pol = add_command(sub, "policies", cmd_policies, help="list the built-in policies")
    pol.add_argument("--json", action="store_true", help="machine-readable list")
