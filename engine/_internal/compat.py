"""The import paths of releases before the layer folders keep working.

``engine.trust`` is now ``engine.pki.trust``, ``engine.signing``
``engine.smime.signing`` and so on: a program written against an earlier release
imports the old name and gets the same module object (one set of classes, so an
``isinstance`` check or a ``mock.patch`` through either name sees the other).
A module since split in several (:data:`SPLIT`) is answered by a module of its own
that finds each name in the modules that now hold it, first match wins (or, for a
name since renamed, :data:`RENAMED`).
Nothing inside the package uses these names; ``tests/test_layer_folders.py`` keeps
the tables complete and pointing at modules that exist, and every public name of
each earlier module (``tests/golden/earlier_module_names.json``) answered.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

# old module name -> where it lives now
MOVED: dict[str, str] = {
    "engine.algorithms": "engine.cms.algorithms",
    "engine.asn1": "engine.cms",
    "engine.asn1.certificate": "engine.cms.certificate",
    "engine.asn1.container": "engine.cms.container",
    "engine.asn1.memo": "engine._internal.memo",
    "engine.batch": "engine.cli.pool",
    "engine.client": "engine.mail.client",
    "engine.contacts": "engine.mail.contacts",
    "engine.credential": "engine.pki.credential",
    "engine.demo": "engine.cli.demo",
    "engine.directory": "engine.mail.directory",
    "engine.files": "engine._internal.files",
    "engine.inspection": "engine.smime.inspection",
    "engine.keys": "engine.pki.keys",
    "engine.layers": "engine.smime.opening",
    "engine.lint": "engine.policy.lint",
    "engine.network": "engine.mail.transport",
    "engine.organization": "engine.mail.organization",
    "engine.pki.purpose": "engine.pki.key_usage",
    "engine.profile": "engine.mail.profile",
    "engine.prompt": "engine.mail.prompt",
    "engine.purpose": "engine.pki.key_usage",
    "engine.revocation": "engine.pki.revocation",
    "engine.rules": "engine.policy.rules",
    "engine.sender": "engine.smime.sender",
    "engine.signing": "engine.smime.signing",
    "engine.smbr": "engine.pki.smbr",
    "engine.toml_schema": "engine._internal.toml_schema",
    "engine.trust": "engine.pki.trust",
    "engine.views": "engine.smime.describe",
}

_CMS_SIGNED = (
    "engine.cms.signed",
    "engine.cms.attributes",
    "engine.cms.parameters",
    "engine.cms.identifiers",
    "engine.cms.content_types",
    "engine.cms.codec",
)
_CMS_ENVELOPED = (
    "engine.cms.enveloped",
    "engine.cms.recipients",
    "engine.cms.key_agreement",
    "engine.cms.parameters",
    "engine.cms.identifiers",
    "engine.cms.content_types",
    "engine.cms.codec",
)
_MIME = (
    "engine.smime.entity",
    "engine.smime.canonical",
    "engine.smime.message",
    "engine.smime.pkcs7",
    "engine.smime.multipart",
    "engine.smime.classification",
)

_AUTHORITY = (
    "engine.pki.authority",
    "engine.pki.certificate_spec",
    "engine.pki.issuance",
    "engine.pki.enrollment",
    "engine.pki.revocation",
)
_COMPLIANCE = (
    "engine.policy.compliance",
    "engine.policy.certificate_checks",
    "engine.policy.message_checks",
    "engine.policy.decision_checks",
    "engine.policy.algorithm_checks",
    "engine.pki.requirements",
)
_ENVELOPE = ("engine.smime.encryption", "engine.smime.decryption", "engine.smime.recipient")
_VERIFICATION = (
    "engine.smime.verification",
    "engine.smime.verification_result",
    "engine.smime.signature",
)

# old module name -> the modules that now hold its names, searched in this order
SPLIT: dict[str, tuple[str, ...]] = {
    "engine.asn1.enveloped": _CMS_ENVELOPED,
    "engine.asn1.signed": _CMS_SIGNED,
    "engine.authority": _AUTHORITY,
    "engine.compliance": _COMPLIANCE,
    "engine.envelope": _ENVELOPE,
    "engine.mime": _MIME,
    "engine.smime.envelope": _ENVELOPE,
    "engine.smime.mime": _MIME,
    "engine.usability": ("engine.mail.usability", "engine.mail.negotiation"),
    "engine.verification": _VERIFICATION,
}

# A name a split module held under another name: old module -> {old name: (module, name)}
RENAMED: dict[str, dict[str, tuple[str, str]]] = {
    "engine.asn1.signed": {"OID_RSA_ENCRYPTION": ("engine.cms.algorithms", "RSA_ENCRYPTION")},
}


def _split_module(name: str) -> ModuleType:
    """A module answering each name with the object of the first module in SPLIT[name]
    that holds it."""
    homes = SPLIT[name]
    module = ModuleType(name, f"Moved: its names now live in {', '.join(homes)}.")

    renamed = RENAMED.get(name, {})

    def find(attribute: str) -> object:
        if attribute in renamed:
            home, new_name = renamed[attribute]
            return getattr(importlib.import_module(home), new_name)
        for home in homes:
            found = importlib.import_module(home)
            if hasattr(found, attribute):
                return getattr(found, attribute)
        raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

    module.__getattr__ = find  # type: ignore[method-assign]
    return module


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module name with the module that now holds it."""

    def __init__(self) -> None:
        self._own_specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED and fullname not in SPLIT:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        if spec.name in SPLIT:
            return _split_module(spec.name)
        module = importlib.import_module(MOVED[spec.name])
        self._own_specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        if module.__name__ in SPLIT:
            return
        # The import system stamped the old name's spec on the module it was handed;
        # give the module back its own, so that it stays one module under two names.
        old_name = module.__spec__.name if module.__spec__ else module.__name__
        module.__spec__ = self._own_specs.pop(old_name, module.__spec__)


def install() -> None:
    """Add the finder once, first: it answers only the names in :data:`MOVED`, and must
    answer ``engine.asn1.signed`` before the path finder would load ``cms/signed.py``
    a second time through the old package's ``__path__``."""
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.insert(0, _OldPaths())
