"""pinning.requests: PinningAdapter and pinned_session, and the traps of requests and urllib3."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest
import requests
from tlsutil import (
    GENUINE_BODY,
    TIMEOUT,
    Server,
    eager_handler,
    genuine_policy,
    http_handler,
    pin_only_context,
    pki,
    policy,
    server_context,
    serving,
)
from tlsutil import client_context as make_client

from pinning import find_pin_mismatch
from pinning.requests import PinningAdapter, pinned_session
from pinning.tls.context import pin_context, pinned_policy


def test_pinned_session_accepts_the_genuine_server_and_refuses_the_rogue() -> None:
    with pinned_session(genuine_policy(), cadata=pki().client_cadata) as session:
        with serving(pki().genuine, http_handler()) as server:
            assert session.get(server.url, timeout=TIMEOUT).content == GENUINE_BODY
        with (
            serving(pki().rogue, eager_handler()) as server,
            pytest.raises(requests.exceptions.SSLError) as info,
        ):
            session.get(server.url, timeout=TIMEOUT)
        assert find_pin_mismatch(info.value) is not None
        assert server.all_received == b""


@pytest.mark.parametrize("bundle", ["certifi", "REQUESTS_CA_BUNDLE", "verify=path", "default"])
def test_no_ca_bundle_is_loaded_into_the_pinned_context(
    bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests would load certifi (verify=True) or the bundle named by verify="path",
    # REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE into the context on each new connection.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    verify: bool | str = True
    if bundle == "REQUESTS_CA_BUNDLE":
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    elif bundle == "verify=path":
        verify = certifi.where()
    ctx = make_client(genuine_policy())
    before = ctx.cert_store_stats()
    with requests.Session() as session:
        session.mount("https://", PinningAdapter(ssl_context=ctx))
        if bundle == "default":
            session.trust_env = False
        with serving(pki().genuine, http_handler()) as server:
            for _ in range(2):
                response = session.get(server.url, verify=verify, timeout=TIMEOUT)
                assert response.content == GENUINE_BODY
    assert ctx.cert_store_stats() == before  # Still the two test CAs only.
    assert ctx.verify_mode == ssl.CERT_REQUIRED


def test_verify_false_is_refused() -> None:
    with (
        pinned_session(genuine_policy(), cadata=pki().client_cadata) as session,
        pytest.raises(ValueError, match="CERT_REQUIRED"),
    ):
        session.get("https://localhost:1/", verify=False)


def test_pin_only_contexts_cannot_go_through_requests() -> None:
    with pytest.raises(ValueError, match="pin-only"):
        PinningAdapter(ssl_context=pin_only_context(policy({"localhost": [pki().self_signed.pin]})))


def test_adapter_arguments() -> None:
    with pytest.raises(TypeError):
        PinningAdapter()
    with pytest.raises(ValueError, match="not pinned"):
        PinningAdapter(ssl_context=make_client())
    with pytest.raises(TypeError):
        PinningAdapter(ssl_context=make_client(genuine_policy()), cadata=pki().client_cadata)
    ctx = make_client()
    pinned = genuine_policy()
    adapter = PinningAdapter(pinned, ssl_context=ctx)
    assert adapter.ssl_context is ctx
    assert pinned_policy(ctx) is pinned
    adapter.close()


def test_proxies_get_the_pinned_context_too() -> None:
    adapter = PinningAdapter(genuine_policy(), cadata=pki().client_cadata)
    try:
        manager = adapter.proxy_manager_for("http://127.0.0.1:9")
        assert manager.connection_pool_kw["ssl_context"] is adapter.ssl_context
        assert adapter.poolmanager.connection_pool_kw["ssl_context"] is adapter.ssl_context
    finally:
        adapter.close()


def test_client_certificates_still_work(tmp_path: Path) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"".join(pki().client_a.chain_pems))
    key.write_bytes(pki().client_a.key_pem)
    server_ctx = server_context(pki().genuine, client_certs=ssl.CERT_REQUIRED)
    pin_context(server_ctx, policy({"*": [pki().client_a.pin]}))
    with (
        pinned_session(genuine_policy(), cadata=pki().client_cadata) as session,
        Server(http_handler(), server_ctx) as server,
    ):
        response = session.get(server.url, cert=(str(cert), str(key)), timeout=TIMEOUT)
        assert response.content == GENUINE_BODY
    assert server.handshake_errors == []
