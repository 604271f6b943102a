"""TLS integration: pinning inside the handshake of ``ssl.SSLContext`` connections.

``context`` (:func:`~pinning.pin_context`, :func:`~pinning.pinned_policy`,
:func:`~pinning.create_default_context`), ``wiring`` (proving a context builds the pinned classes;
truststore's inner context), ``connection`` (the pinned socket and object classes and the check
they run), ``chain`` (reading the verified chain), ``sessions`` (resumption memory), ``hostname``
(name verification when a context's check_hostname was off), ``green`` (gevent, eventlet), and
one module per client adapter: ``requests`` (public as ``pinning.requests``; it imports requests,
so nothing here imports it).

May import ``pinning.sources``, ``pinning.report``, ``pinning.policy`` and ``pinning.core``.
"""
