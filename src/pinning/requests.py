"""Pinning for requests: :class:`PinningAdapter` and :func:`pinned_session`.

requests takes no SSL context of its own, so a transport adapter hands urllib3 a pinned one, both
for direct connections (``init_poolmanager``) and for connections through a proxy
(``proxy_manager_for``: ``init_poolmanager`` alone does not reach them).

The adapter's context is the whole trust store. requests would otherwise load certifi's bundle
(``verify=True``), or the bundle that ``verify="path"``, ``REQUESTS_CA_BUNDLE`` or
``CURL_CA_BUNDLE`` name, into that shared context on every new connection; the adapter loads
neither: give the CAs to :func:`pinned_session` or build the context yourself.

urllib3 sets the context's ``verify_mode`` from ``cert_reqs`` and requests always asks for
``CERT_REQUIRED`` unless ``verify=False``, so pin-only trust (``CERT_NONE``) cannot go through
requests or urllib3: the adapter refuses a pin-only context and ``verify=False``.

requests is an optional dependency: ``pip install pinning[requests]``.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ._context import create_default_context, pin_context, pinned_policy
from ._policy import PinPolicy

__all__ = ["PinningAdapter", "pinned_session"]

_NO_PIN_ONLY = (
    "requests and urllib3 force CERT_REQUIRED, so pin-only trust (CERT_NONE) cannot go through "
    "them; use http.client, urllib.request, httpx or aiohttp with a pin-only context instead"
)


class PinningAdapter(HTTPAdapter):
    """A requests transport adapter whose TLS connections are pinned.

    Mount it for ``https://``: ``session.mount("https://", PinningAdapter(policy))``.

    Args:
        policy: The pins to enforce. Without ``ssl_context`` the adapter builds its context with
            :func:`pinning.create_default_context` and the CAs given; with one, ``policy`` is
            installed on it with :func:`pinning.pin_context`.
        ssl_context: A context to use; it must already be pinned when ``policy`` is None.
        cafile: A file of PEM CA certificates to trust instead of the system's.
        capath: A directory of hashed PEM CA certificates to trust instead of the system's.
        cadata: PEM text or DER bytes of CA certificates to trust instead of the system's.
        **kwargs: Passed to :class:`requests.adapters.HTTPAdapter` (``max_retries``, pool sizes).

    Raises:
        TypeError: Neither ``policy`` nor ``ssl_context`` is given, or CAs are given with an
            ``ssl_context``.
        ValueError: ``ssl_context`` is not pinned and no ``policy`` is given, or it is pin-only.
    """

    def __init__(
        self,
        policy: PinPolicy | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        cafile: str | os.PathLike[str] | None = None,
        capath: str | os.PathLike[str] | None = None,
        cadata: str | bytes | None = None,
        **kwargs: Any,
    ) -> None:
        if ssl_context is None:
            if policy is None:
                raise TypeError("PinningAdapter needs a policy, or an ssl_context already pinned")
            ssl_context = create_default_context(
                policy, cafile=cafile, capath=capath, cadata=cadata
            )
        else:
            if cafile is not None or capath is not None or cadata is not None:
                raise TypeError("with an ssl_context, load the CAs into it instead of passing them")
            if policy is not None:
                pin_context(ssl_context, policy)
            elif pinned_policy(ssl_context) is None:
                raise ValueError(
                    "ssl_context is not pinned: pass a policy, or pin it with pinning.pin_context"
                )
        if ssl_context.verify_mode == ssl.CERT_NONE:
            raise ValueError(_NO_PIN_ONLY)
        self.ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        """Create the pool manager of direct connections, with the pinned context."""
        pool_kwargs["ssl_context"] = self.ssl_context
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Return the pool manager for ``proxy``; connections through it use the pinned context."""
        proxy_kwargs["ssl_context"] = self.ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Key the pools without CA bundle paths: the pinned context is the trust store."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        pool_kwargs.pop("ca_certs", None)
        pool_kwargs.pop("ca_cert_dir", None)
        pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        """Set the client certificate only: no CA bundle is loaded into the pinned context."""
        super().cert_verify(conn, url, False, cert)  # Client certificate handling only.
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Send ``request``; ``verify=False`` is refused (pins never replace CA verification).

        Raises:
            ValueError: ``verify`` is False.
        """
        if verify is False:
            raise ValueError(f"verify=False on a pinned session: {_NO_PIN_ONLY}")
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def pinned_session(
    policy: PinPolicy,
    *,
    cafile: str | os.PathLike[str] | None = None,
    capath: str | os.PathLike[str] | None = None,
    cadata: str | bytes | None = None,
) -> requests.Session:
    """Return a :class:`requests.Session` whose ``https://`` connections are pinned.

    Args:
        policy: The pins to enforce.
        cafile: A file of PEM CA certificates to trust instead of the system's.
        capath: A directory of hashed PEM CA certificates to trust instead of the system's.
        cadata: PEM text or DER bytes of CA certificates to trust instead of the system's.

    Returns:
        A new session with a :class:`PinningAdapter` mounted for ``https://``.
    """
    session = requests.Session()
    session.mount("https://", PinningAdapter(policy, cafile=cafile, capath=capath, cadata=cadata))
    return session
