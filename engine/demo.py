"""``smime-harness demo``: the article's walkthrough on the built-in default.

Contoso (UserA) and Fabrikam (UserB) each run their own key management.
UserB sends signed mail, UserA captures UserB's encryption certificate from
it, and encrypted mail flows. Every message is written as a real .eml file
that ``openssl cms`` can read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from engine.algorithms import ContentCipher
from engine.authority import OrgCA
from engine.clock import FixedClock, SystemClock
from engine.credential import certificate_email
from engine.envelope import decrypt, encrypt
from engine.errors import NotARecipientError
from engine.signing import sign
from engine.verification import verify

Say = Callable[[str], object]


def _message(sender: str, recipient: str, subject: str, body: str, clock: FixedClock) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    message.set_content(body)
    return message.as_bytes()


def run_demo(out: Path, *, say: Say) -> int:
    """Run the walkthrough, write artifacts under ``out``; return an exit code."""
    out.mkdir(parents=True, exist_ok=True)
    clock = FixedClock(SystemClock().now())
    summary: dict[str, object] = {}

    say("1. Contoso and Fabrikam each run their own key management (X.509 v3).")
    contoso = OrgCA.create("Contoso", "contoso.example", clock=clock)
    fabrikam = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock)
    user_a = contoso.enroll(
        "usera@contoso.example", contoso.issue_token("usera@contoso.example").secret
    )
    user_b = fabrikam.enroll(
        "userb@fabrikam.example",
        fabrikam.issue_token("userb@fabrikam.example").secret,
        separate_encryption_key=True,
    )
    outsider = fabrikam.enroll(
        "eve@fabrikam.example", fabrikam.issue_token("eve@fabrikam.example").secret
    )
    for label, cert in (
        ("contoso-root", contoso.root),
        ("fabrikam-root", fabrikam.root),
        ("usera", user_a.signing.certificate),
        ("userb-signing", user_b.signing.certificate),
        ("userb-encryption", user_b.encryption.certificate),
    ):
        (out / f"{label}.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    say(f"   UserA enrolled at Contoso: {user_a.signing.certificate.version.name} certificate.")
    say("   UserB enrolled at Fabrikam with separate signing and encryption certificates.")

    say("2. UserB sends a digitally signed message to UserA.")
    plain = _message(
        "userb@fabrikam.example", "usera@contoso.example", "Signed hello", "Hello from B.\n", clock
    )
    signed = sign(
        plain, user_b.signing, clock=clock, encryption_certificate=user_b.encryption.certificate
    )
    (out / "01-signed-userb-to-usera.eml").write_bytes(signed)

    say("3. UserA opens it. Trusting only Contoso, the signature is intact but:")
    first = verify(signed, anchors=[contoso.root], at=clock.now())
    say(f"   status {first.status} (intact={first.intact}, trusted={first.trusted})")
    say("   After UserA's organization decides to trust Fabrikam's authority:")
    second = verify(signed, anchors=[contoso.root, fabrikam.root], at=clock.now())
    say(f"   status {second.status}, address {second.address_match.value}")
    captured = second.encryption_certificate
    if captured is None or second.status != "valid":
        say("   The signed message did not verify; stopping.")
        return 1
    capabilities = ", ".join(c.value for c in second.capabilities)
    say(f"4. UserB's encryption certificate captured ({certificate_email(captured)}); ")
    say(f"   capabilities announced: {capabilities}.")
    summary["captured_encryption_certificate_matches"] = captured == user_b.encryption.certificate

    cipher = second.capabilities[0] if second.capabilities else ContentCipher.AES_256_CBC
    say(f"5. UserA sends signed and encrypted mail to UserB and to herself ({cipher.value}).")
    reply = _message(
        "usera@contoso.example", "userb@fabrikam.example", "Secret", "For B's eyes only.\n", clock
    )
    encrypted = encrypt(
        sign(reply, user_a.signing, clock=clock),
        [captured, user_a.encryption.certificate],
        cipher=cipher,
    )
    (out / "02-encrypted-usera-to-userb.eml").write_bytes(encrypted)

    opened = decrypt(encrypted, user_b.encryption)
    inner = verify(
        opened.content,
        anchors=[fabrikam.root, contoso.root],
        at=clock.now(),
        sender="usera@contoso.example",
    )
    say(
        f"   UserB decrypts ({opened.cipher.value}, {opened.key_transport.value}) "
        f"and the inner signature is {inner.status}."
    )
    own = decrypt(encrypted, user_a.encryption)
    say(f"   UserA can read her sent copy: {own.content == opened.content}.")
    try:
        decrypt(encrypted, outsider.encryption)
        outsider_reads = True
    except NotARecipientError:
        outsider_reads = False
    say(f"   Another Fabrikam user can read it: {outsider_reads}.")

    summary.update(
        signed_status_untrusted=first.status,
        signed_status_trusted=second.status,
        cipher=opened.cipher.value,
        recipient_reads=inner.status == "valid",
        sender_reads_own=own.content == opened.content,
        outsider_reads=outsider_reads,
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    say(f"Artifacts: {out}/ (certificates *.pem, messages *.eml, summary.json)")
    say(
        f"Check with OpenSSL: openssl cms -verify -CAfile {out}/fabrikam-root.pem "
        f"-in {out}/01-signed-userb-to-usera.eml -out /dev/null"
    )
    ok = inner.status == "valid" and not outsider_reads and bool(summary["sender_reads_own"])
    return 0 if ok else 1
