"""``pinning bench``: the C core, the pure mirror and the ``cryptography`` reference, side by side.

Every figure is measured in the same run and every ratio is computed from figures of that run,
never assumed: the floor (a plain C loop that walks each certificate to its SPKI and hashes it with
OpenSSL's fastest SHA-256, ``benchmarks/floor/floor.c``) is compiled on this machine into a cache
directory and run on the very certificates the Python backends are timed on.

The measurement is robust to a busy machine: times are the CPU time of the measuring thread (the
floor uses the same clock), the cases are timed in several rounds, interleaved, and every ratio is
the median of the ratios of each round.

``benchmarks/`` (pytest-benchmark) reuses the corpus, the chains, the reference and the floor
from here, so that ``pinning bench`` and the benchmark suite measure the same things.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..tls.chain import CERTIFICATE_OBJECTS, verified_chain

__all__ = [
    "Corpus",
    "Floor",
    "Handshaker",
    "add_parser",
    "build_floor",
    "floor_source",
    "generated_chains",
    "load_corpus",
    "machine",
    "reference_check",
    "reference_spki_sha256",
    "rss_bytes",
    "run",
]

HOSTNAME = "bench.pinning.test"
"""The host name of the generated chains (their leaf's subjectAltName)."""

MIN_CORPUS = 1000
"""The corpus is repeated until it holds at least this many certificates."""

# The performance targets, checked by `pinning bench` and benchmarks/RESULTS.md.
TARGETS: dict[str, tuple[str, str, float]] = {
    # key: (what, comparison, bound)
    "many_vs_floor": ("spki_sha256_many, per certificate, C backend", "x floor <=", 1.5),
    "many_vs_reference": ("spki_sha256_many, reference / C backend", "x faster >=", 30.0),
    "one_vs_reference": ("spki_sha256(one certificate), reference / C", "x faster >=", 10.0),
    "check_vs_floor": ("PinPolicy.check, 3-cert chain, pin at depth 2, C", "x floor <=", 2.5),
    "pure_vs_reference": ("pure backend per certificate, reference / pure", "x faster >=", 1.5),
    "handshake_overhead": (
        "pinned handshake, client CPU, vs unpinned (the same server again)",
        "% more <=",
        2.0,
    ),
    "threads": ("spki_sha256_many, 2 threads / 1 thread, throughput", "x >=", 1.7),
    "memory": ("RSS growth over 1,000,000 check calls", "MiB <", 1.0),
}


# --------------------------------------------------------------------------------------------
# The machine


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _sha_extensions() -> bool | None:
    """Whether the CPU has SHA-256 instructions (x86 SHA-NI, Arm SHA2), or None if unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            text = info.read()
    except OSError:
        return None
    found = re.search(r"^(?:flags|features)\s*:(.*)$", text, re.M | re.I)
    if found is None:
        return None
    return bool(set(found.group(1).split()) & {"sha_ni", "sha2", "sha256"})


def _core_openssl() -> str | None:
    """The version of the libcrypto the C core is linked with, read from that very library."""
    try:
        from ..core import _native  # noqa: F401  (loads libcrypto into this process)
    except ImportError:
        return None
    try:
        import ctypes

        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "libcrypto" in line}
        for path in sorted(paths):
            lib = ctypes.CDLL(path)
            getter = getattr(lib, "OpenSSL_version", None) or getattr(lib, "SSLeay_version", None)
            if getter is not None:
                getter.restype = ctypes.c_char_p
                getter.argtypes = [ctypes.c_int]
                value = getter(0)
                if isinstance(value, bytes):
                    return value.decode("ascii", "replace")
    except (OSError, AttributeError, IndexError):
        pass
    return None


def machine() -> dict[str, Any]:
    """What the figures depend on: CPU, cores, SHA extensions, OpenSSL, Python, backends."""
    from ..core import backend as _backend

    try:
        from cryptography.hazmat.backends.openssl.backend import backend as crypto_backend

        crypto_openssl = crypto_backend.openssl_version_text()
    except Exception:  # only a label
        crypto_openssl = "unknown"
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "sha_extensions": _sha_extensions(),
        "platform": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "openssl_core": _core_openssl(),
        "openssl_python_ssl": ssl.OPENSSL_VERSION,
        "openssl_cryptography": crypto_openssl,
        "default_backend": _backend.backend.NAME,
    }


# --------------------------------------------------------------------------------------------
# Certificates


_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


def _pem_certificates(data: bytes) -> Iterator[bytes]:
    import base64
    import binascii

    for match in _PEM.finditer(data):
        try:
            yield base64.b64decode(b"".join(match.group(1).split()), validate=True)
        except (binascii.Error, ValueError):
            continue


def reference_spki_sha256(cert_der: bytes) -> bytes:
    """The reference: what a program without ``pinning`` writes, with ``cryptography``.

    Load the certificate, take its public key, re-encode it as a DER SubjectPublicKeyInfo and hash
    that with :mod:`hashlib`.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_der_x509_certificate(cert_der).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def reference_check(pins: frozenset[bytes], chain: Sequence[bytes]) -> bool:
    """The reference chain check: the first certificate whose SPKI SHA-256 is pinned wins."""
    return any(reference_spki_sha256(cert) in pins for cert in chain)


@dataclasses.dataclass
class Corpus:
    """Real certificates that the C core, the pure mirror and the reference all read alike.

    Attributes:
        certs: The certificates, repeated when needed so that there are at least ``MIN_CORPUS``.
        unique: How many different certificates there are.
        sources: How many unique certificates each source gave.
        refused: How many certificates were left out: one of the three could not read them, they
            disagreed, or ``cryptography`` warned about them (it refuses or frowns on some old or
            odd encodings).
    """

    certs: list[bytes]
    unique: int
    sources: dict[str, int]
    refused: int

    @property
    def repeated(self) -> bool:
        """Whether the unique certificates were repeated to reach ``MIN_CORPUS``."""
        return len(self.certs) > self.unique

    def describe(self) -> str:
        """One line: how many certificates, from where, repeated or not."""
        parts = ", ".join(f"{name} {count}" for name, count in self.sources.items())
        text = f"{self.unique} unique real certificates ({parts})"
        if self.repeated:
            text += f", repeated to {len(self.certs)}"
        if self.refused:
            text += f"; {self.refused} left out (unreadable by one of the three)"
        return text


def _corpus_sources() -> Iterator[tuple[str, bytes]]:
    """Yield (source, DER) for every certificate of the real corpora found on this machine."""
    paths = ssl.get_default_verify_paths()
    for bundle in {paths.cafile, paths.openssl_cafile} - {None}:
        try:
            data = Path(str(bundle)).read_bytes()
        except OSError:
            continue
        for der in _pem_certificates(data):
            yield "trust store", der
    try:
        import certifi

        for der in _pem_certificates(Path(certifi.where()).read_bytes()):
            yield "certifi", der
    except (ImportError, OSError):
        pass
    try:
        import cryptography_vectors  # type: ignore[import-not-found, unused-ignore]

        root = Path(cryptography_vectors.__file__).parent / "x509"
    except ImportError:
        return
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if b"-----BEGIN CERTIFICATE-----" in data:
            for der in _pem_certificates(data):
                yield "cryptography-vectors", der
        elif path.suffix in (".der", ".crt", ".cer") and data[:1] == b"\x30":
            yield "cryptography-vectors", data


def load_corpus(minimum: int = MIN_CORPUS) -> Corpus:
    """Collect the real certificates of this machine (trust store, certifi, cryptography-vectors).

    A certificate is kept when the C core (if built), the pure mirror and the reference all read it
    and give the same pin; duplicates are dropped, then the list is repeated up to ``minimum``.
    """
    from ..core import pure as _pure

    try:
        from ..core import cbackend as c_backend
    except ImportError:
        c_backend = None  # type: ignore[assignment]
    seen: set[bytes] = set()
    certs: list[bytes] = []
    sources: dict[str, int] = {}
    refused = 0
    for source, der in _corpus_sources():
        if der in seen:
            continue
        seen.add(der)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                pin = _pure.spki_sha256(der)
                ok = reference_spki_sha256(der) == pin and (
                    c_backend is None or c_backend.spki_sha256(der) == pin
                )
            except Exception:  # any refusal by any of the three
                ok = False
        # A certificate that cryptography warns about would time its warning machinery (and
        # fail a test run with warnings as errors): leave it out.
        ok = ok and not caught
        if not ok:
            refused += 1
            continue
        certs.append(der)
        sources[source] = sources.get(source, 0) + 1
    unique = len(certs)
    if not certs:
        raise RuntimeError("no readable certificate found on this machine (no CA bundle?)")
    repeated = list(certs)
    while len(repeated) < minimum:
        repeated.extend(certs[: minimum - len(repeated)])
    return Corpus(repeated, unique, sources, refused)


def generated_chains() -> dict[str, list[bytes]]:
    """Two 3-certificate chains, leaf first: RSA-2048 and ECDSA P-256, for :data:`HOSTNAME`."""
    return {name: [der for der, _ in chain] for name, chain in _chains().items()}


_chain_cache: dict[str, list[tuple[bytes, Any]]] = {}


def _chains() -> dict[str, list[tuple[bytes, Any]]]:
    """(DER, private key) for leaf, intermediate, root, of each generated chain (cached)."""
    if _chain_cache:
        return _chain_cache
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def make(kind: str) -> list[tuple[bytes, Any]]:
        def key() -> Any:
            if kind == "rsa2048":
                return rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return ec.generate_private_key(ec.SECP256R1())

        keys = [key(), key(), key()]  # leaf, intermediate, root
        subjects = [
            name(HOSTNAME),
            name(f"pinning bench {kind} CA 2"),
            name(f"pinning bench {kind} root"),
        ]
        out: list[tuple[bytes, Any]] = []
        for depth in (2, 1, 0):
            issuer = min(depth + 1, 2)
            builder = (
                x509.CertificateBuilder()
                .subject_name(subjects[depth])
                .issuer_name(subjects[issuer])
                .public_key(keys[depth].public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=depth > 0, path_length=None), critical=True)
                .add_extension(
                    x509.SubjectKeyIdentifier.from_public_key(keys[depth].public_key()),
                    critical=False,
                )
            )
            if depth > 0:
                builder = builder.add_extension(
                    x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                    critical=True,
                )
            else:
                builder = builder.add_extension(
                    x509.SubjectAlternativeName([x509.DNSName(HOSTNAME)]), critical=False
                ).add_extension(
                    x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                    critical=False,
                )
            cert = builder.sign(keys[issuer], hashes.SHA256())
            out.insert(0, (cert.public_bytes(serialization.Encoding.DER), keys[depth]))
        return out

    _chain_cache["rsa2048"] = make("rsa2048")
    _chain_cache["p256"] = make("p256")
    return _chain_cache


# --------------------------------------------------------------------------------------------
# The floor


@dataclasses.dataclass
class Floor:
    """The floor program, or why there is none.

    Attributes:
        binary: The compiled program, or None.
        reason: Why there is no binary (empty when there is one).
        source: The C source it was built from.
    """

    binary: Path | None
    reason: str = ""
    source: Path | None = None

    def run(
        self, files: dict[str, Sequence[bytes]], *, repeats: int = 5, min_ms: float = 20.0
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """Time the floor on each list of certificates: {name: {variant: figures}}.

        The figures of a variant are those printed by the program: ``ns_per_cert``,
        ``ns_per_pass`` (for a chain: per chain), and their minimums.

        Raises:
            RuntimeError: there is no floor binary, or it failed.
        """
        if self.binary is None:
            raise RuntimeError(f"floor unavailable: {self.reason}")
        with tempfile.TemporaryDirectory(prefix="pinning-floor-") as tmp:
            paths = {}
            for name, certs in files.items():
                path = Path(tmp) / f"{name}.bin"
                path.write_bytes(b"".join(struct.pack(">I", len(der)) + der for der in certs))
                paths[str(path)] = name
            done = subprocess.run(
                [str(self.binary), "--repeats", str(repeats), "--min-ms", str(min_ms), *paths],
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
        if done.returncode != 0:
            raise RuntimeError(f"the floor program failed: {done.stderr.strip()}")
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for line in done.stdout.splitlines():
            record = json.loads(line)
            if "file" in record:
                out.setdefault(paths[record["file"]], {})[record["variant"]] = record
            else:
                out.setdefault("_info", {})["info"] = record
        return out


def floor_source() -> Path | None:
    """Where the floor's C source is: ``$PINNING_FLOOR_SOURCE``, the copy a C build installs
    next to this module, or ``benchmarks/floor/floor.c`` of a source checkout."""
    candidates = [
        os.environ.get("PINNING_FLOOR_SOURCE"),
        Path(__file__).with_name("_floor.c"),
        Path(__file__).resolve().parents[3] / "benchmarks" / "floor" / "floor.c",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pinning"


def _openssl_flags() -> tuple[list[str], list[str]]:
    """Compiler and linker flags for libcrypto: pkg-config, else $OPENSSL_ROOT_DIR, else none."""
    pkg_config = shutil.which("pkg-config")
    if pkg_config:
        cflags = subprocess.run(
            [pkg_config, "--cflags", "libcrypto"], capture_output=True, text=True, check=False
        )
        libs = subprocess.run(
            [pkg_config, "--libs", "libcrypto"], capture_output=True, text=True, check=False
        )
        if cflags.returncode == 0 and libs.returncode == 0:
            return cflags.stdout.split(), libs.stdout.split()
    root = os.environ.get("OPENSSL_ROOT_DIR")
    if root:
        return [f"-I{root}/include"], [f"-L{root}/lib", "-lcrypto"]
    return [], ["-lcrypto"]


def build_floor(source: Path | None = None, cache_dir: Path | None = None) -> Floor:
    """Compile the floor (once per source and compiler; cached) and return it.

    Never raises: when it cannot be built, the returned :class:`Floor` says why.
    """
    source = source or floor_source()
    if source is None:
        return Floor(
            None, "its C source is not installed (a pure wheel?): set PINNING_FLOOR_SOURCE"
        )
    compiler = os.environ.get("CC") or next(
        (found for name in ("cc", "gcc", "clang") if (found := shutil.which(name))), None
    )
    if compiler is None:
        return Floor(None, "no C compiler", source)
    cflags, libs = _openssl_flags()
    command = [compiler, "-O2", "-std=c11", *cflags, str(source)]
    key = hashlib.sha256(source.read_bytes() + "\0".join(command + libs).encode()).hexdigest()
    cache = cache_dir or _cache_dir()
    binary = cache / f"floor-{key[:16]}"
    if binary.is_file() and os.access(binary, os.X_OK):
        return Floor(binary, "", source)
    partial = cache / f"{binary.name}.{os.getpid()}.tmp"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [*command, "-o", str(partial), *libs],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Floor(None, f"cannot run the C compiler: {exc}", source)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["?"])[0]
        return Floor(None, f"the C compiler failed (OpenSSL headers missing?): {first}", source)
    os.replace(partial, binary)
    return Floor(binary, "", source)


# --------------------------------------------------------------------------------------------
# Timing


def _seconds_per_call(func: Callable[[], object], min_time: float) -> float:
    """Time ``func``: calls in a loop until ``min_time`` seconds of this thread's CPU time pass;
    the CPU time of one call.

    CPU time, not wall time, so that other processes on a busy machine do not inflate the figures
    (the floor uses the same clock).
    """
    clock = time.thread_time
    number = 1
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while True:
            start = clock()
            for _ in range(number):
                func()
            elapsed = clock() - start
            if elapsed >= min_time:
                return elapsed / number
            number = max(number * 2, int(number * min_time * 1.2 / max(elapsed, 1e-9)))
    finally:
        if gc_was_enabled:
            gc.enable()


def rss_bytes() -> int:
    """The resident set size of this process now (Linux), else its maximum so far."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


# The benchmark's TLS server, run by Handshaker in a Python process of its own (stdlib only). It
# prints its port, serves one connection at a time until the client closes, and exits when its
# standard input closes, so that it cannot outlive the benchmark.
_SERVER = """
import os, socket, ssl, sys, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
listener = socket.create_server(("127.0.0.1", 0))
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
print(listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    try:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)  # until the client closes
    except (OSError, ssl.SSLError):
        conn.close()
"""


class Handshaker:
    """A TLS server on loopback serving a generated chain, and clients that connect to it.

    Use as a context manager. :meth:`client_cpu` makes ``count`` full handshakes with a client
    context and returns the client thread's CPU time per handshake. The server runs in a process
    of its own: in a thread of this one it would compete with the client for the GIL, and the
    client's CPU time would include handing the GIL over to it, a cost that a real client, whose
    server is elsewhere, never pays (measured: it made a do-nothing check cost 2.7 % instead of
    1.5 %).
    """

    def __init__(self, chain: str = "rsa2048") -> None:
        from cryptography.hazmat.primitives import serialization

        certs = _chains()[chain]
        self._tmp = tempfile.TemporaryDirectory(prefix="pinning-bench-tls-")
        cert_file = Path(self._tmp.name) / "chain.pem"
        key_file = Path(self._tmp.name) / "key.pem"
        pem = b"".join(ssl.DER_cert_to_PEM_cert(der).encode() for der, _ in certs[:2])
        cert_file.write_bytes(pem)
        key_file.write_bytes(
            certs[0][1].private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.root_pem = ssl.DER_cert_to_PEM_cert(certs[2][0])
        self.chain = [der for der, _ in certs]
        self._files = (str(cert_file), str(key_file))
        self._server: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> Handshaker:
        self._server = subprocess.Popen(
            [sys.executable, "-I", "-c", _SERVER, *self._files],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._server.stdout is not None
        line = self._server.stdout.readline()
        if not line.strip().isdigit():
            self.__exit__()
            raise RuntimeError("the benchmark's TLS server did not start")
        self.port = int(line)
        return self

    def __exit__(self, *exc: object) -> None:
        server, self._server = self._server, None
        if server is not None:
            assert server.stdin is not None and server.stdout is not None
            server.stdin.close()  # the server exits on its own
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server.stdout.close()
        self._tmp.cleanup()

    def client_context(self) -> ssl.SSLContext:
        """A fresh client context trusting the chain's root (TLS 1.3, hostname checked)."""
        ctx = ssl.create_default_context(cadata=self.root_pem)
        return ctx

    def handshake(self, ctx: ssl.SSLContext) -> None:
        """One full handshake, then close."""
        with (
            socket.create_connection(("127.0.0.1", self.port)) as sock,
            ctx.wrap_socket(sock, server_hostname=HOSTNAME),
        ):
            pass

    def client_cpu(self, ctx: ssl.SSLContext, count: int) -> float:
        """Client CPU seconds per handshake over ``count`` handshakes."""
        start = time.thread_time()
        for _ in range(count):
            self.handshake(ctx)
        return (time.thread_time() - start) / count


class _ChainReadingSocket(ssl.SSLSocket):
    """A socket that reads the verified chain once its handshake is done, the way the pinned
    handshake's fast path reads it (``_ssl.Certificate`` objects where this Python gives them,
    else DER), and does nothing else: what a check pays before it checks anything."""

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        if CERTIFICATE_OBJECTS:
            self._sslobj.get_verified_chain()  # type: ignore[attr-defined]
        else:
            verified_chain(self)


def _pin_context() -> Callable[[ssl.SSLContext, Any], ssl.SSLContext] | None:
    import pinning

    found = getattr(pinning, "pin_context", None)
    if found is None:
        try:
            from ..tls import context as _context

            found = getattr(_context, "pin_context", None)
        except ImportError:
            return None
    return found


# --------------------------------------------------------------------------------------------
# The run


@dataclasses.dataclass
class _Case:
    group: str
    backend: str
    func: Callable[[], object]
    units: int  # certificates or chains per call
    unit: str


def _backends() -> dict[str, Any]:
    from ..core import pure as _pure

    found: dict[str, Any] = {}
    try:
        from ..core import cbackend as _cbackend

        found["c"] = _cbackend
    except ImportError:
        pass
    found["pure"] = _pure
    return found


def _policy_check(backend: Any, chain: list[bytes], pin: bytes) -> Callable[[], object]:
    """A PinPolicy.check call on ``backend`` for ``chain``, whose root (depth 2) is pinned."""
    from ..core import backend as _backend
    from ..policy.pins import Pin
    from ..policy.policy import PinPolicy

    policy = PinPolicy({HOSTNAME: [Pin(pin), Pin(bytes(32))]})

    def check() -> None:
        saved = _backend.backend
        _backend.backend = backend
        try:
            policy.check(HOSTNAME, chain)
        finally:
            _backend.backend = saved

    check()  # fails loudly here if the pin does not match
    return check


def _each(func: Callable[[bytes], bytes], certs: list[bytes]) -> Callable[[], object]:
    """A call of ``func`` on each certificate in turn."""
    return lambda: [func(cert) for cert in certs]


def _batch(func: Callable[[list[bytes]], object], certs: list[bytes]) -> Callable[[], object]:
    """One call of ``func`` on all the certificates."""
    return lambda: func(certs)


def _c_call_alone(certs: list[bytes], pin: bytes | None = None) -> Callable[[], object]:
    """The bare C call over ``certs``, its arguments built beforehand: the C core's own time plus
    one cffi call. With ``pin``, ``pinning_chain_match`` (``pin`` and a zero pin), else
    ``pinning_spki_sha256_many``."""
    from ..core import cbackend as _cbackend
    from ..core._native import ffi, lib  # type: ignore[import-not-found, unused-ignore]

    blob = b"".join(certs)
    lengths = ffi.new("size_t[]", [len(cert) for cert in certs])
    out = ffi.new("size_t *")
    hasher = _cbackend._hasher()
    count = len(certs)
    if pin is not None:
        pins = pin + bytes(32)
        function = lib.pinning_chain_match
        return lambda: function(out, hasher, blob, len(blob), lengths, count, pins, 2)
    digests = ffi.new("uint8_t[]", 32 * count)
    function = lib.pinning_spki_sha256_many
    return lambda: function(digests, out, hasher, blob, len(blob), lengths, count)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _threads_ratio(
    many: Callable[[Sequence[bytes]], object], certs: list[bytes], calls: int
) -> float:
    """Throughput of ``many(certs)`` on 2 threads divided by that on 1 thread.

    Each thread makes ``calls`` calls. The timed part starts when every thread is running and
    waiting at a barrier, so that starting threads (and the scheduler moving a new thread to the
    idle core, which takes milliseconds) is not counted as throughput; ``calls`` must make each
    run last tens of milliseconds for the same reason.
    """

    def timed(threads: int) -> float:
        barrier = threading.Barrier(threads + 1)

        def work() -> None:
            barrier.wait()
            for _ in range(calls):
                many(certs)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        barrier.wait()
        start = time.perf_counter()
        for worker in workers:
            worker.join()
        return time.perf_counter() - start

    one = timed(1)
    two = timed(2)
    return 2 * one / two


def run(
    *,
    quick: bool = False,
    rounds: int | None = None,
    floor: Floor | None = None,
    progress: Callable[[str], None] | None = None,
    corpus: Corpus | None = None,
) -> dict[str, Any]:
    """Measure everything ``pinning bench`` reports and return it as a JSON-ready dict.

    Args:
        quick: Fewer, shorter rounds, 20,000 check calls for the memory figure instead of a
            million, and fewer handshakes: seconds instead of a minute, and noisier.
        rounds: Rounds of measurement (default 5, or 2 when quick).
        floor: The floor program (default: :func:`build_floor`).
        progress: Called with a short text as each phase starts.
        corpus: The certificates (default: :func:`load_corpus`).
    """
    say = progress or (lambda _text: None)
    rounds = rounds or (2 if quick else 5)
    min_time = 0.005 if quick else 0.04
    say("collecting the corpus")
    corpus = corpus or load_corpus()
    certs = corpus.certs
    say("generating chains")
    chains = generated_chains()
    backends = _backends()
    floor = floor or build_floor()
    result: dict[str, Any] = {
        "machine": machine(),
        "corpus": {
            "description": corpus.describe(),
            "certificates": len(certs),
            "unique": corpus.unique,
            "sources": corpus.sources,
            "refused": corpus.refused,
            "repeated": corpus.repeated,
        },
        "quick": quick,
        "rounds": rounds,
        "floor": {"available": floor.binary is not None, "reason": floor.reason},
    }

    cases: list[_Case] = []
    one_sample = certs[::5] if quick else certs  # quick: every fifth, still representative
    for name, backend in backends.items():
        single = backend.spki_sha256
        cases.append(_Case("one", name, _each(single, one_sample), len(one_sample), "cert"))
        cases.append(
            _Case("many", name, _batch(backend.spki_sha256_many, certs), len(certs), "cert")
        )
    # The reference runs on exactly the same certificates as the backends: ratios compare like
    # with like.
    cases.append(
        _Case("one", "reference", _each(reference_spki_sha256, one_sample), len(one_sample), "cert")
    )
    cases.append(
        _Case("many", "reference", _each(reference_spki_sha256, certs), len(certs), "cert")
    )
    if "c" in backends:
        # Where the time of the C backend goes: the bare C call on a joined blob and prebuilt
        # lengths (no Python work per certificate), and chain_match without the policy around it.
        cases.append(_Case("many", "c: C call alone", _c_call_alone(certs), len(certs), "cert"))
    for chain_name, chain in chains.items():
        pin = reference_spki_sha256(chain[2])
        for name, backend in backends.items():
            cases.append(
                _Case(f"check:{chain_name}", name, _policy_check(backend, chain, pin), 1, "chain")
            )
        if "c" in backends:
            match = functools.partial(backends["c"].chain_match, chain, pin + bytes(32))
            cases.append(_Case(f"check:{chain_name}", "c: chain_match", match, 1, "chain"))
            cases.append(
                _Case(
                    f"check:{chain_name}", "c: C call alone", _c_call_alone(chain, pin), 1, "chain"
                )
            )
        pins = frozenset({pin, bytes(32)})
        cases.append(
            _Case(
                f"check:{chain_name}",
                "reference",
                functools.partial(reference_check, pins, chain),
                1,
                "chain",
            )
        )

    samples: dict[tuple[str, str], list[float]] = {}
    floor_rounds: list[dict[str, dict[str, dict[str, Any]]]] = []
    for index in range(rounds):
        say(f"round {index + 1} of {rounds}")
        if floor.binary is not None:
            floor_rounds.append(
                floor.run(
                    {"corpus": certs, **chains},
                    repeats=3 if quick else 5,
                    min_ms=5 if quick else 20,
                )
            )
        for case in cases:
            seconds = _seconds_per_call(case.func, min_time)
            samples.setdefault((case.group, case.backend), []).append(seconds * 1e9 / case.units)

    figures: dict[str, dict[str, float]] = {}
    for (group, backend), values in samples.items():
        figures.setdefault(group, {})[backend] = _median(values)
    result["ns"] = figures
    floor_figures: dict[str, float] = {}
    if floor_rounds:
        result["floor"]["openssl"] = floor_rounds[0].get("_info", {}).get("info", {}).get("openssl")
        result["floor"]["hash"] = floor_rounds[0].get("_info", {}).get("info", {}).get("floor_hash")
        floor_figures["cert"] = _median([r["corpus"]["floor"]["ns_per_cert"] for r in floor_rounds])
        floor_figures["walk"] = _median([r["corpus"]["walk"]["ns_per_cert"] for r in floor_rounds])
        for chain_name in chains:
            floor_figures[f"chain:{chain_name}"] = _median(
                [r[chain_name]["floor"]["ns_per_pass"] for r in floor_rounds]
            )
            floor_figures[f"cert:{chain_name}"] = _median(
                [r[chain_name]["floor"]["ns_per_cert"] for r in floor_rounds]
            )
    result["floor"]["ns"] = floor_figures

    # Ratios: the median over rounds of each round's ratio.
    def per_round(group: str, backend: str) -> list[float]:
        return samples.get((group, backend), [])

    def floor_of(group: str, r: dict[str, dict[str, dict[str, Any]]]) -> float:
        if group.startswith("check:"):
            return float(r[group.split(":", 1)[1]]["floor"]["ns_per_pass"])
        return float(r["corpus"]["floor"]["ns_per_cert"])

    ratios: dict[str, dict[str, dict[str, float]]] = {}
    for group in figures:
        for backend in figures[group]:
            entry: dict[str, float] = {}
            mine = per_round(group, backend)
            if floor_rounds and len(floor_rounds) == len(mine):
                entry["floor"] = _median(
                    [m / floor_of(group, r) for m, r in zip(mine, floor_rounds, strict=True)]
                )
            ref = per_round(group, "reference")
            if backend != "reference" and len(ref) == len(mine):
                entry["reference_over_this"] = _median(
                    [f / m for f, m in zip(ref, mine, strict=True)]
                )
            ratios.setdefault(group, {})[backend] = entry
    result["ratios"] = ratios

    if "c" in backends:
        say("threads")
        many = backends["c"].spki_sha256_many
        # About 80 ms of work per thread and run: shorter runs measure thread start-up.
        calls = 3 if quick else 200
        result["threads"] = {
            "ratio": _median(
                [_threads_ratio(many, certs, calls) for _ in range(1 if quick else 7)]
            ),
            "calls_per_thread": calls,
            "certificates_per_call": len(certs),
        }
        say("memory")
        chain = chains["rsa2048"]
        check = _policy_check(backends["c"], chain, reference_spki_sha256(chain[2]))
        count = 20_000 if quick else 1_000_000
        for _ in range(10_000):
            check()
        gc.collect()
        before = rss_bytes()
        for _ in range(count):
            check()
        gc.collect()
        result["memory"] = {"calls": count, "rss_growth_bytes": rss_bytes() - before}

    pin_context = _pin_context()
    if pin_context is None:
        result["handshake"] = {"available": False, "reason": "pinning.pin_context is missing"}
    else:
        say("handshakes")
        result["handshake"] = _handshakes(pin_context, quick)

    result["targets"] = _targets(result)
    return result


def _handshakes(
    pin_context: Callable[[ssl.SSLContext, Any], ssl.SSLContext], quick: bool
) -> dict[str, Any]:
    """Client CPU per full handshake, unpinned and pinned (the root of the chain, at depth 2).

    Pinned twice: as a client calling the same server again pays ("pinned": the policy remembers
    the verified chain that passed, ``PinPolicy._passes``), and as the first handshake that
    verifies a chain pays ("pinned, new chain": that policy's memory is emptied before each
    handshake, outside the timed part, so each one runs the C check). The target is judged on
    the first; both are reported. A fourth kind reads the verified chain after the handshake, as
    the pinned fast path does, and does nothing with it ("chain read only",
    :class:`_ChainReadingSocket`): what a check costs before it checks anything.

    The kinds alternate one handshake at a time, so that a change of load hits them alike; the
    figures are medians over all handshakes of a kind, and the overheads are ratios of the means
    of the middle halves (trimmed means: a handshake that a busy machine slowed down counts less).
    """
    from ..policy.pins import Pin
    from ..policy.policy import PinPolicy

    count = 150 if quick else 1500
    kinds = ("unpinned", "pinned", "pinned_new_chain", "chain_read_only")
    with Handshaker("rsa2048") as server:
        pins = [Pin(reference_spki_sha256(server.chain[2])), Pin(bytes(32))]
        forgetful = PinPolicy({HOSTNAME: pins})
        contexts = {
            "unpinned": server.client_context(),
            "pinned": pin_context(server.client_context(), PinPolicy({HOSTNAME: pins})),
            "pinned_new_chain": pin_context(server.client_context(), forgetful),
            "chain_read_only": server.client_context(),
        }
        contexts["chain_read_only"].sslsocket_class = _ChainReadingSocket
        for ctx in contexts.values():
            server.client_cpu(ctx, 10)
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        clock = time.thread_time
        for index in range(len(kinds) * count):
            kind = kinds[index % len(kinds)]
            forgetful._passed.clear()
            forgetful._leaves.clear()
            start = clock()
            server.handshake(contexts[kind])
            times[kind].append(clock() - start)

    def trimmed_mean(values: list[float]) -> float:
        ordered = sorted(values)
        quarter = len(ordered) // 4
        middle = ordered[quarter : len(ordered) - quarter] or ordered
        return sum(middle) / len(middle)

    def overhead(kind: str) -> float:
        return (trimmed_mean(times[kind]) / trimmed_mean(times["unpinned"]) - 1) * 100

    return {
        "available": True,
        "unpinned_us": _median(times["unpinned"]) * 1e6,
        "pinned_us": _median(times["pinned"]) * 1e6,
        "overhead_percent": overhead("pinned"),
        "pinned_new_chain_us": _median(times["pinned_new_chain"]) * 1e6,
        "pinned_new_chain_overhead_percent": overhead("pinned_new_chain"),
        "chain_read_only_us": _median(times["chain_read_only"]) * 1e6,
        "chain_read_only_overhead_percent": overhead("chain_read_only"),
        "handshakes": len(kinds) * count,
    }


def _handshake_overhead(hs: dict[str, Any], key: str) -> float:
    name = "overhead_percent" if key == "pinned" else f"{key}_overhead_percent"
    value: float = hs[name]
    return value


def _targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    ratios = result["ratios"]
    values: dict[str, float | None] = {
        "many_vs_floor": ratios.get("many", {}).get("c", {}).get("floor"),
        "many_vs_reference": ratios.get("many", {}).get("c", {}).get("reference_over_this"),
        "one_vs_reference": ratios.get("one", {}).get("c", {}).get("reference_over_this"),
        "check_vs_floor": ratios.get("check:rsa2048", {}).get("c", {}).get("floor"),
        "pure_vs_reference": ratios.get("one", {}).get("pure", {}).get("reference_over_this"),
        "handshake_overhead": result.get("handshake", {}).get("overhead_percent"),
        "threads": result.get("threads", {}).get("ratio"),
        "memory": (result["memory"]["rss_growth_bytes"] / 2**20) if "memory" in result else None,
    }
    out: dict[str, dict[str, Any]] = {}
    for key, (what, comparison, bound) in TARGETS.items():
        value = values[key]
        met: bool | None
        if value is None:
            met = None
        elif comparison.endswith(">="):
            met = value >= bound
        elif comparison.endswith("<="):
            met = value <= bound
        else:
            met = value < bound
        out[key] = {"what": what, "target": f"{comparison} {bound:g}", "value": value, "met": met}
    if result.get("quick") and "memory" in result:
        out["memory"]["note"] = f"quick mode: {result['memory']['calls']:,} calls, not 1,000,000"
    return out


# --------------------------------------------------------------------------------------------
# The table


def _fmt_ns(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    if value >= 10_000:
        return f"{value / 1000:,.1f} us"
    return f"{value:,.0f} ns"


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.2f}x"


_GROUP_TITLES = {
    "one": "spki_sha256, one certificate per call (ns per certificate)",
    "many": "spki_sha256_many, whole corpus in one call (ns per certificate)",
    "check:rsa2048": "PinPolicy.check, RSA-2048 3-cert chain, pin at depth 2 (ns per chain)",
    "check:p256": "PinPolicy.check, P-256 3-cert chain, pin at depth 2 (ns per chain)",
}


def format_table(result: dict[str, Any]) -> str:
    """The human-readable report of :func:`run`."""
    m = result["machine"]
    sha = {True: "with SHA extensions", False: "no SHA extensions", None: "SHA extensions unknown"}
    lines = [
        f"pinning bench{' (quick)' if result['quick'] else ''}: {result['rounds']} rounds, "
        "medians; every ratio computed in this run",
        f"machine: {m['cpu']}, {m['cores']} cores, {sha[m['sha_extensions']]}; {m['platform']}; "
        f"Python {m['python']}",
        f"OpenSSL: C core {m['openssl_core'] or '-'}; reference (cryptography) "
        f"{m['openssl_cryptography']}; ssl module {m['openssl_python_ssl']}",
        f"corpus: {result['corpus']['description']}",
    ]
    fl = result["floor"]
    if fl["available"]:
        ns = fl["ns"]
        lines.append(
            f"floor: {_fmt_ns(ns.get('cert'))} per certificate "
            f"(walk alone {_fmt_ns(ns.get('walk'))}), "
            f"RSA-2048 chain {_fmt_ns(ns.get('chain:rsa2048'))}, P-256 chain "
            f"{_fmt_ns(ns.get('chain:p256'))}; {fl.get('hash')}, {fl.get('openssl')}"
        )
    else:
        lines.append(f"floor: unavailable ({fl['reason']})")
    lines.append("")
    header = f"  {'backend':<18} {'time':>12} {'x floor':>9} {'reference / this':>17}"
    for group, title in _GROUP_TITLES.items():
        if group not in result["ns"]:
            continue
        lines.append(title)
        lines.append(header)
        for backend in ("c", "c: chain_match", "c: C call alone", "pure", "reference"):
            if backend not in result["ns"][group]:
                continue
            ratio = result["ratios"][group][backend]
            ref = ratio.get("reference_over_this")
            lines.append(
                f"  {backend:<18} {_fmt_ns(result['ns'][group][backend]):>12} "
                f"{_fmt_ratio(ratio.get('floor')):>9} "
                f"{_fmt_ratio(ref) if ref is not None else '':>17}"
            )
        lines.append("")
    hs = result.get("handshake", {})
    if hs.get("available"):
        lines.append("TLS 1.3 handshake on loopback, client CPU per handshake")
        for label, key in (
            ("unpinned", "unpinned"),
            ("pinned, the same server again", "pinned"),
            ("pinned, a chain not seen before", "pinned_new_chain"),
            ("no check, the verified chain read only", "chain_read_only"),
        ):
            more = "" if key == "unpinned" else f"{_handshake_overhead(hs, key):+9.2f}%"
            lines.append(f"  {label:<40} {hs[key + '_us']:>7.0f} us{more}")
    elif hs:
        lines.append(f"handshake: unavailable ({hs.get('reason')})")
    if "threads" in result:
        lines.append(f"spki_sha256_many on 2 threads / 1 thread: {result['threads']['ratio']:.2f}x")
    if "memory" in result:
        mem = result["memory"]
        lines.append(
            f"RSS growth over {mem['calls']:,} check calls: "
            f"{mem['rss_growth_bytes'] / 2**20:.2f} MiB"
        )
    lines.append("")
    lines.append("targets:")
    for key in TARGETS:
        target = result["targets"][key]
        value = target["value"]
        shown = "-" if value is None else f"{value:.2f}"
        verdict = {True: "met", False: "NOT met", None: "not measured"}[target["met"]]
        note = f" ({target['note']})" if "note" in target else ""
        lines.append(f"  {verdict:<12} {target['what']}: {shown} (target {target['target']}){note}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The command


def _command(args: argparse.Namespace) -> int:
    if args.gateway:
        return _gateway_command(args)
    floor = build_floor(Path(args.floor_source) if args.floor_source else None)
    progress = None if args.json else (lambda text: print(f"... {text}", file=sys.stderr))
    result = run(
        quick=args.quick,
        rounds=args.rounds,
        floor=floor,
        progress=progress,
        corpus=getattr(args, "corpus", None),  # the benchmark suite passes its own
    )
    if args.json:
        json.dump(result, sys.stdout, indent=2, sort_keys=True)
        print()
    else:
        print(format_table(result))
    return 0


def _gateway_command(args: argparse.Namespace) -> int:
    from .gateway import format_gateway, run_gateway

    progress = None if args.json else (lambda text: print(f"... {text}", file=sys.stderr))
    quick = {"requests": 40, "rounds": 2} if args.quick else {}
    result = run_gateway(
        requests=args.requests or quick.get("requests", 100),
        rounds=args.rounds or quick.get("rounds", 21),
        progress=progress,
    )
    if args.json:
        json.dump(result, sys.stdout, indent=2, sort_keys=True)
        print()
    else:
        print(format_gateway(result))
    return 0


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``pinning bench`` on the command line's subcommands."""
    bench = subparsers.add_parser(
        "bench",
        help="measure the C core, the pure backend and the cryptography reference side by side",
        description="Time the C core, the pure-Python backend and the cryptography reference on "
        "the real certificates of this machine (trust store, certifi, cryptography-vectors) and "
        "on generated chains, against the floor: a C loop, compiled here, that walks and hashes "
        "the same certificates. Prints ns per certificate, the ratio to the floor and to the "
        "reference, with the CPU and OpenSSL version; then each performance target, met or not.",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.add_argument(
        "--quick", action="store_true", help="fewer and shorter rounds (a few seconds; noisier)"
    )
    bench.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="rounds of measurement (default 5, or 2 with --quick)",
    )
    bench.add_argument(
        "--floor-source",
        default=None,
        metavar="FLOOR.C",
        help="the floor's C source (default: the installed copy)",
    )
    bench.add_argument(
        "--gateway",
        action="store_true",
        help="measure a real client workload instead: aiohttp (on uvloop when installed), httpx "
        "and urllib3 making new TLS 1.3 connections to a local HTTPS server in another process, "
        "unpinned, pinned to the leaf, pinned to the CA, and pinned as aiohttp's Fingerprint and "
        "urllib3's assert_fingerprint do it (about 2 minutes; clients not installed are skipped)",
    )
    bench.add_argument(
        "--requests",
        type=int,
        default=None,
        help="with --gateway: requests per variant per round (default 100 in 21 rounds, or 40 "
        "in 2 with --quick)",
    )
    bench.set_defaults(run=_command)
