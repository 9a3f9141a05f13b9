"""Organizations and their users: directory, transport, mail clients, contacts,
prompts, recipient usability and cipher negotiation, and client profiles as data
(``engine/mail/profiles/*.toml``).

Imports the layers below it: the foundation, :mod:`engine.cms`, :mod:`engine.pki`,
:mod:`engine.smime`.
"""
