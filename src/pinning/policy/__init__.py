"""Policies: pins, host patterns and their lookup, rules, the check, failures and their messages.

``pins`` (:class:`~pinning.Pin`), ``hosts`` (canonical host names, patterns, the lookup index),
``failure`` (:class:`~pinning.PinFailure` and the default reporter), ``policy``
(:class:`~pinning.PinRule`, :class:`~pinning.PinPolicy` and its check), ``loaders`` (where the
loaders of the layer above register).

May import ``pinning.core`` only.
"""
