"""The commands on messages, mirroring ``openssl cms``: ``sign`` (RFC 8551), ``encrypt``
(RFC 5652 EnvelopedData, RFC 5083 AuthEnvelopedData), ``verify``, ``decrypt`` and
``inspect``, with their options.

``verify`` and ``decrypt --out-dir`` take many inputs and answer for each
(:mod:`engine.cli.outcome`), over ``--jobs`` worker processes (:mod:`engine.cli.pool`).
The engine is imported inside the command functions, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli.arguments import (
    EXIT_FAILED,
    EXIT_OK,
    PROG,
    UsageError,
    add_command,
    add_credential_args,
    add_jobs_arg,
    instant,
)
from engine.cli.files import (
    emit_json,
    load_certs,
    load_credential,
    load_crls,
    read_input,
    write_output,
)
from engine.cli.outcome import Outcome, error_outcome, report_batch, unexpected_outcome
from engine.cms.algorithms import (
    RSA_KEY_TRANSPORTS,
    SIGNING_DIGESTS,
    STRENGTH_ORDER,
    RecipientIdentifier,
)
from engine.errors import SmimeError

if TYPE_CHECKING:
    from engine.smime.decryption import DecryptResult
    from engine.smime.verification_result import VerificationResult

_CIPHERS = tuple(c.value for c in STRENGTH_ORDER)  # every cipher the registry encrypts with
_TRANSPORTS = tuple(t.value for t in RSA_KEY_TRANSPORTS)
_DIGESTS = tuple(d.value for d in SIGNING_DIGESTS)
_RECIPIENT_IDS = tuple(r.value for r in RecipientIdentifier)


def cmd_sign(args: argparse.Namespace) -> int:
    """Sign a message (RFC 8551)."""
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
    """Encrypt a message to one or more recipients (RFC 5652, 5083)."""
    from engine.cms.algorithms import ContentCipher, KeyTransport, RecipientIdentifier
    from engine.smime.encryption import encrypt

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


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify signed messages: intact, trusted and address match. Exit 0 when all hold for every
    input, 1 otherwise, 2 when an input is unreadable or not a signed message (one line on
    standard error for each; the other inputs are still checked)."""
    from engine.cli.pool import map_in_order
    from engine.clock import SystemClock
    from engine.smime.verification import Verifier

    if args.content_out is not None and len(args.infile) != 1:
        raise UsageError("one input with --content-out", f"{len(args.infile)} inputs")
    anchors = load_certs(args.trust, "trust anchor")
    verifier = Verifier(
        anchors=anchors,
        at=args.at or SystemClock().now(),
        crls=load_crls(args.crl),
        sender=args.sender,
    )
    if args.content_out is not None:
        result = verifier.verify(read_input(args.infile[0], "message"))
        write_output(args.content_out, result.content)
        outcome = _verified(args.infile[0], result, args.json)
        return report_batch([outcome], as_json=args.json, listed=False)

    def check(path: str) -> Outcome:
        try:
            result = verifier.verify(read_input(path, "message"))
        except SmimeError as exc:
            return error_outcome(path, exc)
        except Exception as exc:  # a bug, for this input alone: the others are still checked
            return unexpected_outcome(path, exc)
        return _verified(path, result, args.json)

    # Standard input is this process's: a worker would read an empty one.
    jobs = 1 if "-" in args.infile else args.jobs
    outcomes = map_in_order(check, args.infile, jobs=jobs)
    return report_batch(outcomes, as_json=args.json, listed=len(outcomes) > 1)


def _verified(path: str, result: VerificationResult, as_json: bool) -> Outcome:
    from engine.smime.verification_result import VerificationStatus

    code = EXIT_OK if result.status is VerificationStatus.VALID else EXIT_FAILED
    if as_json:
        from engine.smime.describe import verification_view

        return Outcome(code, None, {"file": path, **verification_view(result)}, None)
    line = f"{path}: {result.status.value}"
    if result.reasons:
        line += " (" + "; ".join(result.reasons) + ")"
    return Outcome(code, line, {}, None)


def _decryptor(args: argparse.Namespace) -> Callable[[bytes], DecryptResult]:
    """Decryption with the command's key. A well-formed key of a type the engine cannot
    decrypt with (X25519, Ed25519, DSA) is not a recipient of any message (exit 1), not
    unreadable input: each input is still read and checked to be an encrypted message."""
    from engine.errors import UnsupportedKeyError
    from engine.smime.decryption import decrypt, refuse_unusable_key

    try:
        credential = load_credential(args.cert, args.key, args.p12, args.password_file)
    except UnsupportedKeyError as exc:
        key_type = exc.key_type

        def refuse(data: bytes) -> DecryptResult:
            refuse_unusable_key(data, key_type)

        return refuse
    return lambda data: decrypt(data, credential)


def cmd_decrypt(args: argparse.Namespace) -> int:
    """Decrypt one message, or many into --out-dir in one command. Exit 0 when every input was
    decrypted, 1 when the key is not a recipient of one or its decryption fails, 2 when an input
    is unreadable or malformed (with --out-dir: one line on standard error for each; the other
    inputs still count)."""
    # What is read of decrypted content lives in this command's own memo tables: nothing
    # decrypted enters a module-level cache.
    from engine._internal.memo import owned

    with owned():
        return _decrypt(args)


def _decrypt(args: argparse.Namespace) -> int:
    from engine.errors import DecryptionError, NotARecipientError
    from engine.smime.decryption import unauthenticated_warning
    from engine.smime.describe import decryption_view

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

    def open_one(path: str) -> Outcome:
        with owned():  # each input its own tables, in whichever process decrypts it
            return _decrypt_one(path, str(folder / Path(path).name), decrypt)

    outcomes = map_in_order(open_one, args.infile, jobs=args.jobs)
    return report_batch(outcomes, as_json=args.json, listed=True)


def _decrypt_one(path: str, out: str, decrypt: Callable[[bytes], DecryptResult]) -> Outcome:
    from engine.errors import DecryptionError, NotARecipientError
    from engine.smime.decryption import unauthenticated_warning
    from engine.smime.describe import decryption_view

    try:
        result = decrypt(read_input(path, "message"))
        write_output(out, result.content)
    except (NotARecipientError, DecryptionError) as exc:
        status = "not-a-recipient" if isinstance(exc, NotARecipientError) else "failed"
        view = {"file": path, "status": status, "reason": exc.diagnostics()}
        return Outcome(EXIT_FAILED, f"{path}: {status} ({view['reason']})", view, None)
    except SmimeError as exc:
        return error_outcome(path, exc)
    except Exception as exc:  # a bug, for this input alone: the others are still decrypted
        return unexpected_outcome(path, exc)
    view = {"file": path, "out": out, **decryption_view(result)}
    warning = unauthenticated_warning(result)
    line = f"{path}: {view['status']} -> {out}"
    warned = None if warning is None else f"{path}: {warning}"
    return Outcome(EXIT_OK, line, view, None, warned)


def cmd_inspect(args: argparse.Namespace) -> int:
    """Show every layer, algorithm, certificate and attribute of a message, without keys."""
    from engine.smime.inspection import inspect

    layers = inspect(read_input(args.infile, "message"))
    if args.json:
        emit_json({"file": args.infile, "layers": [layer.view() for layer in layers]})
    else:
        for depth, layer in enumerate(layers):
            print("  " * depth + layer.summary())
    return EXIT_OK


def add_message_commands(sub: Any) -> None:
    """``sign``, ``encrypt``, ``verify``, ``decrypt`` and ``inspect``, in ``--help``'s order."""
    sign = add_command(sub, "sign", cmd_sign, help="sign a message")
    add_credential_args(sign)
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
    sign.add_argument("--at", type=instant, metavar="ISO-8601", help="signing time (default now)")
    sign.add_argument(
        "--in", dest="infile", required=True, metavar="IN", help="message to sign ('-' for stdin)"
    )
    sign.add_argument("--out", required=True, metavar="OUT", help="signed message ('-' for stdout)")

    enc = add_command(sub, "encrypt", cmd_encrypt, help="encrypt a message")
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
        choices=_RECIPIENT_IDS,
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

    ver = add_command(sub, "verify", cmd_verify, help="verify signed messages")
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
    ver.add_argument("--at", type=instant, metavar="ISO-8601", help="validation time (default now)")
    ver.add_argument(
        "--sender", metavar="ADDR", help="expected sender address (default: the From: header)"
    )
    ver.add_argument("--content-out", metavar="F", help="write the signed content here")
    ver.add_argument("--json", action="store_true", help="machine-readable result")
    add_jobs_arg(ver, "verify the inputs")
    ver.add_argument("infile", nargs="+", metavar="IN", help="signed message(s)")

    dec = add_command(sub, "decrypt", cmd_decrypt, help="decrypt messages")
    add_credential_args(dec)
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
    add_jobs_arg(dec, "with --out-dir: decrypt the inputs")

    ins = add_command(sub, "inspect", cmd_inspect, help="show every layer of a message")
    ins.add_argument("infile", metavar="IN", help="message ('-' for stdin)")
    ins.add_argument("--json", action="store_true", help="machine-readable result")
