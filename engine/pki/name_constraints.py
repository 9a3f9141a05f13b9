"""Email name constraints along a certification path (RFC 5280 §4.2.1.10, RFC 8398 §6).

``cryptography``'s verifier applies a CA's name constraints to subjectAltName
only; these checks apply every CA's rfc822Name constraints to each mailbox of the
certificates below it, the subject's emailAddress and SmtpUTF8Mailbox names
included, as OpenSSL does. Path validation (:mod:`engine.pki.trust`) reports a
violation as its own status.
"""

from __future__ import annotations

from cryptography import x509

from engine.cms.certificate import utf8_string
from engine.pki.credential import common_name

_SMTP_UTF8_MAILBOX = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.9")  # id-on-SmtpUTF8Mailbox (RFC 8398)


def name_constraint_violation(chain: tuple[x509.Certificate, ...]) -> str | None:
    """Why a mailbox on ``chain`` breaks a CA's email name constraints, or None.

    RFC 5280 §4.2.1.10: a constraint on rfc822Name applies to the subjectAltName
    mailboxes and, where the certificate has no such name, to the emailAddress
    attributes of its subject ("MUST be applied"). cryptography's verifier checks the
    subjectAltName only, so a certificate with no SAN and ``emailAddress=`` anything
    passed a CA limited to one domain. Like OpenSSL (``NAME_CONSTRAINTS_check``), the
    subject's emailAddress is checked whether or not a SAN is present: it is an address
    that mail clients show and match. The constraints of every CA on the path apply,
    the anchor's included, to each certificate below it; a self-issued CA certificate
    other than the end entity is exempt (RFC 5280 §6.1.3 (b)). Both permitted and
    excluded subtrees, in the mailbox, host and ".domain" forms.
    """
    try:
        return _first_violation(chain)
    except ValueError as exc:  # an extension cryptography cannot read: no judgement, no trust
        return f"the name constraints on the path cannot be checked: {exc} (RFC 5280 §4.2.1.10)"


def _first_violation(chain: tuple[x509.Certificate, ...]) -> str | None:
    for index, certificate in enumerate(chain[:-1]):
        if index > 0 and certificate.subject == certificate.issuer:
            continue
        mailboxes = _mailboxes(certificate)
        if not mailboxes:
            continue
        for ca in chain[index + 1 :]:
            constraints = _email_constraints(ca)
            if constraints is None:
                continue
            permitted, excluded = constraints
            for where, mailbox in mailboxes:
                who = "the certificate" if index == 0 else f"CA {common_name(certificate)}"
                if permitted is not None and not any(
                    _mailbox_within(mailbox, base) for base in permitted
                ):
                    allowed = ", ".join(permitted)
                    authority = common_name(ca)
                    return (
                        f"{who}'s {where} {mailbox} is outside the email names CA {authority} "
                        f"may vouch for (permitted: {allowed}; RFC 5280 §4.2.1.10)"
                    )
                banned = next((b for b in excluded if _mailbox_within(mailbox, b)), None)
                if banned is not None:
                    return (
                        f"{who}'s {where} {mailbox} is excluded by CA {common_name(ca)}'s name "
                        f"constraint {banned} (RFC 5280 §4.2.1.10)"
                    )
    return None


def _mailboxes(certificate: x509.Certificate) -> list[tuple[str, str]]:
    """(where, mailbox) for every rfc822Name of the SAN and emailAddress of the subject."""
    found: list[tuple[str, str]] = []
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        pass
    else:
        found.extend(
            ("subjectAltName rfc822Name", n) for n in san.get_values_for_type(x509.RFC822Name)
        )
        # RFC 8398 §6: rfc822Name constraints apply to SmtpUTF8Mailbox names too (as
        # OpenSSL does): an internationalized mailbox is no way around a CA's constraints.
        found.extend(
            ("subjectAltName SmtpUTF8Mailbox", utf8_string(n.value, what="an SmtpUTF8Mailbox"))
            for n in san.get_values_for_type(x509.OtherName)
            if n.type_id == _SMTP_UTF8_MAILBOX
        )
    for attribute in certificate.subject.get_attributes_for_oid(x509.NameOID.EMAIL_ADDRESS):
        found.append(("subject emailAddress", str(attribute.value)))
    return found


def _email_constraints(ca: x509.Certificate) -> tuple[list[str] | None, list[str]] | None:
    """A CA's rfc822Name (permitted or None when unrestricted, excluded), or None if none."""
    try:
        constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None
    permitted = [
        n.value for n in constraints.permitted_subtrees or () if isinstance(n, x509.RFC822Name)
    ]
    excluded = [
        n.value for n in constraints.excluded_subtrees or () if isinstance(n, x509.RFC822Name)
    ]
    if not permitted and not excluded:
        return None
    # A permitted list that names no mailboxes leaves mailboxes unrestricted (§4.2.1.10:
    # each name form is constrained only by subtrees of its own form).
    return (permitted or None), excluded


def _mailbox_within(mailbox: str, base: str) -> bool:
    """Does ``mailbox`` fall in the rfc822Name subtree ``base`` (RFC 5280 §4.2.1.10)?

    ``base`` is a mailbox ("root@example.com": that mailbox only), a host
    ("example.com": any mailbox at that host) or a domain (".example.com": any
    mailbox at a host below it, not at the host itself). Host names compare
    case-insensitively, local parts exactly (RFC 5280 §7.5). A value that is not
    local@host matches no subtree, so a permitted list refuses it.
    """
    local, at, host = mailbox.rpartition("@")
    if not at or not local or not host:
        return False
    host = host.casefold()
    if "@" in base:
        base_local, _, base_host = base.rpartition("@")
        return local == base_local and host == base_host.casefold()
    base = base.casefold()
    if base.startswith("."):
        return host.endswith(base) and len(host) > len(base)
    return host == base
