"""SHA-256 under OpenSSL's configuration: with ``default_properties = fips=yes`` and no FIPS
provider, OpenSSL offers no SHA-256; ``hashlib`` refuses, and so must both backends, with a
:class:`DigestError` that carries OpenSSL's reason (never ``MemoryError``, never a certificate
error). Without that configuration both hash. Each case runs in a subprocess whose
``OPENSSL_CONF`` names a configuration file written here: OpenSSL reads it once per process.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from _certs import make_chain, random_pin, reference_pin

from pinning.core import backend as _backend

OPENSSL_3 = ssl.OPENSSL_VERSION_INFO >= (3,)

FIPS_CONFIG = """\
openssl_conf = openssl_init

[openssl_init]
alg_section = evp_properties

[evp_properties]
default_properties = fips=yes
"""

PLAIN_CONFIG = """\
openssl_conf = openssl_init

[openssl_init]
"""

# Runs in the subprocess: each operation of one backend, and hashlib, as JSON outcomes.
PROBE = r"""
import hashlib, json, sys
from pathlib import Path
from pinning.core.backend import load

data = json.loads(Path(sys.argv[2]).read_text())
chain = [bytes.fromhex(cert) for cert in data["chain"]]
backend = load(sys.argv[1])
import warnings
from pinning import PinPolicy
warnings.simplefilter("ignore")
policies = [PinPolicy({"api.example.com": data["pins"]}, enforce=bool(e)) for e in (1, 0)]

def outcome(call):
    try:
        value = call()
    except BaseException as exc:
        return {"error": type(exc).__name__, "module": type(exc).__module__, "message": str(exc)}
    if isinstance(value, list):
        value = b"".join(value)
    return {"ok": value.hex() if isinstance(value, bytes) else value}

print(json.dumps({
    "hashlib": outcome(lambda: hashlib.sha256(b"pin").digest()),
    "spki": outcome(lambda: backend.spki(chain[0])),
    "spki_sha256": outcome(lambda: backend.spki_sha256(chain[0])),
    "spki_sha256_many": outcome(lambda: backend.spki_sha256_many(chain)),
    "chain_match": outcome(lambda: backend.chain_match(chain, bytes(32))),
    # The library's own check, enforcing and report-only: a refusal must not pass, nor be
    # reported as a mismatch and let through.
    "check": outcome(lambda: policies[0].check("api.example.com", chain)),
    "report_only_check": outcome(lambda: policies[1].check("api.example.com", chain)),
}))
"""

HASHING = ("spki_sha256", "spki_sha256_many", "chain_match", "check", "report_only_check")


def _probe(name: str, config: str, tmp_path: Path) -> dict[str, dict[str, str]]:
    chain = make_chain()
    certs = tmp_path / "chain.json"
    pins = [str(reference_pin(chain.leaf)), str(random_pin())]
    certs.write_text(json.dumps({"chain": [cert.hex() for cert in chain.certs], "pins": pins}))
    conf = tmp_path / "openssl.cnf"
    conf.write_text(config)
    env = {**os.environ, "OPENSSL_CONF": str(conf), "PINNING_BACKEND": name}
    env.pop("OPENSSL_MODULES", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, name, str(certs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, dict[str, str]] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("name", ["c", "pure"])
def test_under_fips_properties_a_backend_refuses_exactly_when_hashlib_does(
    name: str, tmp_path: Path
) -> None:
    _backend.load(name)  # the C core must be built: fail, never skip
    result = _probe(name, FIPS_CONFIG, tmp_path)
    hashlib_refuses = "error" in result["hashlib"]
    if OPENSSL_3:
        # Only the default provider is loaded: nothing offers a FIPS SHA-256.
        assert hashlib_refuses, result["hashlib"]
    for operation in HASHING:
        got = result[operation]
        assert ("error" in got) == hashlib_refuses, (operation, got, result["hashlib"])
        if hashlib_refuses:
            assert got["error"] == "DigestError", (operation, got)
            assert got["module"] == "pinning.core.hashing"
            message = got["message"]
            assert "OpenSSL refused SHA-256" in message
            # OpenSSL's own reason, through the status and the binding (C) or hashlib (pure).
            assert "unsupported" in message, message
    # Finding the SPKI hashes nothing: it works whatever OpenSSL allows.
    chain = make_chain()
    assert result["spki"] == {"ok": _backend.load("pure").spki(chain.leaf).hex()}


@pytest.mark.skipif(not OPENSSL_3, reason="FIPS properties exist from OpenSSL 3")
def test_the_c_refusal_names_fips_mode_and_openssls_error(tmp_path: Path) -> None:
    message = _probe("c", FIPS_CONFIG, tmp_path)["spki_sha256"]["message"]
    assert "FIPS mode" in message
    assert "error:" in message  # ERR_error_string_n's text
    assert "SHA256" in message  # the data OpenSSL attached: the algorithm it could not fetch


@pytest.mark.parametrize("name", ["c", "pure"])
def test_without_fips_properties_both_backends_hash(name: str, tmp_path: Path) -> None:
    _backend.load(name)
    result = _probe(name, PLAIN_CONFIG, tmp_path)
    chain = make_chain()
    pins = [reference_pin(cert).digest for cert in chain.certs]
    assert "ok" in result["hashlib"]
    assert result["spki_sha256"] == {"ok": pins[0].hex()}
    assert result["spki_sha256_many"] == {"ok": b"".join(pins).hex()}
    assert result["chain_match"] == {"ok": -1}
    assert result["check"] == result["report_only_check"] == {"ok": None}


def test_a_refusal_is_no_certificate_error() -> None:
    from pinning.core.errors import CertificateError
    from pinning.core.hashing import DigestError

    # A policy reads a CertificateError as a chain that does not match; a refusal must fail the
    # check itself (the handshake fails closed on any other exception).
    assert not issubclass(DigestError, CertificateError)
    assert not issubclass(DigestError, MemoryError)


# Runs in the subprocess: a hasher made before FIPS mode is switched on (through OpenSSL's own
# EVP_default_properties_enable_fips, in the libcrypto this process loaded) keeps hashing the way
# it chose; one made after it is refused.
PER_HASHER = r"""
import ctypes, json, sys
from pathlib import Path
from pinning.core import cbackend
from pinning.core._native import ffi, lib

cert = bytes.fromhex(json.loads(Path(sys.argv[1]).read_text())[0])
before = cbackend._hasher()
path = next(line.split()[-1] for line in open("/proc/self/maps") if "/libcrypto" in line)
libcrypto = ctypes.CDLL(path)
libcrypto.EVP_default_properties_enable_fips.argtypes = [ctypes.c_void_p, ctypes.c_int]
assert libcrypto.EVP_default_properties_enable_fips(None, 1) == 1
try:
    cbackend._hasher()
except cbackend.DigestError as exc:
    after = str(exc)
else:
    after = None
digest = ffi.new("uint8_t[32]")
status = lib.pinning_spki_sha256(digest, before, cert, len(cert))
print(json.dumps({"after": after, "before": status, "digest": bytes(digest).hex()}))
"""


@pytest.mark.skipif(
    not OPENSSL_3 or not Path("/proc/self/maps").exists(),
    reason="FIPS properties exist from OpenSSL 3; the loaded libcrypto is found through /proc",
)
def test_each_hasher_chooses_once_when_it_is_created(tmp_path: Path) -> None:
    _backend.load("c")
    chain = make_chain()
    certs = tmp_path / "chain.json"
    certs.write_text(json.dumps([cert.hex() for cert in chain.certs]))
    conf = tmp_path / "openssl.cnf"
    conf.write_text(PLAIN_CONFIG)
    done = subprocess.run(
        [sys.executable, "-c", PER_HASHER, str(certs)],
        capture_output=True,
        text=True,
        env={**os.environ, "OPENSSL_CONF": str(conf), "PINNING_BACKEND": "c"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["after"] is not None and "FIPS mode" in result["after"]
    assert result["before"] == 0
    assert result["digest"] == reference_pin(chain.leaf).digest.hex()
