"""Shared fixtures: the two backends, so that behaviour tests run on both."""

from __future__ import annotations

import os

import pytest
from openssl_ctypes import _OpenSSL, load_openssl

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
