"""find_pin_mismatch: the PinMismatch inside whatever a client raised, wherever it keeps it.

Each stack's real wrapping is checked where that stack is tested (the conformance matrix and the
stacks' own files); these are the shapes, including ones that must not be followed forever.
"""

from __future__ import annotations

import builtins
import ssl

import pytest

from pinning import PinMismatch, find_pin_mismatch


def _mismatch() -> PinMismatch:
    return PinMismatch("pin failure for example.test", hostname="example.test")


class _Failure:
    """The shape of Twisted's Failure: not an exception, the exception in ``value``."""

    def __init__(self, value: BaseException) -> None:
        self.value = value


class _ResponseNeverReceived(Exception):
    """The shape of Twisted's ResponseNeverReceived: Failures in ``reasons``."""

    def __init__(self, reasons: list[_Failure]) -> None:
        super().__init__(reasons)
        self.reasons = reasons


def _caused(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise ConnectionError("connect failed") from exc
    except ConnectionError as outer:
        return outer


def _in_context(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException:
            raise OSError("while handling it") from None
    except OSError as outer:
        outer.__suppress_context__ = False
        return outer


def test_the_mismatch_itself() -> None:
    mismatch = _mismatch()
    assert find_pin_mismatch(mismatch) is mismatch


@pytest.mark.parametrize(
    "wrap",
    [
        _caused,
        _in_context,
        lambda inner: OSError("wrapped", inner),  # in args, as urllib3's errors keep it
        lambda inner: ValueError([RuntimeError("a"), inner]),  # a list in args
        lambda inner: _caused(_caused(_caused(inner))),
        lambda inner: _Failure(_caused(inner)),
        lambda inner: _ResponseNeverReceived([_Failure(ValueError("other")), _Failure(inner)]),
    ],
)
def test_found_where_clients_keep_it(wrap: object) -> None:
    mismatch = _mismatch()
    assert find_pin_mismatch(wrap(mismatch)) is mismatch  # type: ignore[operator]


def test_an_exception_group() -> None:
    group_type = getattr(builtins, "ExceptionGroup", None)
    if group_type is None:
        pytest.skip("no ExceptionGroup before Python 3.11")
    mismatch = _mismatch()
    group = group_type("several", [ValueError("x"), _caused(mismatch)])
    assert find_pin_mismatch(group) is mismatch


def test_an_attribute_aiohttp_keeps_it_in() -> None:
    mismatch = _mismatch()
    outer = ConnectionError("cannot connect")
    outer.certificate_error = mismatch  # type: ignore[attr-defined]
    assert find_pin_mismatch(outer) is mismatch


@pytest.mark.parametrize(
    "error",
    [
        None,
        "text",
        ssl.SSLCertVerificationError("certificate verify failed: unable to get local issuer"),
        _caused(ConnectionRefusedError()),
        _Failure(ValueError("no")),
    ],
)
def test_none_when_the_failure_is_not_a_pin_failure(error: object) -> None:
    assert find_pin_mismatch(error) is None


def test_cycles_and_self_references_end() -> None:
    first, second = ValueError("first"), ValueError("second")
    first.__context__, second.__context__ = second, first
    holder: list[object] = []
    holder.append(holder)
    assert find_pin_mismatch(OSError(first, holder)) is None


def test_a_huge_wrapper_is_looked_at_only_so_far() -> None:
    mismatch = _mismatch()
    many = ValueError(*[ValueError(str(n)) for n in range(20_000)], mismatch)
    assert find_pin_mismatch(many) is None  # gave up before it: bounded work, not a hang
    assert find_pin_mismatch(ValueError(mismatch, *range(5))) is mismatch
