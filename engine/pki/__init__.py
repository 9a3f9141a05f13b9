"""An organization's key management: keys, credentials, the certificate authority
(enrollment, tokens, archive), revocation, path validation and the certificate
requirements that trust, recipient usability and compliance share.

Imports the foundation and :mod:`engine.cms` only.
"""
