"""The ``pinning`` command: ``main`` (arguments and dispatch), ``pins``, ``check``, ``live``
(probing servers), ``demo`` and ``bench`` (the benchmark harness).

May import every other layer; ``import pinning`` never imports it.
"""
