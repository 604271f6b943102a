"""Scrapy's pinned context factory: set ``DOWNLOADER_CLIENTCONTEXTFACTORY`` to
``"pinning.twisted.PinnedScrapyContextFactory"``.

Scrapy's own factory verifies no certificate at all by default (``DOWNLOAD_VERIFY_CERTIFICATES``
is off): a pinned crawl verifies the chain against the CAs, the server's name, and the pins,
whatever that setting says. Scrapy makes the factory from its settings (``from_crawler``); this
one reads:

- ``PINNING_POLICY``: a :class:`~pinning.PinPolicy`, or the path of a TOML policy file
  (:meth:`~pinning.PinPolicy.load`). Required.
- ``PINNING_CAFILE``: a file of PEM CA certificates to trust instead of the platform's. Optional.

Scrapy's TLS settings (``DOWNLOADER_CLIENT_TLS_METHOD``, ``..._CIPHERS``, ``DOWNLOAD_TLS_*``) are
not applied: Twisted's defaults are used.
"""

from __future__ import annotations

import os
from typing import Any

from ...core.errors import PolicyError
from ...policy.policy import PinPolicy
from .agent import PinnedPolicyForHTTPS

__all__ = ["PinnedScrapyContextFactory"]


def _settings_policy(value: object) -> PinPolicy:
    """The policy of the ``PINNING_POLICY`` setting: a PinPolicy, or a TOML file's path."""
    if isinstance(value, PinPolicy):
        return value
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return PinPolicy.load(value)
    if value is None:
        raise PolicyError(
            "PinnedScrapyContextFactory needs the PINNING_POLICY setting: a pinning.PinPolicy, "
            "or the path of a TOML policy file"
        )
    raise PolicyError(
        "the PINNING_POLICY setting must be a pinning.PinPolicy or the path of a TOML policy "
        f"file, not {type(value).__name__}"
    )


def _settings_cafile(value: object) -> str | os.PathLike[str] | None:
    """The ``PINNING_CAFILE`` setting: unset (None or empty), or a path."""
    if value is None or value == "":
        return None
    if isinstance(value, (str, os.PathLike)):
        return value
    raise PolicyError(
        f"the PINNING_CAFILE setting must be the path of a PEM file, not {type(value).__name__}"
    )


class PinnedScrapyContextFactory(PinnedPolicyForHTTPS):
    """A pinned ``IPolicyForHTTPS`` that Scrapy makes from its settings (see the module).

    It can also be made directly, as :class:`PinnedPolicyForHTTPS`.
    """

    @classmethod
    def from_settings(cls, settings: Any, *args: Any, **kwargs: Any) -> PinnedScrapyContextFactory:
        """Make the factory from Scrapy's settings (``PINNING_POLICY``, ``PINNING_CAFILE``).

        The other arguments Scrapy passes (``method``, ``tls_verbose_logging``, ``tls_ciphers``)
        are ignored.

        Raises:
            PolicyError: ``PINNING_POLICY`` is missing or is not a policy or a policy file, or
                the file is not a valid policy; ``PINNING_CAFILE`` is set to something other
                than a path.
            ValueError: ``PINNING_CAFILE`` holds no readable PEM certificate.
            OSError: A file cannot be read.
        """
        policy = _settings_policy(settings.get("PINNING_POLICY"))
        cafile = _settings_cafile(settings.get("PINNING_CAFILE"))
        return cls(policy, cafile=cafile)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PinnedScrapyContextFactory:
        """Make the factory from the crawler's settings, as :meth:`from_settings`."""
        return cls.from_settings(crawler.settings)
