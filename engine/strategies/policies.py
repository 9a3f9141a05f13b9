"""Organization policies (:class:`engine.policy.document.Policy`), generated as TOML documents and
read through the policy loader, so every generated policy is one a file could state.

The built-in policies come first; then any consistent combination: CBC allowed
only with an ``allow``/``warn`` verdict on unauthenticated encryption, the
preferred cipher among the allowed ones and never 3DES, ``email_protection_only``
only with ``require_email_protection``, and the boundary values of each range.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from engine.cms.algorithms import SIGNING_DIGESTS, ContentCipher, KeyTransport
from engine.mail.profile import PROFILES, Fallback
from engine.policy.document import (
    BUILTIN,
    CURVES,
    Policy,
    Verdict,
    builtin_policy,
    policy_from_text,
)
from engine.strategies.checks import check_bool

__all__ = ["policies", "policy_documents"]

_VERDICTS = tuple(v.value for v in Verdict)


def _unique(values: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), unique=True, min_size=1)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)  # a TOML basic string for the plain text used here


def _toml(document: dict[str, Any]) -> str:
    lines = [f"{k} = {_toml_value(v)}" for k, v in document.items() if not isinstance(v, dict)]
    for table, values in document.items():
        if isinstance(values, dict):
            lines.append(f"\n[{table}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


@st.composite
def _documents(draw: st.DrawFn) -> str:
    ciphers = draw(
        _unique(tuple(c.value for c in ContentCipher)).filter(
            lambda chosen: any(not ContentCipher(c).legacy for c in chosen)
        )
    )
    preferred = draw(st.sampled_from([c for c in ciphers if not ContentCipher(c).legacy]))
    has_cbc = any(
        not ContentCipher(c).authenticated and not ContentCipher(c).legacy for c in ciphers
    )
    unauthenticated = draw(st.sampled_from(("allow", "warn") if has_cbc else _VERDICTS))
    require_email = draw(st.booleans())
    document = {
        "name": draw(st.sampled_from(["generated", "x", "Policy with spaces"])),
        "algorithms": {
            "content_encryption": ciphers,
            "preferred_content_encryption": preferred,
            "unauthenticated_encryption": unauthenticated,
            "key_transport": draw(_unique(tuple(t.value for t in KeyTransport))),
            "signature_hashes": draw(_unique(tuple(d.value for d in SIGNING_DIGESTS))),
            "sha1": draw(st.sampled_from(_VERDICTS)),
        },
        "keys": {
            "min_rsa_bits": draw(st.sampled_from([1024, 2048, 3072, 4096, 16384])),
            "curves": draw(_unique(CURVES)),
        },
        "certificates": {
            "require_v3": draw(st.booleans()),
            "require_rfc822_name": draw(st.booleans()),
            "require_key_usage": draw(st.booleans()),
            "require_email_protection": require_email,
            "email_protection_only": require_email and draw(st.booleans()),
            "max_validity_days": draw(st.sampled_from([None, 1, 398, 825, 3650])),
        },
        "revocation": {"check": draw(st.booleans())},
        "client": {
            "profile": draw(st.sampled_from(sorted(PROFILES))),
            "processing_delay_minutes": draw(st.sampled_from([0, 1, 5, 60, 10080])),
            "unenrolled_recipients": draw(st.sampled_from([f.value for f in Fallback])),
            "trust_on_first_use": draw(st.booleans()),
        },
    }
    return _toml(document)


def policy_documents() -> st.SearchStrategy[str]:
    """Valid policy files as TOML text (the generated ones; see :func:`policies`)."""
    return _documents()


def policies(*, builtins: bool = True) -> st.SearchStrategy[Policy]:
    """Policies: the built-in ones first (with ``builtins``), then generated documents."""
    builtins = check_bool("builtins", builtins)
    generated = _documents().map(lambda text: policy_from_text(text, file="generated"))
    if not builtins:
        return generated
    return st.one_of(st.sampled_from(BUILTIN).map(builtin_policy), generated)
