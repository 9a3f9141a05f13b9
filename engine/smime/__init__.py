"""S/MIME messages: MIME entities and canonical form (RFC 8551 §3.1), sign, verify,
encrypt, decrypt, the sender rule, opening nested layers and inspection.

Imports the foundation, :mod:`engine.cms` and :mod:`engine.pki`.
"""
