"""The step vocabulary: business-language Gherkin steps over the engine's model.

This package is the pytest plugin ``smime_harness.steps`` switches on: importing it
declares every step and binds the vocabulary to pytest-bdd. Each step is a thin
adapter: it parses names from the sentence, calls the model through
:class:`~engine.harness.world.World`'s intent-level methods (``world.trust``,
``world.add_contact``, ``world.set_cipher``...), never by setting a world's or a
client's attributes, and checks what a person would check. Steps that read
naturally as both setup and action are registered as Given and When.

The steps, by subject:

- :mod:`.organizations` organizations and enrollment;
- :mod:`.clients` clients, trust, profiles, time;
- :mod:`.sending` sending and answering;
- :mod:`.artifacts` a partner's real credentials and certificate authorities;
- :mod:`.contacts` opening messages and Contacts;
- :mod:`.outcomes` checks: prompts and outcomes;
- :mod:`.reading` checks: reading, signatures, Contacts;
- :mod:`.policy` policy and its findings.

How a step is declared, and how a sentence finds its step, is :mod:`.library`;
what a failing step says is :mod:`.expectation`.
"""

from __future__ import annotations

# Each module declares its steps when imported. The order does not matter: a sentence finds
# its one step, and a pattern that overlaps another is refused whichever comes first.
from engine.harness.steps import (  # noqa: F401
    artifacts,
    clients,
    contacts,
    organizations,
    outcomes,
    policy,
    reading,
    sending,
)
from engine.harness.steps.library import KEYWORDS, STEPS, Vocabulary, definition_of, perform

__all__ = ["STEPS", "definition_of"]

# One pytest-bdd step per keyword, defined here so that its fixture is one of this plugin's.
for _keyword, _decorator in KEYWORDS.items():
    _decorator(Vocabulary(_keyword))(perform)
