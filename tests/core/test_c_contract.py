"""The C core's contract beyond the walk: out-parameters are set on every error, a hasher is
created with a status and a reason, and the binding refuses an extension whose status names or
fields disagree with :mod:`pinning.core.status`. (C only: the pure mirror has no out-parameters.)"""

from __future__ import annotations

import enum
from typing import Any

import pytest
from _certs import make_chain

from pinning.core import backend as _backend
from pinning.core import status as _status

SENTINEL = 0xDEADBEEF


@pytest.fixture(scope="module")
def c() -> tuple[Any, Any, Any]:
    """cffi's ``ffi`` and ``lib`` of the C core, and a hasher (the core must be built)."""
    cbackend: Any = _backend.load("c")
    from pinning.core._native import ffi, lib  # type: ignore[import-not-found, unused-ignore]

    return ffi, lib, cbackend._hasher()


def test_spki_sha256_many_sets_the_failed_index_on_argument_errors(c: tuple[Any, Any, Any]) -> None:
    ffi, lib, hasher = c
    cert = make_chain().leaf
    failed = ffi.new("size_t *", SENTINEL)
    digests = ffi.new("uint8_t[64]")
    # Lengths that do not add up to the blob: refused before any certificate is read.
    status = lib.pinning_spki_sha256_many(digests, failed, hasher, cert, len(cert), [1, 2], 2)
    assert status == lib.PINNING_ERR_ARGUMENT
    assert failed[0] == 2
    failed[0] = SENTINEL
    one = [len(cert)]
    status = lib.pinning_spki_sha256_many(digests, failed, ffi.NULL, cert, len(cert), one, 1)
    assert status == lib.PINNING_ERR_ARGUMENT
    assert failed[0] == 1
    failed[0] = SENTINEL
    assert lib.pinning_spki_sha256_many(digests, failed, hasher, cert, len(cert), one, 1) == 0
    assert failed[0] == 1


def test_chain_match_sets_the_index_on_argument_errors(c: tuple[Any, Any, Any]) -> None:
    ffi, lib, hasher = c
    cert = make_chain().leaf
    index = ffi.new("size_t *", SENTINEL)
    status = lib.pinning_chain_match(index, hasher, cert, len(cert), [1], 1, bytes(32), 1)
    assert status == lib.PINNING_ERR_ARGUMENT
    assert index[0] == 1


def test_spki_zeroes_its_outputs_on_error(c: tuple[Any, Any, Any]) -> None:
    ffi, lib, _ = c
    cells = ffi.new("size_t[2]", [SENTINEL, SENTINEL])
    assert lib.pinning_spki(cells, cells + 1, b"\x30\x00", 2) != lib.PINNING_OK
    assert list(cells) == [0, 0]
    cells[0] = cells[1] = SENTINEL
    assert lib.pinning_spki(cells, cells + 1, ffi.NULL, 1) == lib.PINNING_ERR_ARGUMENT
    assert list(cells) == [0, 0]


def test_hasher_create_gives_a_status_and_a_reason(c: tuple[Any, Any, Any]) -> None:
    ffi, lib, _ = c
    error = ffi.new("char[]", lib.PINNING_ERROR_LEN)
    assert lib.pinning_hasher_create(ffi.NULL, error, len(error)) == lib.PINNING_ERR_ARGUMENT
    assert b"NULL" in ffi.string(error)
    cell = ffi.new("pinning_hasher **")
    assert lib.pinning_hasher_create(cell, error, len(error)) == lib.PINNING_OK
    assert cell[0] != ffi.NULL
    assert ffi.string(error) == b""
    lib.pinning_hasher_error(cell[0], error, len(error))
    assert ffi.string(error) == b""  # no digest failed
    lib.pinning_hasher_free(cell[0])


def test_the_binding_compares_status_names_and_fields(
    c: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pinning.core import cbackend

    cbackend._check_header_agrees()  # the built extension agrees
    monkeypatch.setitem(_status._FIELDS, _status.Status.ERR_ISSUER, "subject")
    with pytest.raises(ImportError, match="field of PINNING_ERR_ISSUER"):
        cbackend._check_header_agrees()
    monkeypatch.undo()
    swapped = {"ERR_ISSUER": 10, "ERR_SUBJECT": 8}
    members = {m.name: swapped.get(m.name, m.value) for m in _status.Status}
    renamed = enum.IntEnum("Status", members)  # type: ignore[misc]
    monkeypatch.setattr(cbackend, "Status", renamed)
    with pytest.raises(ImportError, match="disagree on PINNING_ERR_"):
        cbackend._check_header_agrees()
