"""The only place that touches asn1crypto.

Each module here turns untyped asn1crypto structures into the engine's own
typed values and back; nothing outside this package imports asn1crypto.
"""
