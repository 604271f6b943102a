"""The core: DER certificate -> SubjectPublicKeyInfo -> SHA-256.

Owns the choice of backend (``backend``: ``PINNING_BACKEND=auto|c|pure``), the cffi binding of the
C core (``cbackend``, over the compiled ``_native``), the pure-Python mirror (``pure``), the
statuses both return (``status``), the checks of certificate arguments (``certinput``), the error
types (``errors``) and the certificate functions of the public API (``api``).

Imports nothing of pinning's other layers (the type of a pin, for annotations only).
"""
