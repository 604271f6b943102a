"""OpenSSL's own functions, through ctypes, in the libcrypto that ``ssl`` loaded: the reference
that the host name and IP address rules are checked against."""

from __future__ import annotations

import contextlib
import ctypes
import ssl

import pytest


class _OpenSSL:
    """The IP address parser of a libcrypto, through ctypes."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self.library = library
        self._a2i = library.a2i_IPADDRESS
        self._a2i.argtypes = [ctypes.c_char_p]
        self._a2i.restype = ctypes.c_void_p
        self._length = library.ASN1_STRING_length
        self._length.argtypes = [ctypes.c_void_p]
        self._length.restype = ctypes.c_int
        self._data = library.ASN1_STRING_get0_data
        self._data.argtypes = [ctypes.c_void_p]
        self._data.restype = ctypes.c_void_p
        self._free = library.ASN1_OCTET_STRING_free
        self._free.argtypes = [ctypes.c_void_p]
        self._free.restype = None
        self._clear = library.ERR_clear_error
        self._clear.argtypes = []
        self._clear.restype = None

    def ip_address(self, text: str) -> bytes | None:
        """The address bytes OpenSSL reads from ``text``, or None: it is then a DNS name."""
        octets = self._a2i(text.encode("ascii"))
        if not octets:
            self._clear()  # Leave no error behind in this thread's queue for ssl to find.
            return None
        try:
            data = self._data(octets)
            return ctypes.string_at(data, self._length(octets)) if data else b""
        finally:
            self._free(octets)


def _loaded_libcrypto() -> str | None:
    """The path of the libcrypto this process has loaded (for ssl), where /proc tells it."""
    with contextlib.suppress(OSError), open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split(maxsplit=5)[-1].strip()
            if "/libcrypto" in path:
                return path
    return None


def load_openssl() -> _OpenSSL:
    """The functions of the libcrypto ``ssl`` uses; skips the test where that cannot be told."""
    path = _loaded_libcrypto()
    if path is None:
        pytest.skip("cannot tell which libcrypto ssl uses on this platform")
    library = ctypes.CDLL(path)
    version = library.OpenSSL_version
    version.argtypes = [ctypes.c_int]
    version.restype = ctypes.c_char_p
    if version(0).decode() != ssl.OPENSSL_VERSION:
        pytest.skip(f"{path} is not the OpenSSL of ssl ({ssl.OPENSSL_VERSION})")
    return _OpenSSL(library)
