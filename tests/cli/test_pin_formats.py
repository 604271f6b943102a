"""``pinning pins --format curl|okhttp|nsc``, ``--policy``, and curl's own ``--pinnedpubkey``
taking what ``--format curl`` prints: a genuine server accepted, a rogue one refused."""

from __future__ import annotations

import base64
import functools
import json
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from _cli_servers import tls_server, write_cafile
from tlsutil import BACKUP_PIN, GENUINE_BODY, HOST, pki

from pinning.cli.main import main
from pinning.core.errors import PinningWarning
from pinning.policy.pins import Pin
from pinning.policy.policy import PinPolicy

CURLE_SSL_PINNEDPUBKEYNOTMATCH = 90
CURLE_NOT_BUILT_IN = 4
CURLE_UNKNOWN_OPTION = 2


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def cafile(tmp_path: Path) -> str:
    """The genuine CA and the rogue one: the rogue server is trusted, only a pin refuses it."""
    path = tmp_path / "both.pem"
    path.write_text(pki().client_cadata)
    return str(path)


def chain_pins(capsys: pytest.CaptureFixture[str], port: int, cafile: str) -> list[Pin]:
    status, out, _ = cli(capsys, "pins", "--format", "json", f"{HOST}:{port}", "--cafile", cafile)
    assert status == 0
    return [Pin.parse(item["pin"]) for item in json.loads(out)[0]["chain"]]


# -- curl ------------------------------------------------------------------------------------------


@functools.cache
def curl_problem() -> str | None:
    """Why curl cannot run these tests, or None."""
    curl = shutil.which("curl")
    if curl is None:
        return "curl is not installed"
    with tls_server(pki().genuine) as server:
        probe = subprocess.run(
            [curl, "-sS", "-o", "/dev/null", "--max-time", "10", "--cacert", str(_ca_file()),
             "--pinnedpubkey", BACKUP_PIN.curl(), f"https://{HOST}:{server.port}/"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    if probe.returncode in (CURLE_NOT_BUILT_IN, CURLE_UNKNOWN_OPTION):
        return f"this curl has no --pinnedpubkey for its TLS library: {probe.stderr.strip()}"
    if probe.returncode != CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return f"curl fails before its pin check: {probe.returncode} {probe.stderr.strip()}"
    return None


@functools.cache
def _ca_file() -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "both.pem"
    path.write_text(pki().client_cadata)
    return path


def curl_get(port: int, pins: str, cafile: str) -> subprocess.CompletedProcess[str]:
    problem = curl_problem()
    if problem is not None:
        pytest.skip(problem)
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--cacert", cafile, "--pinnedpubkey", pins,
         f"https://{HOST}:{port}/"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_curl_format_is_what_curl_pins_with(
    capsys: pytest.CaptureFixture[str], cafile: str, tmp_path: Path
) -> None:
    backup_csr = tmp_path / "backup.pub"
    backup_csr.write_bytes(pki().self_signed.chain_pems[0])  # another key: the backup
    with tls_server(pki().genuine) as genuine, tls_server(pki().rogue) as rogue:
        status, out, err = cli(
            capsys, "pins", "--format", "curl", f"{HOST}:{genuine.port}", str(backup_csr),
            "--cafile", cafile,
        )  # fmt: skip
        assert (status, err) == (0, "")
        pins = out.strip()
        assert pins.count(";") == 2  # the leaf, the CA (trustme: no intermediate), the backup
        assert all(part.startswith("sha256//") for part in pins.split(";"))
        # Each part reads back, and is a key of the chain or the backup.
        expected = [*chain_pins(capsys, genuine.port, cafile), pki().self_signed.pin]
        assert [Pin.parse(part) for part in pins.split(";")] == expected
        accepted = curl_get(genuine.port, pins, cafile)
        refused = curl_get(rogue.port, pins, cafile)
        trusted_only = curl_get(rogue.port, ";".join(p.curl() for p in [pki().rogue.pin]), cafile)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.encode() == GENUINE_BODY
    assert refused.returncode == CURLE_SSL_PINNEDPUBKEYNOTMATCH, refused.stderr
    assert refused.stdout == ""
    assert trusted_only.returncode == 0  # the rogue is trusted: only the pins refused it


def test_our_okhttp_form_is_not_what_curl_takes(cafile: str) -> None:
    """curl reads 'sha256/<base64>' as a file name: the two forms are not interchangeable."""
    with tls_server(pki().genuine) as genuine:
        result = curl_get(genuine.port, str(pki().genuine.pin), cafile)
    assert result.returncode != 0


# -- okhttp and nsc --------------------------------------------------------------------------------


def test_okhttp_snippet(capsys: pytest.CaptureFixture[str], cafile: str) -> None:
    with tls_server(pki().genuine) as server:
        status, out, _ = cli(
            capsys, "pins", "--format", "okhttp", f"{HOST}:{server.port}", "--cafile", cafile,
            "--host", "**.example.com", "--host", "api.example.net",
        )  # fmt: skip
        pins = chain_pins(capsys, server.port, cafile)
    assert status == 0
    lines = out.splitlines()
    assert lines[1] == "val certificatePinner = CertificatePinner.Builder()"
    assert lines[-1] == "    .build()"
    adds = [line.split("  //")[0] for line in lines[2:-1]]
    hosts = ("**.example.com", "api.example.net")
    assert adds == [f'    .add("{host}", "{pin}")' for host in hosts for pin in pins]


def test_nsc_of_pins_reads_back(
    capsys: pytest.CaptureFixture[str], cafile: str, tmp_path: Path
) -> None:
    with tls_server(pki().genuine) as server:
        status, out, _ = cli(
            capsys, "pins", "--format", "nsc", f"{HOST}:{server.port}", "--cafile", cafile
        )
        pins = chain_pins(capsys, server.port, cafile)
    assert status == 0
    path = tmp_path / "network_security_config.xml"
    path.write_text(out)
    policy = PinPolicy.from_android_nsc(path)
    assert [(rule.pattern, rule.pins) for rule in policy.rules] == [(HOST, frozenset(pins))]


def test_nsc_of_a_whole_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = Pin(bytes([9]) * 32)
    source = tmp_path / "pins.toml"
    source.write_text(
        "expires = 2030-06-30\n"
        f'[[rule]]\nhosts = ["api.example.com", "**.cdn.example.com"]\n'
        f'pins = ["{BACKUP_PIN}", "{other}"]\n'
        f'[[rule]]\nhosts = ["old.example.com"]\npins = ["{other}", "{BACKUP_PIN}"]\n'
        "expires = 2020-01-01\n"
    )
    status, out, err = cli(capsys, "pins", "--format", "nsc", "--policy", str(source))
    assert (status, err) == (0, "")
    path = tmp_path / "network_security_config.xml"
    path.write_text(out)
    back = PinPolicy.from_android_nsc(path)
    original = PinPolicy.load(source)
    assert {(r.pattern, r.pins, r.expires) for r in back.rules} == {
        (r.pattern, r.pins, r.expires) for r in original.rules
    }
    assert f"<pin digest=\"SHA-256\">{base64.b64encode(other.digest).decode()}</pin>" in out


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--format", "nsc", "--policy", "{report_only}"], 2, "a report-only policy"),
        (["--format", "curl", "--policy", "{report_only}"], 2, "--policy writes a whole policy"),
        (["--format", "nsc", "{key}"], 2, "--format nsc needs the hosts"),
        (["--format", "okhttp", "{key}"], 2, "--format okhttp needs the hosts"),
        (["--format", "nsc", "--host", "*.a.example", "{key}"], 2, "matches one label exactly"),
        (["--format", "toml", "--host", "a..b", "{key}"], 2, "'a..b'"),
        (["--format", "curl"], 2, "give a TARGET"),
    ],
)
def test_format_usage_errors(
    args: list[str], status: int, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_only = tmp_path / "report.toml"
    report_only.write_text(
        f'enforce = false\n[[rule]]\nhosts = ["a.example"]\npins = ["{BACKUP_PIN}"]\n'
    )
    key = tmp_path / "cert.pem"
    key.write_bytes(pki().genuine.chain_pems[0])
    filled = [arg.format(report_only=report_only, key=key) for arg in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinningWarning)
        got, out, err = cli(capsys, "pins", *filled)
    assert (got, out) == (status, "")
    assert err.startswith("pinning: error: ") and message in err, err
    assert len(err.splitlines()) == 1


def test_curl_format_of_files_needs_no_host(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_bytes(pki().genuine.chain_pems[0])
    status, out, _ = cli(capsys, "pins", "--format", "curl", str(cert))
    assert (status, out) == (0, pki().genuine.pin.curl() + "\n")
    assert write_cafile  # the shared CA file helper stays importable for the other tests
