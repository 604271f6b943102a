"""The ``pinning`` command: ``pins`` and ``check`` against real TLS servers on loopback, on files
of each kind, and on bad input (each a one-line error, a non-zero exit, no traceback)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _cli_servers import closed_port, identity_for, tls_server, write_cafile
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from tlsutil import BACKUP_PIN, HOST, pki

from pinning.cli.main import main
from pinning.policy.pins import Pin
from pinning.policy.policy import PinPolicy

UTC = dt.timezone.utc
OTHER_PIN = Pin(bytes([5]) * 32)  # no test key has it
PIN_TEXT = re.compile(r"sha256/[A-Za-z0-9+/]{43}=")


@pytest.fixture
def cafile(tmp_path: Path) -> str:
    return str(write_cafile(tmp_path))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``pinning ARGS`` in this process; return (status, stdout, stderr)."""
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pinning ARGS`` as a separate process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "pinning", *args],
        input=None if stdin is None else stdin.decode("latin-1"),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], pattern: str, *, status: int
) -> None:
    """A clean failure: ``status``, nothing on stdout, one ``pinning: error:`` line on stderr."""
    assert result.returncode == status, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert re.fullmatch(f"pinning: error: {pattern}", lines[0]), lines[0]


def ca_pin() -> Pin:
    return pki().genuine_ca_pin


def policy_file(
    tmp_path: Path, rules: list[tuple[list[str], list[Pin], str]], head: str = ""
) -> Path:
    """Write a TOML policy: one [[rule]] per (hosts, pins, extra lines)."""
    text = head
    for hosts, pins, extra in rules:
        pin_texts = json.dumps([str(pin) for pin in pins])
        text += f"\n[[rule]]\nhosts = {json.dumps(hosts)}\npins = {pin_texts}\n"
        text += extra
    path = tmp_path / "pins.toml"
    path.write_text(text)
    return path


# -- pinning pins: servers ---------------------------------------------------------------------


def test_pins_of_a_verified_chain(capsys: pytest.CaptureFixture[str], cafile: str) -> None:
    with tls_server(pki().genuine) as server:
        status, out, err = cli(capsys, "pins", f"{HOST}:{server.port}", "--cafile", cafile)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"{HOST}:{server.port}: verified chain of {HOST}, leaf first"
    assert lines[1] == f"  0 {pki().genuine.pin}"
    assert lines[2].startswith("      subject:   ")
    assert lines[3].startswith("      issuer:    ") and "Genuine Root" in lines[3]
    assert re.fullmatch(r"      not after: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", lines[4])
    assert lines[5] == f"  1 {ca_pin()}"


def test_pins_json(capsys: pytest.CaptureFixture[str], cafile: str) -> None:
    with tls_server(pki().genuine) as server:
        status, out, _ = cli(
            capsys, "pins", "--format", "json", f"127.0.0.1:{server.port}", "--cafile", cafile
        )
    assert status == 0
    (target,) = json.loads(out)
    assert target["source"] == "server"
    assert (target["host"], target["port"], target["verified"]) == ("127.0.0.1", server.port, True)
    assert [(c["depth"], c["pin"]) for c in target["chain"]] == [
        (0, str(pki().genuine.pin)),
        (1, str(ca_pin())),
    ]
    assert {"subject", "issuer", "not_after", "type"} <= set(target["chain"][0])


def test_pins_servername(capsys: pytest.CaptureFixture[str], cafile: str) -> None:
    identity = identity_for("api.pinning.test")
    with tls_server(identity) as server:
        status, out, _ = cli(
            capsys,
            "pins",
            f"127.0.0.1:{server.port}",
            "--servername",
            "api.pinning.test",
            "--cafile",
            cafile,
        )
    assert status == 0
    assert "verified chain of api.pinning.test" in out
    assert str(identity.pin) in out


def test_pins_insecure_prints_the_leaf_only_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with tls_server(pki().self_signed) as server:
        status, out, _ = cli(capsys, "pins", "--insecure", f"{HOST}:{server.port}")
    assert status == 0
    lines = out.splitlines()
    assert "NOT VERIFIED (--insecure): the leaf only" in lines[0]
    assert lines[1] == f"  0 {pki().self_signed.pin}"
    assert len(PIN_TEXT.findall(out)) == 1


def test_pins_untrusted_server_is_a_one_line_error() -> None:
    with tls_server(pki().untrusted) as server:
        result = run("pins", f"{HOST}:{server.port}")
    assert_one_line_error(
        result,
        rf"localhost:{server.port}: the certificate of localhost is not trusted: .*; trust its "
        r"CA with --cafile, or read the leaf alone with --insecure",
        status=3,
    )


def test_pins_wrong_name_is_a_one_line_error(cafile: str) -> None:
    with tls_server(identity_for("other.pinning.test")) as server:
        result = run("pins", f"127.0.0.1:{server.port}", "--cafile", cafile)
    assert_one_line_error(result, r".*not trusted: .*(mismatch|match).*", status=3)


def test_pins_unreachable_host_is_a_one_line_error() -> None:
    port = closed_port()
    result = run("pins", f"127.0.0.1:{port}", "--timeout", "5")
    assert_one_line_error(
        result, rf"cannot connect to 127\.0\.0\.1:{port}: connection refused", status=3
    )


@pytest.mark.parametrize(
    ("target", "pattern"),
    [
        ("a..b", r"'a\.\.b' is not a host name, an IP address or a file"),
        ("example.com:99999", r"'example\.com:99999': the port must be a number from 1 to 65535"),
        ("example.com:x", r"'example\.com:x': the port must be a number from 1 to 65535"),
        ("missing.pem", r"cannot read missing\.pem: No such file or directory"),
    ],
)
def test_pins_bad_targets(target: str, pattern: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pinning", "pins", target],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert_one_line_error(result, pattern, status=2)


# -- pinning pins: files -------------------------------------------------------------------------


def spki_pin(key: Any) -> Pin:
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Pin(hashlib.sha256(spki).digest())


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_csr(key: Any, name: str = "api.example.com") -> x509.CertificateSigningRequest:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())


PEM, DER = serialization.Encoding.PEM, serialization.Encoding.DER


def file_cases(ec_key: Any, rsa_key: Any) -> dict[str, tuple[bytes, str, Pin]]:
    """name -> (file content, the kind printed, the expected pin)."""
    cert_pem = pki().genuine.chain_pems[0]
    cert_pin = pki().genuine.pin
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pkcs1 = serialization.PublicFormat.PKCS1
    pkcs8 = serialization.PrivateFormat.PKCS8
    traditional = serialization.PrivateFormat.TraditionalOpenSSL
    plain = serialization.NoEncryption()
    csr = make_csr(ec_key)
    return {
        "cert.pem": (cert_pem, "certificate", cert_pin),
        "cert.der": (
            x509.load_pem_x509_certificate(cert_pem).public_bytes(DER),
            "certificate",
            cert_pin,
        ),
        "public.pem": (ec_key.public_key().public_bytes(PEM, spki), "public key", spki_pin(ec_key)),
        "public.der": (ec_key.public_key().public_bytes(DER, spki), "public key", spki_pin(ec_key)),
        "rsa-public.pem": (
            rsa_key.public_key().public_bytes(PEM, pkcs1),
            "public key",
            spki_pin(rsa_key),
        ),
        "private.pem": (ec_key.private_bytes(PEM, pkcs8, plain), "private key", spki_pin(ec_key)),
        "ec-private.pem": (
            ec_key.private_bytes(PEM, traditional, plain),
            "private key",
            spki_pin(ec_key),
        ),
        "rsa-private.pem": (
            rsa_key.private_bytes(PEM, traditional, plain),
            "private key",
            spki_pin(rsa_key),
        ),
        "private.der": (ec_key.private_bytes(DER, pkcs8, plain), "private key", spki_pin(ec_key)),
        "backup.csr": (csr.public_bytes(PEM), "certificate signing request", spki_pin(ec_key)),
        "backup.der": (csr.public_bytes(DER), "certificate signing request", spki_pin(ec_key)),
    }


FILE_NAMES = [
    "cert.pem",
    "cert.der",
    "public.pem",
    "public.der",
    "rsa-public.pem",
    "private.pem",
    "ec-private.pem",
    "rsa-private.pem",
    "private.der",
    "backup.csr",
    "backup.der",
]


@pytest.mark.parametrize("name", FILE_NAMES)
def test_pins_of_files_of_each_kind(
    name: str,
    ec_key: Any,
    rsa_key: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    content, kind, pin = file_cases(ec_key, rsa_key)[name]
    path = tmp_path / name
    path.write_bytes(content)
    status, out, _ = cli(capsys, "pins", str(path))
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"{path}: {kind}"
    assert lines[1] == f"  0 {kind}: {pin}"
    if kind == "certificate signing request":
        assert lines[2] == "      subject:   CN=api.example.com"
    if kind == "private key":
        assert "PRIVATE" not in out and len(lines) == 2  # nothing of the key itself


def test_pins_of_a_pem_bundle_and_key_with_parameters(
    ec_key: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(
        b"".join(pki().genuine.chain_pems) + pki().genuine_ca.cert_pem.bytes() + b"trailing text\n"
    )
    key = tmp_path / "key.pem"  # as `openssl ecparam -genkey` writes it
    key.write_bytes(
        b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
        + ec_key.private_bytes(
            PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    status, out, _ = cli(capsys, "pins", "--format", "json", str(bundle), str(key))
    assert status == 0
    first, second = json.loads(out)
    assert [item["pin"] for item in first["keys"]] == [str(pki().genuine.pin), str(ca_pin())]
    assert second["keys"] == [{"pin": str(spki_pin(ec_key)), "type": "private key"}]


def test_pins_from_stdin(ec_key: Any) -> None:
    csr = make_csr(ec_key).public_bytes(PEM)
    result = run("pins", "-", stdin=csr)
    assert result.returncode == 0
    assert result.stdout.splitlines()[:2] == [
        "<stdin>: certificate signing request",
        f"  0 certificate signing request: {spki_pin(ec_key)}",
    ]


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (
            b"just some text\n",
            r"{path}: not a certificate, public key, private key or certificate "
            r"signing request \(PEM or DER\)",
        ),
        (
            b"\x30\x82\x01\x00" + bytes(256),
            r"{path}: not a certificate, public key, private key "
            r"or certificate signing request \(PEM or DER\)",
        ),
        (b"", r"{path}: the file is empty"),
        (
            b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
            r"{path}: the PEM X509 CRL block: unsupported PEM block 'X509 CRL': expected a "
            r"public key, private key or CSR",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n",
            r"{path}: the PEM CERTIFICATE block: invalid base64",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
            r"{path}: the PEM CERTIFICATE block: certificate is not valid DER X\.509: .*",
        ),
    ],
)
def test_pins_of_files_that_are_not_certificates_or_keys(
    content: bytes, pattern: str, tmp_path: Path
) -> None:
    path = tmp_path / "input.pem"
    path.write_bytes(content)
    assert_one_line_error(
        run("pins", str(path)), pattern.format(path=re.escape(str(path))), status=2
    )


def test_pins_of_an_encrypted_key(ec_key: Any, tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(
        ec_key.private_bytes(
            PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    assert_one_line_error(
        run("pins", str(path)),
        re.escape(f"{path}: the PEM ENCRYPTED PRIVATE KEY block: the private key is encrypted: ")
        + ".*",
        status=2,
    )


def test_pins_toml_is_a_rule_ready_to_paste(
    ec_key: Any, tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    csr = tmp_path / "backup.csr"
    csr.write_bytes(make_csr(ec_key).public_bytes(PEM))
    with tls_server(pki().genuine) as server:
        status, out, _ = cli(
            capsys,
            "pins",
            "--format",
            "toml",
            f"{HOST}:{server.port}",
            str(csr),
            "--cafile",
            cafile,
        )
        assert status == 0
        assert '\nhosts = ["localhost"]\n' in out
        assert f'"{spki_pin(ec_key)}",  # {csr} (CSR): CN=api.example.com' in out
        assert f'"{pki().genuine.pin}",  # localhost depth 0: ' in out
        path = tmp_path / "pins.toml"
        path.write_text(out)  # pasted as is
        policy = PinPolicy.load(path)
        assert policy.pins_for(HOST) == frozenset({pki().genuine.pin, ca_pin(), spki_pin(ec_key)})
        status, out, _ = cli(
            capsys, "check", str(path), "--port", str(server.port), "--cafile", cafile
        )
    assert status == 0, out
    assert out.splitlines()[1] == f'PASS localhost:{server.port} (rule "localhost")'


# -- pinning check -------------------------------------------------------------------------------


def test_check_pass(tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = policy_file(tmp_path, [([HOST, "**.example.com"], [ca_pin(), BACKUP_PIN], "")])
    with tls_server(pki().genuine) as server:
        status, out, err = cli(
            capsys, "check", str(path), "--port", str(server.port), "--cafile", cafile
        )
    assert (status, err) == (0, "")
    ca_subject = x509.load_pem_x509_certificate(pki().genuine_ca.cert_pem.bytes()).subject
    assert out.splitlines() == [
        f"policy {path}: 2 patterns, enforced",
        f'PASS localhost:{server.port} (rule "localhost")',
        f"    matched: {ca_pin()} at depth 1 ({ca_subject.rfc4514_string()})",
        f"    backup:  {BACKUP_PIN} (not in the live chain)",
        "ok: 1 of 1 host passed, 0 warnings",
    ]


def test_check_fail(tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = policy_file(tmp_path, [([HOST], [OTHER_PIN, BACKUP_PIN], "")])
    with tls_server(pki().genuine) as server:
        status, out, _ = cli(
            capsys, "check", str(path), "--port", str(server.port), "--cafile", cafile
        )
    assert status == 1
    lines = out.splitlines()
    assert lines[1] == f'FAIL localhost:{server.port} (rule "localhost")'
    assert "    the verified chain:" in lines
    assert f"      0 {pki().genuine.pin} " in out
    assert f"      1 {ca_pin()} " in out
    assert "    problem: no pin of the rule is in the verified chain" in lines
    assert lines[-1] == "FAILED: 0 of 1 host passed, 0 warnings"


def test_check_expiring(tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]) -> None:
    soon = (dt.datetime.now(UTC) + dt.timedelta(days=10)).date()
    path = policy_file(
        tmp_path, [([HOST], [ca_pin(), BACKUP_PIN], f"expires = {soon.isoformat()}\n")]
    )
    with tls_server(pki().genuine) as server:
        args = ("check", str(path), "--port", str(server.port), "--cafile", cafile)
        status, out, _ = cli(capsys, *args)
        assert status == 0  # a warning, not a failure...
        assert f"  rule localhost: expires on {soon}, in 9 days" in out.splitlines()
        assert out.splitlines()[-1] == "ok: 1 of 1 host passed, 1 warning"
        status, out, _ = cli(capsys, *args, "--fail-on-warning")
        assert status == 1  # ...unless asked
        assert out.splitlines()[-1] == "FAILED: 1 of 1 host passed, 1 warning"
        status, out, _ = cli(capsys, *args, "--expiry-warning", "5")
        assert status == 0 and "warnings:" not in out


def test_check_no_backup(tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = policy_file(tmp_path, [([HOST], [ca_pin()], "")])
    with tls_server(pki().genuine) as server:
        status, out, _ = cli(
            capsys, "check", str(path), "--port", str(server.port), "--cafile", cafile
        )
    assert status == 1
    assert f"    matched: {ca_pin()} at depth 1" in out
    assert "    problem: no backup pin: every pin of the rule is in the live chain" in out
    assert "  rule localhost: a single pin: no backup" in out


def test_check_backup_already_served(
    tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two pins, but both keys are in the live chain: losing the leaf key leaves only a CA pin.
    path = policy_file(tmp_path, [([HOST], [pki().genuine.pin, ca_pin()], "")])
    with tls_server(pki().genuine) as server:
        status, out, _ = cli(
            capsys,
            "check",
            "--format",
            "json",
            str(path),
            "--port",
            str(server.port),
            "--cafile",
            cafile,
        )
    assert status == 1
    report = json.loads(out)
    (host,) = report["hosts"]
    assert host["status"] == "fail"
    assert [(m["depth"], m["pin"]) for m in host["matched"]] == [
        (0, str(pki().genuine.pin)),
        (1, str(ca_pin())),
    ]
    assert host["backups"] == []
    assert host["problems"][0].startswith("no backup pin")
    assert report["ok"] is False
    assert report["warnings"] == []  # two pins: no single-pin warning; the failure says it all


def test_check_insecure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = policy_file(tmp_path, [([HOST], [pki().self_signed.pin, BACKUP_PIN], "")])
    with tls_server(pki().self_signed) as server:
        status, out, _ = cli(capsys, "check", str(path), "--port", str(server.port))
        assert status == 3  # no CA vouches for it: not verified, so nothing known of its pins
        assert f"ERROR localhost:{server.port}" in out
        assert "not trusted" in out
        status, out, _ = cli(capsys, "check", "--insecure", str(path), "--port", str(server.port))
    assert status == 0
    assert out.splitlines()[1:4] == [
        f'PASS localhost:{server.port} (rule "localhost")',
        "    not verified (--insecure): only the leaf counts",
        f"    matched: {pki().self_signed.pin} at depth 0 (CN=localhost)",
    ]


def test_check_many_hosts_json(tmp_path: Path, cafile: str) -> None:
    """One policy, five hosts on five servers (reached with --connect-to), each its own case."""
    names = ["pass", "fail", "nobackup", "served", "soon"]
    identities = {name: identity_for(f"{name}.pinning.test") for name in names}
    soon = (dt.datetime.now(UTC) + dt.timedelta(days=3)).date()
    path = policy_file(
        tmp_path,
        [
            (["pass.pinning.test"], [ca_pin(), BACKUP_PIN], ""),
            (["fail.pinning.test"], [OTHER_PIN, BACKUP_PIN], ""),
            (["nobackup.pinning.test"], [ca_pin()], ""),
            (["served.pinning.test"], [identities["served"].pin, ca_pin()], ""),
            (["soon.pinning.test"], [ca_pin(), BACKUP_PIN], f"expires = {soon}\n"),
            (["**.cdn.pinning.test"], [ca_pin(), BACKUP_PIN], ""),
        ],
        head="enforce = false\n",
    )
    servers = {name: tls_server(identity) for name, identity in identities.items()}
    running = {name: server.__enter__() for name, server in servers.items()}
    try:
        redirects = [
            f"--connect-to={name}.pinning.test:443:127.0.0.1:{server.port}"
            for name, server in running.items()
        ]
        result = run("check", "--format", "json", str(path), "--cafile", cafile, *redirects)
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)
    assert result.returncode == 1
    assert result.stderr == ""
    report = json.loads(result.stdout)
    statuses = {host["host"]: host["status"] for host in report["hosts"]}
    assert statuses == {
        "pass.pinning.test": "pass",
        "fail.pinning.test": "fail",
        "nobackup.pinning.test": "fail",
        "served.pinning.test": "fail",
        "soon.pinning.test": "pass",
    }
    assert report["enforce"] is False
    hosts = {host["host"]: host for host in report["hosts"]}
    assert hosts["pass.pinning.test"]["matched"][0]["depth"] == 1
    assert hosts["pass.pinning.test"]["address"] == f"127.0.0.1:{running['pass'].port}"
    assert hosts["fail.pinning.test"]["matched"] == []
    assert hosts["fail.pinning.test"]["problems"] == ["no pin of the rule is in the verified chain"]
    assert report["warnings"] == [
        "rule nobackup.pinning.test: a single pin: no backup",
        f"rule soon.pinning.test: expires on {soon}, in 2 days",
    ]
    # The wildcard rule has no host to connect to; it is still listed.
    assert report["rules"][-1]["patterns"] == ["**.cdn.pinning.test"]


def test_check_named_hosts(tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = policy_file(tmp_path, [(["**.pinning.test"], [ca_pin(), BACKUP_PIN], "")])
    identity = identity_for("www.pinning.test")
    with tls_server(identity) as server:
        status, out, _ = cli(
            capsys,
            "check",
            str(path),
            "www.pinning.test",
            "nothing.example:8443",
            f"--connect-to=www.pinning.test::127.0.0.1:{server.port}",
            "--cafile",
            cafile,
        )
    assert status == 1
    lines = out.splitlines()
    assert (
        f'PASS www.pinning.test:443 via 127.0.0.1:{server.port} (rule "**.pinning.test")' in lines
    )
    assert "FAIL nothing.example:8443" in lines
    assert "    problem: no rule of the policy covers this host" in lines


def test_check_android_config(
    tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = base64.b64encode(ca_pin().digest).decode()
    backup = base64.b64encode(BACKUP_PIN.digest).decode()
    path = tmp_path / "network_security_config.xml"
    path.write_text(
        f"""<?xml version="1.0" encoding="utf-8"?>
<network-security-config>
    <domain-config>
        <domain includeSubdomains="true">localhost</domain>
        <pin-set expiration="2999-01-01">
            <pin digest="SHA-256">{digest}</pin>
            <pin digest="SHA-256">{backup}</pin>
        </pin-set>
    </domain-config>
</network-security-config>
"""
    )
    with tls_server(pki().genuine) as server:
        status, out, _ = cli(
            capsys, "check", str(path), f"localhost:{server.port}", "--cafile", cafile
        )
    assert status == 0
    assert f'PASS localhost:{server.port} (rule "**.localhost")' in out


def test_check_unreachable_host_fails_without_traceback(tmp_path: Path) -> None:
    path = policy_file(tmp_path, [(["127.0.0.1"], [ca_pin(), BACKUP_PIN], "")])
    port = closed_port()
    result = run("check", str(path), "--port", str(port))
    assert result.returncode == 3
    assert result.stderr == ""  # piped: no progress line
    assert f"ERROR 127.0.0.1:{port}" in result.stdout
    assert f"problem: cannot connect to 127.0.0.1:{port}: connection refused" in result.stdout


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "[[rule]]\nhosts = ['a.example']\npins = ['sha256/x']\n",
            r"{path}:3: rule 1: malformed pin 'sha256/x': invalid base64",
        ),
        ("enforce = maybe\n", r"{path}:1:11: invalid TOML: .*"),
        (
            "[[rule]]\nhost = ['a.example']\n",
            r"{path}:2: rule 1: unknown key 'host' \(did you mean 'hosts'\? .*\)",
        ),
    ],
)
def test_check_malformed_policy_is_a_one_line_error(
    text: str, pattern: str, tmp_path: Path
) -> None:
    path = tmp_path / "pins.toml"
    path.write_text(text)
    assert_one_line_error(
        run("check", str(path)), pattern.format(path=re.escape(str(path))), status=2
    )


def test_check_malformed_android_config_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "nsc.xml"
    path.write_text('<!DOCTYPE x [<!ENTITY a "b">]>\n<network-security-config/>')
    assert_one_line_error(
        run("check", str(path)),
        re.escape(
            f"{path}:1: a document type declaration (DTD) is refused: entities are not allowed"
        ),
        status=2,
    )


def test_check_missing_policy_is_a_one_line_error(tmp_path: Path) -> None:
    assert_one_line_error(
        run("check", str(tmp_path / "absent.toml")), r".*No such file or directory.*", status=2
    )


def test_check_wildcards_only_is_a_usage_error(tmp_path: Path) -> None:
    path = policy_file(tmp_path, [(["**.example.com"], [ca_pin(), BACKUP_PIN], "")])
    result = run("check", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"pinning: error: {path} has no exact host to connect to")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "bad", ["a.example", "a.example:443:127.0.0.1:99999", "::::", "a:b:127.0.0.1:1"]
)
def test_check_bad_connect_to_is_a_usage_error(bad: str, tmp_path: Path) -> None:
    path = policy_file(tmp_path, [(["a.example"], [ca_pin(), BACKUP_PIN], "")])
    result = run("check", str(path), f"--connect-to={bad}")
    assert result.returncode == 2
    assert result.stderr.startswith("pinning: error: --connect-to")


# -- the command itself --------------------------------------------------------------------------


def test_help_documents_commands_and_exit_status() -> None:
    result = run("--help")
    assert result.returncode == 0
    for word in ("pins", "check", "demo", "bench", "exit status", "pinning: error:"):
        assert word in result.stdout
    for command in ("pins", "check"):
        sub = run(command, "--help")
        assert sub.returncode == 0
        assert "examples:" in sub.stdout


@pytest.mark.parametrize(
    "args", [[], ["pins"], ["check"], ["frobnicate"], ["pins", "--format", "x"]]
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert re.match(r"pinning( \w+)?: error: ", result.stderr.splitlines()[-1])


def test_demo_is_still_wired(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--help"])
    assert info.value.code == 0
    assert "intercepting proxy" in capsys.readouterr().out


def test_pins_connect_to(capsys: pytest.CaptureFixture[str], cafile: str) -> None:
    identity = identity_for("new.pinning.test")
    with tls_server(identity) as server:
        status, out, _ = cli(
            capsys,
            "pins",
            "new.pinning.test",
            f"--connect-to=new.pinning.test:443:127.0.0.1:{server.port}",
            "--cafile",
            cafile,
        )
    assert status == 0
    assert out.splitlines()[:2] == [
        f"new.pinning.test:443 (via 127.0.0.1:{server.port}): verified chain of "
        "new.pinning.test, leaf first",
        f"  0 {identity.pin}",
    ]
