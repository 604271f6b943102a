"""A pinned requests session never sends an https request through an adapter that does not pin,
and the adapter refuses urllib3's forwarding mode for https; over real TLS on loopback.

requests picks the adapter of the longest prefix that matches a URL, so a plain
``HTTPAdapter`` mounted for ``https://host`` outranks a ``PinningAdapter`` mounted for
``https://``, before or after it. The rogue server here is trusted by that plain adapter's CA
bundle, so a request that reached it unpinned would succeed: the guard must refuse it before a
byte leaves.
"""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter
from tlsutil import (
    GENUINE_BODY,
    HOST,
    SECRET,
    TIMEOUT,
    Server,
    eager_handler,
    genuine_policy,
    http_handler,
    pki,
    policy,
    serving,
)
from tlsutil import client_context as make_client

import pinning.requests as pinned_requests
from pinning import find_pin_mismatch
from pinning.requests import PinningAdapter, pinned_session
from pinning.tls.context import pinned_policy


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests honours *_proxy variables (every server here is on loopback), and lets
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE replace a session's ``verify`` bundle."""
    for name in (
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bundle(tmp_path: Path) -> str:
    """A CA bundle trusting the genuine and the rogue CA, for the plain adapters."""
    path = tmp_path / "cas.pem"
    path.write_text(pki().client_cadata)
    return str(path)


@pytest.fixture
def rogue() -> Iterator[Server]:
    with serving(pki().rogue, eager_handler()) as server:
        yield server


@pytest.fixture
def genuine() -> Iterator[Server]:
    with serving(pki().genuine, http_handler()) as server:
        yield server


def prefixes(server: Server) -> list[str]:
    return [f"https://{HOST}:{server.port}", f"https://{HOST}", f"HTTPS://{HOST.upper()}:"]


def secret_request(session: requests.Session, url: str) -> requests.Response:
    return session.post(url, headers={"Authorization": SECRET}, data=SECRET, timeout=TIMEOUT)


def refused_as_unpinned(session: requests.Session, server: Server, prefix: str) -> None:
    """The request is refused by the guard, naming the prefix and the adapter, and the server
    neither received a byte nor saw a connection."""
    with pytest.raises(requests.exceptions.RequestException) as info:
        secret_request(session, server.url)
    error = info.value
    assert isinstance(error, pinned_requests.UnpinnedAdapterError)
    assert isinstance(error, ValueError)  # as requests' InvalidSchema
    assert repr(prefix) in str(error) and "HTTPAdapter" in str(error)
    assert SECRET not in str(error)
    server.close()
    assert server.all_received == b""
    assert server.accepted == 0


# -- a more specific plain adapter -------------------------------------------------------------


@pytest.mark.parametrize("which", [0, 1, 2], ids=["host-and-port", "host", "upper-case"])
def test_a_plain_adapter_mounted_after_pinned_session_is_refused(
    rogue: Server, bundle: str, which: int
) -> None:
    # The README's "pinned_session(policy)", then a more specific mount (a retry adapter for one
    # host, say): requests would send the request there, unpinned, to the rogue server.
    prefix = prefixes(rogue)[which]
    with pinned_session(genuine_policy(), cadata=pki().client_cadata) as session:
        session.verify = bundle
        session.mount(prefix, HTTPAdapter())
        refused_as_unpinned(session, rogue, prefix)


@pytest.mark.parametrize("mounted", ["before", "after"])
def test_pin_session_guards_a_session_you_already_have(
    rogue: Server, genuine: Server, bundle: str, mounted: str
) -> None:
    prefix = f"https://{HOST}:{rogue.port}"
    with requests.Session() as session:
        session.verify = bundle
        if mounted == "before":
            session.mount(prefix, HTTPAdapter())
        assert (
            pinned_requests.pin_session(session, genuine_policy(), cadata=pki().client_cadata)
            is session
        )
        if mounted == "after":
            session.mount(prefix, HTTPAdapter())
        # The genuine server, on another port, goes through the pinned adapter.
        response = secret_request(session, genuine.url)
        assert response.content == GENUINE_BODY
        assert isinstance(session.get_adapter(genuine.url), PinningAdapter)
        refused_as_unpinned(session, rogue, prefix)
    assert SECRET.encode() in genuine.all_received


def test_without_the_plain_adapter_the_pinned_adapter_refuses_the_rogue(
    rogue: Server, bundle: str
) -> None:
    # The control: the same session and server, through the pinned adapter: a pin mismatch.
    with requests.Session() as session:
        session.verify = bundle
        pinned_requests.pin_session(session, genuine_policy(), cadata=pki().client_cadata)
        with pytest.raises(requests.exceptions.SSLError) as info:
            secret_request(session, rogue.url)
        assert find_pin_mismatch(info.value) is not None
    rogue.close()
    assert rogue.all_received == b""


def test_a_plain_session_sends_it_unpinned(rogue: Server, bundle: str) -> None:
    # What the guard prevents: a bare mount of the pinning adapter, outranked.
    with requests.Session() as session:
        session.verify = bundle
        session.mount(f"https://{HOST}:{rogue.port}", HTTPAdapter())
        session.mount("https://", PinningAdapter(genuine_policy(), cadata=pki().client_cadata))
        assert secret_request(session, rogue.url).content == b"forged answer"
    rogue.close()
    assert SECRET.encode() in rogue.all_received


def test_a_more_specific_pinning_adapter_is_allowed(genuine: Server) -> None:
    # Another pinned adapter (another policy for one host) is not a way around the pins.
    other = PinningAdapter(policy({HOST: [pki().genuine.pin]}), cadata=pki().client_cadata)
    with pinned_session(genuine_policy(), cadata=pki().client_cadata) as session:
        session.mount(f"https://{HOST}:{genuine.port}", other)
        assert session.get(genuine.url, timeout=TIMEOUT).content == GENUINE_BODY
        assert session.get_adapter(genuine.url) is other


def test_a_pinning_adapter_whose_context_is_no_longer_pinned_is_refused() -> None:
    adapter = PinningAdapter(genuine_policy(), cadata=pki().client_cadata)
    adapter.ssl_context = make_client()  # Swapped for a context that does not pin.
    with pinned_session(genuine_policy(), cadata=pki().client_cadata) as session:
        session.mount("https://api.example.test", adapter)
        with pytest.raises(pinned_requests.UnpinnedAdapterError, match="not pinned"):
            session.get("https://api.example.test/", timeout=TIMEOUT)


def test_plain_http_is_not_guarded() -> None:
    # http:// is not TLS: nothing is pinned there, and its adapter is left alone.
    with pinned_session(genuine_policy(), cadata=pki().client_cadata) as session:
        plain = HTTPAdapter()
        session.mount("http://api.example.test", plain)
        assert session.get_adapter("http://api.example.test/") is plain
        assert isinstance(session.get_adapter("https://api.example.test/"), PinningAdapter)
        with pytest.raises(requests.exceptions.InvalidSchema, match="No connection adapters"):
            session.get_adapter("ftp://api.example.test/")


def test_pin_session_twice_and_its_arguments() -> None:
    ctx = make_client(genuine_policy())
    with requests.Session() as session:
        pinned_requests.pin_session(session, genuine_policy(), cadata=pki().client_cadata)
        pinned_requests.pin_session(session, ssl_context=ctx, max_retries=3)
        adapter = session.get_adapter("https://api.example.test/")
        assert isinstance(adapter, PinningAdapter)
        assert adapter.ssl_context is ctx and adapter.max_retries.total == 3
        session.mount("https://x.example", HTTPAdapter())
        with pytest.raises(pinned_requests.UnpinnedAdapterError):
            session.get_adapter("https://x.example/")
        with pytest.raises(TypeError):
            pinned_requests.pin_session(session)  # neither a policy nor a pinned context
        with pytest.raises(TypeError, match="Session"):
            pinned_requests.pin_session(object(), genuine_policy())  # type: ignore[arg-type]
    assert pinned_policy(ctx) is not None


# -- forwarding proxies ------------------------------------------------------------------------


def test_the_adapter_refuses_forwarding_https_through_a_proxy() -> None:
    adapter = PinningAdapter(genuine_policy(), cadata=pki().client_cadata)
    try:
        with pytest.raises(ValueError, match="use_forwarding_for_https") as info:
            adapter.proxy_manager_for("https://127.0.0.1:9", use_forwarding_for_https=True)
        assert "proxy" in str(info.value)
        assert adapter.proxy_manager == {}  # Nothing was made, or kept.
        # Tunnelling (CONNECT), the default, is unchanged.
        manager = adapter.proxy_manager_for("https://127.0.0.1:9", use_forwarding_for_https=False)
        assert manager.connection_pool_kw["ssl_context"] is adapter.ssl_context
    finally:
        adapter.close()


def forwarding_proxy(pinned: ssl.SSLContext, proxy: Server) -> urllib3.ProxyManager:
    return urllib3.ProxyManager(
        f"https://{HOST}:{proxy.port}",
        proxy_ssl_context=pinned,
        use_forwarding_for_https=True,
        retries=False,
        timeout=TIMEOUT,
    )


def test_urllib3_forwarding_a_strict_policy_refuses_a_proxy_without_a_rule() -> None:
    # In forwarding mode the only TLS connection is the one to the proxy, named by the proxy's
    # host: a strict policy without a rule for it refuses it before the request is sent.
    pinned = make_client(
        policy({"api.example.test": [pki().genuine_ca_pin]}, strict=True, reporter=lambda f: None)
    )
    with serving(pki().genuine, http_handler()) as proxy:
        with (
            forwarding_proxy(pinned, proxy) as manager,
            pytest.raises(urllib3.exceptions.ProxyError) as info,
        ):
            manager.request("POST", "https://api.example.test/", body=SECRET)
        mismatch = find_pin_mismatch(info.value)
        assert mismatch is not None and mismatch.hostname == HOST
        assert "No pinning rule covers the host (strict policy)" in str(mismatch)
    assert proxy.all_received == b""
    assert proxy.accepted == 1  # The handshake happened, and was refused.


def test_urllib3_forwarding_checks_only_the_proxy() -> None:
    # What forwarding does not check: the origin. Its rule here pins a key nobody has, yet the
    # request goes through, whole and in the clear to the proxy, since the only TLS connection
    # is the proxy's, whose pins pass.
    pinned = make_client(
        policy(
            {HOST: [pki().genuine_ca_pin], "api.example.test": [pki().rogue_ca_pin]},
            strict=True,
        )
    )
    with serving(pki().genuine, http_handler()) as proxy:
        with forwarding_proxy(pinned, proxy) as manager, warnings.catch_warnings():
            warnings.simplefilter("error")
            response = manager.request("POST", "https://api.example.test/path", body=SECRET)
        assert response.data == GENUINE_BODY
    request_line = proxy.all_received.split(b"\r\n", 1)[0]
    assert request_line == b"POST https://api.example.test/path HTTP/1.1"
    assert SECRET.encode() in proxy.all_received
