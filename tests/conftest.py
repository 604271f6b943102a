"""Shared fixtures: the two backends, OpenSSL through ctypes, and the genuine and rogue servers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from openssl_ctypes import _OpenSSL, load_openssl
from tlsutil import Server, greeting_handler, pki, serving

from pinning.core import backend as _backend

BACKEND_NAMES = ("c", "pure")


def pytest_report_header() -> list[str]:
    from pinning import BACKEND

    return [
        f"pinning backend: {BACKEND} (PINNING_BACKEND={os.environ.get('PINNING_BACKEND', 'auto')})"
    ]


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> _backend.Backend:
    """Each backend in turn. The C one must be built: a missing extension fails, never skips."""
    return _backend.load(request.param)


@pytest.fixture(params=BACKEND_NAMES)
def active_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make each backend in turn the one the whole library uses (``core.backend.backend``)."""
    monkeypatch.setattr(_backend, "backend", _backend.load(request.param))
    return str(request.param)


@pytest.fixture(scope="session")
def openssl() -> _OpenSSL:
    """OpenSSL's own IP address and host name functions, through ctypes (skips where the libcrypto
    of ``ssl`` cannot be told)."""
    return load_openssl()


# The two servers most tests talk to, on loopback: the genuine one (its CA's key is what the test
# policies pin) and the rogue one (a certificate for the same names from a CA the clients also
# trust). Each greets with b"hello" and records what it receives (tlsutil.greeting_handler).


@pytest.fixture
def genuine() -> Iterator[Server]:
    """The genuine server, for one test."""
    with serving(pki().genuine, greeting_handler()) as server:
        yield server


@pytest.fixture
def rogue() -> Iterator[Server]:
    """The rogue server, for one test."""
    with serving(pki().rogue, greeting_handler()) as server:
        yield server
