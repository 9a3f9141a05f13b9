"""Cryptographic Message Syntax: the only layer that touches asn1crypto.

The algorithm registry (:mod:`engine.cms.algorithms`: every OID the engine names,
with its parameters, key size, AEAD flag, strength rank and ``cryptography``
primitive), SignedData (RFC 5652 §5), EnvelopedData and AuthEnvelopedData
(RFC 5652 §6, RFC 5083), and the few X.509 encodings ``cryptography`` cannot
write. Imports only the foundation (:mod:`engine.errors`, :mod:`engine._internal`).
"""
