"""The ``smime-harness`` command line, mirroring ``openssl cms``.

Exit codes: 0 success; 1 a check failed (verification, decryption); 2 usage
errors or unreadable input — always one line on stderr, never a traceback.
Heavy modules are imported inside the command functions so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from engine.cms.algorithms import STRENGTH_ORDER
from engine.errors import InputError, SmimeError

if TYPE_CHECKING:
    from cryptography import x509

    from engine.pki.credential import Credential
    from engine.smime.envelope import DecryptResult
    from engine.smime.verification import VerificationResult

PROG = "smime-harness"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_CIPHERS = tuple(c.value for c in STRENGTH_ORDER)  # every cipher the registry encrypts with
_TRANSPORTS = ("rsaes-pkcs1-v1_5", "rsaes-oaep")
_DIGESTS = ("sha256", "sha384", "sha512")


class UsageError(InputError):
    """A command-line argument is wrong (the CLI's own bad input)."""


# --- input and output -------------------------------------------------------


def read_input(path: str, what: str) -> bytes:
    """Read a file ('-' is standard input); unreadable files are usage errors."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        # Unbuffered readall: half the cost of Path.read_bytes for a mailbox of small files.
        with open(path, "rb", buffering=0) as file:
            return file.readall()
    except IsADirectoryError:
        raise UsageError(f"{what} as a file", "a directory", source=path) from None
    except FileNotFoundError:
        raise UsageError(f"{what} as an existing file", "no such file", source=path) from None
    except OSError as exc:
        raise UsageError(f"a readable {what}", exc.strerror or str(exc), source=path) from None


def write_output(path: str | None, data: bytes) -> None:
    """Write all of ``data`` or nothing: a temporary file renamed into place."""
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    import stat

    from engine._internal.files import write_atomically

    try:
        target = os.stat(path)  # following links: what the user named
    except OSError:
        target = None
    try:
        if target is not None and (stat.S_ISCHR(target.st_mode) or stat.S_ISFIFO(target.st_mode)):
            # A device or pipe the user named (/dev/null, /dev/stdout, a FIFO): write into it.
            # Renaming a temporary file over it would replace the device node itself.
            with open(path, "wb") as handle:
                handle.write(data)
            return
        write_atomically(Path(path), data)
    except OSError as exc:
        raise UsageError("a writable output file", exc.strerror or str(exc), source=path) from None


def read_password(path: str | None) -> bytes | None:
    """The first line of the password file, without its line ending."""
    if path is None:
        return None
    lines = read_input(path, "password file").splitlines()
    if not lines or not lines[0]:
        raise UsageError("a password on the first line", "an empty password file", source=path)
    return lines[0]


def load_certs(paths: Sequence[str], what: str) -> list[x509.Certificate]:
    from engine.pki.credential import load_certificates

    certs: list[x509.Certificate] = []
    for path in paths:
        certs.extend(load_certificates(read_input(path, what), source=path))
    return certs


def load_credential(
    cert: str | None, key: str | None, p12: str | None, password_file: str | None
) -> Credential:
    """A signer or recipient credential from --cert/--key (PEM, DER or PKCS#12) or --p12."""
    from engine.pki.credential import Credential, load_certificate, load_pkcs12
    from engine.pki.keys import load_private_key

    password = read_password(password_file)
    if p12 is not None:
        if key is not None:
            raise UsageError("either --p12 or --key", "both")
        return load_pkcs12(read_input(p12, "PKCS#12 file"), password, source=p12)
    if key is None:
        raise UsageError("--key with --cert, or --p12", "neither")
    key_bytes = read_input(key, "private key")
    if _looks_like_pkcs12(key_bytes):
        bundle = load_pkcs12(key_bytes, password, source=key)
        if cert is None:
            return bundle
        certificate = load_certificate(read_input(cert, "certificate"), source=cert)
        return Credential(
            certificate=certificate, private_key=bundle.private_key, chain=bundle.chain
        )
    if cert is None:
        raise UsageError("--cert with a PEM or DER --key", "no --cert")
    certificate = load_certificate(read_input(cert, "certificate"), source=cert)
    private_key = load_private_key(key_bytes, password, source=key)
    return Credential(certificate=certificate, private_key=private_key)


def _looks_like_pkcs12(data: bytes) -> bool:
    # A PFX is a DER SEQUENCE whose first element is INTEGER 3 (RFC 7292 §4).
    if data[:1] != b"\x30" or b"-----BEGIN" in data[:64]:
        return False
    from engine.cms.container import is_pfx

    return is_pfx(data)


def emit_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")


# --- commands ---------------------------------------------------------------


def cmd_sign(args: argparse.Namespace) -> int:
    from engine.clock import FixedClock, SystemClock
    from engine.cms.algorithms import DigestAlgorithm, SignatureScheme
    from engine.smime.signing import sign

    credential = load_credential(args.cert, args.key, args.p12, args.password_file)
    chain = tuple(load_certs(args.chain, "certificate chain")) or credential.chain
    signer = type(credential)(
        certificate=credential.certificate, private_key=credential.private_key, chain=chain
    )
    encryption_cert = None
    if args.encryption_cert:
        from engine.pki.credential import load_certificate

        encryption_cert = load_certificate(
            read_input(args.encryption_cert, "encryption certificate"), source=args.encryption_cert
        )
    clock = FixedClock(args.at) if args.at else SystemClock()
    scheme = SignatureScheme.RSA_PSS if args.pss else None
    signed = sign(
        read_input(args.infile, "message"),
        signer,
        clock=clock,
        digest=DigestAlgorithm(args.digest),
        scheme=scheme,
        opaque=args.opaque,
        encryption_certificate=encryption_cert,
    )
    write_output(args.out, signed)
    return EXIT_OK


def cmd_encrypt(args: argparse.Namespace) -> int:
    from engine.cms.algorithms import ContentCipher, KeyTransport, RecipientIdentifier
    from engine.smime.envelope import encrypt

    recipients = load_certs(args.recipient, "recipient certificate")
    encrypted = encrypt(
        read_input(args.infile, "message"),
        recipients,
        cipher=ContentCipher.parse(args.cipher),
        key_transport=KeyTransport.parse(args.key_transport),
        identifier=RecipientIdentifier(args.recipient_id),
    )
    write_output(args.out, encrypted)
    return EXIT_OK


class _Outcome(NamedTuple):
    """One input's answer in a batch: computed in a worker, printed by the parent."""

    code: int  # EXIT_OK, EXIT_FAILED, or EXIT_USAGE for an unreadable or malformed input
    line: str | None  # the text-mode line on standard output
    view: dict[str, Any]  # the --json entry
    error: str | None  # the one-line error on standard error
    warning: str | None = None  # a one-line warning on standard error (the input still counts)


def _error_outcome(path: str, exc: SmimeError) -> _Outcome:
    """A bad input of a batch: one line naming the file; the other inputs still count."""
    text = exc.diagnostics()
    if not (isinstance(exc, InputError) and exc.source == path):
        text = f"{path}: {text}"
    return _Outcome(EXIT_USAGE, None, {"file": path, "status": "error", "error": text}, text)


def _unexpected_outcome(path: str, exc: Exception) -> _Outcome:
    """An exception that is no SmimeError while checking one input of a batch: a bug in the
    engine (malformed input is an InputError). Reported as one line for that input, so the
    other inputs are still checked; SMIME_HARNESS_DEBUG=1 raises it with its traceback."""
    if os.environ.get("SMIME_HARNESS_DEBUG"):
        raise exc
    detail = " ".join(str(exc).split())
    text = f"{path}: unexpected {type(exc).__name__}: {detail} (a bug: please report it)"
    return _Outcome(EXIT_USAGE, None, {"file": path, "status": "error", "error": text}, text)


def _report_batch(outcomes: Sequence[_Outcome], *, as_json: bool, listed: bool) -> int:
    """Errors to standard error, then the results in input order, each in one write.

    ``listed``: JSON is ``{"results": [...]}``, else the one input's view alone
    (none when that input is bad: its error says it all)."""
    errors = [f"{PROG}: error: {o.error}\n" for o in outcomes if o.error is not None]
    errors += [f"{PROG}: warning: {o.warning}\n" for o in outcomes if o.warning is not None]
    if errors:
        sys.stderr.write("".join(errors))
    if as_json:
        if listed:
            emit_json({"results": [o.view for o in outcomes]})
        elif outcomes[0].error is None:
            emit_json(outcomes[0].view)
    else:
        sys.stdout.write("".join(f"{o.line}\n" for o in outcomes if o.line is not None))
    return max((o.code for o in outcomes), default=EXIT_OK)


def cmd_verify(args: argparse.Namespace) -> int:
    from engine.cli.pool import map_in_order
    from engine.clock import SystemClock
    from engine.pki.credential import load_crls
    from engine.smime.verification import Verifier

    if args.content_out is not None and len(args.infile) != 1:
        raise UsageError("one input with --content-out", f"{len(args.infile)} inputs")
    anchors = load_certs(args.trust, "trust anchor")
    crls = [crl for path in args.crl for crl in load_crls(read_input(path, "CRL"), source=path)]
    verifier = Verifier(
        anchors=anchors, at=args.at or SystemClock().now(), crls=crls, sender=args.sender
    )
    if args.content_out is not None:
        result = verifier.verify(read_input(args.infile[0], "message"))
        write_output(args.content_out, result.content)
        outcome = _verified(args.infile[0], result, args.json)
        return _report_batch([outcome], as_json=args.json, listed=False)

    def check(path: str) -> _Outcome:
        try:
            result = verifier.verify(read_input(path, "message"))
        except SmimeError as exc:
            return _error_outcome(path, exc)
        except Exception as exc:  # a bug, for this input alone: the others are still checked
            return _unexpected_outcome(path, exc)
        return _verified(path, result, args.json)

    # Standard input is this process's: a worker would read an empty one.
    jobs = 1 if "-" in args.infile else args.jobs
    outcomes = map_in_order(check, args.infile, jobs=jobs)
    return _report_batch(outcomes, as_json=args.json, listed=len(outcomes) > 1)


def _verified(path: str, result: VerificationResult, as_json: bool) -> _Outcome:
    from engine.smime.verification import VerificationStatus

    code = EXIT_OK if result.status is VerificationStatus.VALID else EXIT_FAILED
    if as_json:
        from engine.smime.describe import verification_view

        return _Outcome(code, None, {"file": path, **verification_view(result)}, None)
    line = f"{path}: {result.status.value}"
    if result.reasons:
        line += " (" + "; ".join(result.reasons) + ")"
    return _Outcome(code, line, {}, None)


def _decryptor(args: argparse.Namespace) -> Callable[[bytes], DecryptResult]:
    """Decryption with the command's key. A well-formed key of a type the engine cannot
    decrypt with (X25519, Ed25519, DSA) is not a recipient of any message (exit 1), not
    unreadable input: each input is still read and checked to be an encrypted message."""
    from engine.errors import UnsupportedKeyError
    from engine.smime.envelope import decrypt, refuse_unusable_key

    try:
        credential = load_credential(args.cert, args.key, args.p12, args.password_file)
    except UnsupportedKeyError as exc:
        key_type = exc.key_type

        def refuse(data: bytes) -> DecryptResult:
            refuse_unusable_key(data, key_type)

        return refuse
    return lambda data: decrypt(data, credential)


def cmd_decrypt(args: argparse.Namespace) -> int:
    # What is read of decrypted content lives in this command's own memo tables: nothing
    # decrypted enters a module-level cache.
    from engine._internal.memo import owned

    with owned():
        return _decrypt(args)


def _decrypt(args: argparse.Namespace) -> int:
    from engine.errors import DecryptionError, NotARecipientError
    from engine.smime.describe import decryption_view
    from engine.smime.envelope import unauthenticated_warning

    decrypt = _decryptor(args)
    if len(args.infile) > 1 or args.out_dir is not None:
        return _decrypt_many(args, decrypt)
    data = read_input(args.infile[0], "message")
    try:
        result = decrypt(data)
    except (NotARecipientError, DecryptionError) as exc:
        status = "not-a-recipient" if isinstance(exc, NotARecipientError) else "failed"
        if args.json:
            emit_json({"status": status, "reason": exc.diagnostics()})
        print(f"{PROG}: {exc.diagnostics()}", file=sys.stderr)
        return EXIT_FAILED
    if args.out is not None or not args.json:
        write_output(args.out, result.content)
    warning = unauthenticated_warning(result)
    if warning is not None:
        print(f"{PROG}: warning: {args.infile[0]}: {warning}", file=sys.stderr)
    if args.json:
        emit_json(decryption_view(result))
    return EXIT_OK


def _decrypt_many(args: argparse.Namespace, decrypt: Callable[[bytes], DecryptResult]) -> int:
    """Decrypt every input with one credential into --out-dir, under the input's name."""
    from engine._internal.memo import owned
    from engine.cli.pool import map_in_order
    from engine.errors import DecryptionError, NotARecipientError
    from engine.smime.describe import decryption_view
    from engine.smime.envelope import unauthenticated_warning

    if args.out_dir is None:
        raise UsageError("--out-dir DIR with several inputs", f"{len(args.infile)} inputs")
    if args.out is not None:
        raise UsageError("either --out (one input) or --out-dir", "both")
    folder = Path(args.out_dir)
    if not folder.is_dir():
        raise UsageError("an existing folder for --out-dir", "no such folder", source=str(folder))
    names = [Path(path).name for path in args.infile]
    if "-" in args.infile or len(set(names)) != len(names):
        raise UsageError("inputs with distinct file names for --out-dir", "a repeated name")

    def open_one(path: str) -> _Outcome:
        with owned():  # each input its own tables, in whichever process decrypts it
            out = str(folder / Path(path).name)
            try:
                result = decrypt(read_input(path, "message"))
                write_output(out, result.content)
            except (NotARecipientError, DecryptionError) as exc:
                status = "not-a-recipient" if isinstance(exc, NotARecipientError) else "failed"
                view = {"file": path, "status": status, "reason": exc.diagnostics()}
                return _Outcome(EXIT_FAILED, f"{path}: {status} ({view['reason']})", view, None)
            except SmimeError as exc:
                return _error_outcome(path, exc)
            except Exception as exc:  # a bug, for this input alone: the others are still decrypted
                return _unexpected_outcome(path, exc)
            view = {"file": path, "out": out, **decryption_view(result)}
            warning = unauthenticated_warning(result)
            line = f"{path}: {view['status']} -> {out}"
            warned = None if warning is None else f"{path}: {warning}"
            return _Outcome(EXIT_OK, line, view, None, warned)

    outcomes = map_in_order(open_one, args.infile, jobs=args.jobs)
    return _report_batch(outcomes, as_json=args.json, listed=True)


def cmd_inspect(args: argparse.Namespace) -> int:
    from engine.smime.inspection import inspect

    layers = inspect(read_input(args.infile, "message"))
    if args.json:
        emit_json({"file": args.infile, "layers": [layer.view() for layer in layers]})
    else:
        for depth, layer in enumerate(layers):
            print("  " * depth + layer.summary())
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from engine.cli.demo import run_demo

    return run_demo(Path(args.out), say=print)


def cmd_run(args: argparse.Namespace) -> int:
    from engine.clock import SystemClock
    from engine.harness.runner import run_features

    report = Path(args.report)
    result = run_features(
        [Path(p) for p in args.paths],
        keyword=args.keyword,
        markers=args.markers,
        artifacts=Path(args.artifacts) if args.artifacts else report / "artifacts",
        results=Path(args.results) if args.results else report / "summary.json",
        report=report,
        clock=SystemClock(),
        quiet=args.quiet,
        workers=args.workers,
        shard=args.shard,
        allow_files=[Path(folder).resolve() for folder in args.allow_files],
    )
    return result.exit_code


def cmd_report_merge(args: argparse.Namespace) -> int:
    from engine.harness.runner import summarize_records
    from engine.report.merge import merge_reports
    from engine.report.model import ScenarioStatus

    out = Path(args.report)
    merged = merge_reports([Path(folder) for folder in args.folders], out)
    summarize_records(merged.scenarios, duration=merged.duration, say=print)
    runs = len(args.folders)
    print(f"report: {out / 'index.html'} (merged from {runs} run{'s' * (runs != 1)})")
    failed = any(s.status is ScenarioStatus.FAILED for s in merged.scenarios)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_steps(args: argparse.Namespace) -> int:
    from engine.harness.vocabulary import render_json, render_text

    sys.stdout.write(render_json() if args.json else render_text())
    return EXIT_OK


def _load_policy_arg(reference: str) -> Any:
    from engine.policy.document import load_policy

    return load_policy(reference)


def _report_findings(findings: Sequence[Any], *, as_json: bool, empty: str) -> int:
    """Print findings (one a line, or a JSON list); exit 1 on an error-level finding."""
    from engine.findings import Severity

    if as_json:
        sys.stdout.write(json.dumps([f.view() for f in findings], indent=2) + "\n")
    elif findings:
        for found in findings:
            print(found.line())
    else:
        print(empty)
    return EXIT_FAILED if any(f.severity is Severity.ERROR for f in findings) else EXIT_OK


def cmd_check_cert(args: argparse.Namespace) -> int:
    from engine.clock import SystemClock
    from engine.pki.credential import load_certificates, load_crls
    from engine.policy.compliance import check_certificate

    policy = _load_policy_arg(args.policy)
    certificates = load_certificates(read_input(args.infile, "certificate"), source=args.infile)
    issuers = load_certs(args.issuer, "issuer certificate")
    crls = [crl for path in args.crl for crl in load_crls(read_input(path, "CRL"), source=path)]
    at = args.at or SystemClock().now()
    findings = [
        found
        for certificate in certificates
        for found in check_certificate(
            certificate, policy, at=at, issuers=issuers, crls=crls if args.crl else None
        )
    ]
    return _report_findings(
        findings, as_json=args.json, empty=f"{args.infile}: no findings (policy {policy.name})"
    )


def cmd_check_message(args: argparse.Namespace) -> int:
    from engine.clock import SystemClock
    from engine.pki.credential import load_crls
    from engine.policy.compliance import check_message

    policy = _load_policy_arg(args.policy)
    anchors = load_certs(args.trust, "trust anchor")
    crls = [crl for path in args.crl for crl in load_crls(read_input(path, "CRL"), source=path)]
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


# --- parser -----------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _instant(text: str) -> Any:
    from engine.clock import parse_instant

    try:
        return parse_instant(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _shard(text: str) -> Any:
    from engine.harness.runner import Shard

    try:
        return Shard.parse(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _jobs(text: str) -> int:
    from engine.cli.pool import parse_jobs

    try:
        return parse_jobs(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_jobs_arg(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help=f"{what} in N worker processes ('auto': one per CPU; default 1, this process); "
        "the output is the same, in input order",
    )


def _add_credential_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cert", metavar="C", help="certificate (PEM or DER)")
    parser.add_argument(
        "--key", metavar="K", help="private key: PEM (plain or encrypted), DER or PKCS#12"
    )
    parser.add_argument("--p12", metavar="F", help="PKCS#12 file with certificate and key")
    parser.add_argument(
        "--password-file", metavar="F", help="file whose first line is the key's password"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Prove S/MIME encrypted mail works between organizations. "
        "Commands mirror `openssl cms`; IN is an RFC 5322 message (.eml) or a bare MIME entity.",
        epilog="Exit codes: 0 ok, 1 a check failed, 2 usage error or unreadable input.",
    )
    from engine import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    demo = sub.add_parser(
        "demo",
        help="walk through the article: two organizations, signed then encrypted mail",
        description="Run the article's walkthrough on the built-in default (Contoso and Fabrikam) "
        "and write its certificates and messages to a folder.",
    )
    demo.add_argument(
        "--out", default="reports/demo", help="artifact folder (default reports/demo)"
    )
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser(
        "run",
        help="run Gherkin feature files with the built-in steps",
        description="Run the scenarios of .feature files (the built-in features by default) "
        "with the shipped step library. Exit 0 when every scenario passed, 1 when one failed, "
        "2 for a missing path, a file that does not parse or holds a scenario that checks "
        "nothing (no Then step, a step lost to a misspelled keyword), or no scenario selected. "
        "Files named in steps must be inside the feature file's folder tree (see --allow-files).",
    )
    run.add_argument("paths", nargs="*", metavar="PATH", help=".feature files or folders of them")
    run.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="only scenarios whose names match (pytest -k)"
    )
    run.add_argument(
        "-m", dest="markers", metavar="MARKEXPR", help="only scenarios whose tags match, e.g. KB-04"
    )
    run.add_argument(
        "--report",
        default="reports",
        metavar="DIR",
        help="report folder: index.html, results.json (Cucumber JSON), junit.xml, "
        "summary.json and artifacts/ (default reports)",
    )
    run.add_argument(
        "--artifacts",
        default=None,
        metavar="DIR",
        help="each scenario's messages (.eml) go to DIR/<scenario>/ (default REPORT/artifacts)",
    )
    run.add_argument(
        "--results",
        default=None,
        metavar="FILE",
        help="a short machine-readable summary of outcomes (default REPORT/summary.json)",
    )
    run.add_argument(
        "--allow-files",
        action="append",
        default=[],
        metavar="DIR",
        help="steps may also name files under DIR (repeatable); without it a file named in "
        "a step must be inside the feature file's folder tree",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="less progress output")
    run.add_argument(
        "-n",
        dest="workers",
        metavar="N",
        help="spread scenarios over N processes ('auto': one per CPU) with pytest-xdist; "
        "one report for the whole run",
    )
    run.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="run only the K-th of N deterministic slices of the selected scenarios "
        "(one CI job per slice; join their reports with `report merge`)",
    )
    run.set_defaults(func=cmd_run)

    report = sub.add_parser(
        "report",
        help="work with report folders (merge the shards of a CI job matrix)",
        description="Work with the report folders `smime-harness run` writes.",
    )
    report_sub = report.add_subparsers(
        dest="report_command", metavar="ACTION", parser_class=_Parser
    )
    report_sub.required = True
    merge = report_sub.add_parser(
        "merge",
        help="one report from several runs' report folders",
        description="Build one report (index.html, results.json, junit.xml, summary.json, "
        "records.json and the messages) from the report folders of several runs, e.g. the "
        "shards of `run --shard K/N`: every shard 1/N to N/N must be there once, and all "
        "must have run the same feature files. Exit 0 when every scenario passed, 1 when one "
        "failed, 2 for a folder that is no report or shards that do not add up.",
    )
    merge.add_argument("folders", nargs="+", metavar="DIR", help="report folders of the runs")
    merge.add_argument(
        "--report", required=True, metavar="OUT", help="folder for the merged report"
    )
    merge.set_defaults(func=cmd_report_merge)

    steps = sub.add_parser(
        "steps",
        help="list the step sentences a feature file can use",
        description="Print every step sentence of the vocabulary with an example.",
    )
    steps.add_argument("--json", action="store_true", help="machine-readable list")
    steps.set_defaults(func=cmd_steps)

    sign = sub.add_parser("sign", help="sign a message", description="Sign a message (RFC 8551).")
    _add_credential_args(sign)
    sign.add_argument(
        "--chain", action="append", default=[], metavar="F", help="CA certificates to include"
    )
    sign.add_argument(
        "--opaque",
        action="store_true",
        help="application/pkcs7-mime signed-data instead of multipart/signed",
    )
    sign.add_argument(
        "--digest", choices=_DIGESTS, default="sha256", help="digest (default sha256)"
    )
    sign.add_argument(
        "--pss", action="store_true", help="RSASSA-PSS instead of PKCS#1 v1.5 for RSA keys"
    )
    sign.add_argument(
        "--encryption-cert",
        metavar="F",
        help="separate encryption certificate to announce and include",
    )
    sign.add_argument("--at", type=_instant, metavar="ISO-8601", help="signing time (default now)")
    sign.add_argument(
        "--in", dest="infile", required=True, metavar="IN", help="message to sign ('-' for stdin)"
    )
    sign.add_argument("--out", required=True, metavar="OUT", help="signed message ('-' for stdout)")
    sign.set_defaults(func=cmd_sign)

    enc = sub.add_parser(
        "encrypt",
        help="encrypt a message",
        description="Encrypt a message to one or more recipients (RFC 5652, 5083).",
    )
    enc.add_argument(
        "--recipient",
        action="append",
        required=True,
        metavar="CERT",
        help="recipient certificate (repeatable)",
    )
    enc.add_argument(
        "--cipher",
        choices=_CIPHERS,
        default="aes-256-cbc",
        help="content encryption (default aes-256-cbc)",
    )
    enc.add_argument(
        "--key-transport",
        choices=_TRANSPORTS,
        default="rsaes-pkcs1-v1_5",
        help="RSA key transport (default rsaes-pkcs1-v1_5); EC recipients always use ECDH",
    )
    enc.add_argument(
        "--recipient-id",
        choices=("issuer-and-serial", "subject-key-identifier"),
        default="issuer-and-serial",
        help="how recipients are identified (default issuer-and-serial)",
    )
    enc.add_argument(
        "--in",
        dest="infile",
        required=True,
        metavar="IN",
        help="message to encrypt ('-' for stdin)",
    )
    enc.add_argument(
        "--out", required=True, metavar="OUT", help="encrypted message ('-' for stdout)"
    )
    enc.set_defaults(func=cmd_encrypt)

    ver = sub.add_parser(
        "verify",
        help="verify signed messages",
        description="Verify signed messages: intact, trusted and address match. "
        "Exit 0 when all hold for every input, 1 otherwise, 2 when an input is unreadable "
        "or not a signed message (one line on standard error for each; the other inputs "
        "are still checked).",
    )
    ver.add_argument(
        "--trust",
        action="append",
        required=True,
        metavar="CA",
        help="trust anchor certificate(s) (repeatable)",
    )
    ver.add_argument(
        "--crl", action="append", default=[], metavar="F", help="CRL (PEM or DER, repeatable)"
    )
    ver.add_argument(
        "--at", type=_instant, metavar="ISO-8601", help="validation time (default now)"
    )
    ver.add_argument(
        "--sender", metavar="ADDR", help="expected sender address (default: the From: header)"
    )
    ver.add_argument("--content-out", metavar="F", help="write the signed content here")
    ver.add_argument("--json", action="store_true", help="machine-readable result")
    _add_jobs_arg(ver, "verify the inputs")
    ver.add_argument("infile", nargs="+", metavar="IN", help="signed message(s)")
    ver.set_defaults(func=cmd_verify)

    dec = sub.add_parser(
        "decrypt",
        help="decrypt messages",
        description="Decrypt one message, or many into --out-dir in one command. "
        "Exit 0 when every input was decrypted, 1 when the key is not a recipient of one "
        "or its decryption fails, 2 when an input is unreadable or malformed (with "
        "--out-dir: one line on standard error for each; the other inputs still count).",
    )
    _add_credential_args(dec)
    dec.add_argument("infile", nargs="+", metavar="IN", help="encrypted message(s) ('-' for stdin)")
    dec.add_argument(
        "--out", metavar="F", help="decrypted content of one input (default stdout unless --json)"
    )
    dec.add_argument(
        "--out-dir",
        metavar="DIR",
        help="with several inputs: write each decrypted content to DIR under its input's name",
    )
    dec.add_argument("--json", action="store_true", help="machine-readable result")
    _add_jobs_arg(dec, "with --out-dir: decrypt the inputs")
    dec.set_defaults(func=cmd_decrypt)

    ins = sub.add_parser(
        "inspect",
        help="show every layer of a message",
        description="Show every layer, algorithm, certificate and attribute of a message, "
        "without keys.",
    )
    ins.add_argument("infile", metavar="IN", help="message ('-' for stdin)")
    ins.add_argument("--json", action="store_true", help="machine-readable result")
    ins.set_defaults(func=cmd_inspect)
    _add_policy_commands(sub)
    return parser


def _add_policy_commands(sub: Any) -> None:
    policy_help = "built-in policy (outlook98, rfc8551, strict) or a .toml file (default outlook98)"
    cert = sub.add_parser(
        "check-cert",
        help="judge a certificate against a policy",
        description="Print the policy's findings for an end-entity certificate (PEM or DER; "
        "every certificate of a PEM bundle). Exit 1 on an error-level finding, 0 otherwise, "
        "2 for a bad policy file or unreadable input.",
    )
    cert.add_argument("infile", metavar="FILE", help="certificate file")
    cert.add_argument("--policy", default="outlook98", metavar="P", help=policy_help)
    cert.add_argument("--at", type=_instant, metavar="ISO-8601", help="check time (default now)")
    cert.add_argument(
        "--issuer", action="append", default=[], metavar="CA", help="issuing CA certificate"
    )
    cert.add_argument(
        "--crl", action="append", default=[], metavar="F", help="CRL: revocation is judged"
    )
    cert.add_argument("--json", action="store_true", help="findings as a JSON list")
    cert.set_defaults(func=cmd_check_cert)

    msg = sub.add_parser(
        "check-message",
        help="judge a message against a policy",
        description="Print the policy's findings for every layer of a message: signature, "
        "digest, signer certificate, capabilities, content cipher, key transport. Encrypted "
        "layers are opened with --cert/--key or --p12 when given. Exit 1 on an error-level "
        "finding, 0 otherwise, 2 for a bad policy file or unreadable input.",
    )
    msg.add_argument("infile", metavar="FILE", help="message (.eml)")
    msg.add_argument(
        "--trust", action="append", default=[], metavar="CA", help="trust anchor (repeatable)"
    )
    msg.add_argument("--policy", default="outlook98", metavar="P", help=policy_help)
    msg.add_argument("--at", type=_instant, metavar="ISO-8601", help="check time (default now)")
    msg.add_argument("--crl", action="append", default=[], metavar="F", help="CRL (repeatable)")
    msg.add_argument("--sender", metavar="ADDR", help="expected sender (default: From:)")
    _add_credential_args(msg)
    msg.add_argument("--json", action="store_true", help="findings as a JSON list")
    msg.set_defaults(func=cmd_check_message)

    pol = sub.add_parser(
        "policies",
        help="list the built-in policies",
        description="List the built-in policies, one a line; the default is marked.",
    )
    pol.add_argument("--json", action="store_true", help="machine-readable list")
    pol.set_defaults(func=cmd_policies)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except SmimeError as exc:
        print(f"{PROG}: error: {exc.diagnostics()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        # A bug, not the user's fault; still one line (SMIME_HARNESS_DEBUG=1 shows the traceback).
        if os.environ.get("SMIME_HARNESS_DEBUG"):
            raise
        print(
            f"{PROG}: error: unexpected {type(exc).__name__}: {exc} (a bug: please report it)",
            file=sys.stderr,
        )
        return EXIT_USAGE


def run() -> NoReturn:
    sys.exit(main())
