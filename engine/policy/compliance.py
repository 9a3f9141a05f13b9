"""Judge certificates, messages and send decisions against a policy; findings come out.

The three entry points, one module each: ``check_certificate``
(:mod:`engine.policy.certificate_checks`) looks at one end-entity certificate,
``check_message`` (:mod:`engine.policy.message_checks`) at every layer of a
message it can open, ``check_decision`` (:mod:`engine.policy.decision_checks`)
at a client's decision to encrypt; what they say of algorithms is
:mod:`engine.policy.algorithm_checks`. None of them raise for what they judge:
problems are findings, and a check that crashes becomes an ``smime.internal``
finding. Malformed input is still an :class:`~engine.errors.InputError`.
"""

from __future__ import annotations

from engine.policy.certificate_checks import check_certificate
from engine.policy.decision_checks import check_decision
from engine.policy.message_checks import check_message

__all__ = ["check_certificate", "check_decision", "check_message"]
