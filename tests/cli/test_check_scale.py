"""``pinning check`` at scale: hosts files, a port per host, --jobs, verdicts printed as they come
(a progress line on a terminal only), and an exit status per outcome. Real TLS on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli_servers import closed_port, identity_for, tls_server, write_cafile
from tlsutil import BACKUP_PIN, pki

from pinning.cli.main import main
from pinning.policy.pins import Pin

OTHER_PIN = Pin(bytes([5]) * 32)  # no test key has it


@pytest.fixture
def cafile(tmp_path: Path) -> str:
    return str(write_cafile(tmp_path))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pinning", *args]


def write_policy(tmp_path: Path, rules: list[tuple[list[str], list[Pin]]]) -> str:
    text = "".join(
        f"[[rule]]\nhosts = {json.dumps(hosts)}\npins = {json.dumps([str(p) for p in pins])}\n"
        for hosts, pins in rules
    )
    path = tmp_path / "pins.toml"
    path.write_text(text)
    return str(path)


GOOD = [pki().genuine_ca_pin, BACKUP_PIN]


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never answers TLS."""
    with socket.create_server(("127.0.0.1", 0), backlog=8) as listener:
        yield listener.getsockname()[1]


# -- hosts files and ports -------------------------------------------------------------------------


def test_hosts_file_with_comments_ports_and_ipv6(
    tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path, [(["localhost", "127.0.0.1", "::1"], GOOD)])
    with (
        tls_server(pki().genuine) as first,
        tls_server(pki().genuine) as second,
        tls_server(identity_for("::1")) as v6,
    ):
        hosts = tmp_path / "hosts.txt"
        hosts.write_text(
            "# production\n"
            f"localhost:{first.port}   # the first\n"
            "\n"
            f"  127.0.0.1:{second.port}\n"
            f"[::1]:{v6.port}\n"
            f"localhost:{first.port}\n"  # twice: checked once
        )
        # [::1] is reached on 127.0.0.1, still verified as the IP address ::1.
        redirect = f"--connect-to=[::1]:{v6.port}:127.0.0.1:{v6.port}"
        status, out, err = cli(
            capsys,
            "check",
            "--format",
            "json",
            policy,
            f"@{hosts}",
            redirect,
            "--cafile",
            cafile,
        )
        assert (status, err) == (0, "")
        report = json.loads(out)
        assert [(h["host"], h["port"], h["status"]) for h in report["hosts"]] == [
            ("localhost", first.port, "pass"),
            ("127.0.0.1", second.port, "pass"),
            ("::1", v6.port, "pass"),
        ]
        assert report["counts"] == {"pass": 3, "fail": 0, "error": 0}
        assert report["exit_status"] == 0
        # The same with --hosts-file, and hosts on the command line first.
        status, out, _ = cli(
            capsys,
            "check",
            "--jobs",
            "1",
            policy,
            f"127.0.0.1:{second.port}",
            "--hosts-file",
            str(hosts),
            redirect,
            "--cafile",
            cafile,
        )
    assert status == 0
    verdicts = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL", "ERROR"))]
    assert verdicts == [  # --jobs 1: the order given
        f'PASS 127.0.0.1:{second.port} (rule "127.0.0.1")',
        f'PASS localhost:{first.port} (rule "localhost")',
        f'PASS [::1]:{v6.port} via 127.0.0.1:{v6.port} (rule "::1")',
    ]
    assert out.splitlines()[-1] == "ok: 3 of 3 hosts passed, 0 warnings"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.example\nexample.com:99999\n", "{file}:2: 'example.com:99999': the port must be"),
        ("a.example b.example\n", "{file}:1: 'a.example b.example': one host[:port] a line"),
        ("\n\n[::1\n", "{file}:3: '[::1' is not host[:port]"),
        ("# nothing\n\n", "the hosts file {file} names no host"),
    ],
)
def test_a_bad_hosts_file_names_the_file_and_line(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path, [(["a.example"], GOOD)])
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(text)
    for args in ([f"@{hosts}"], ["--hosts-file", str(hosts)]):
        status, out, err = cli(capsys, "check", policy, *args)
        assert (status, out) == (2, "")  # a usage error: nothing was checked
        assert err.startswith("pinning: error: " + message.format(file=hosts)), err


def test_missing_hosts_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path, [(["a.example"], GOOD)])
    status, _, err = cli(capsys, "check", policy, f"@{tmp_path / 'absent.txt'}")
    assert status == 2
    assert "cannot read the hosts file" in err and "absent.txt" in err


@pytest.mark.parametrize("jobs", ["0", "-1", "x", "257"])
def test_jobs_out_of_range_is_a_usage_error(
    jobs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path, [(["a.example"], GOOD)])
    with pytest.raises(SystemExit) as info:
        main(["check", "--jobs", jobs, policy])
    assert info.value.code == 2
    assert "--jobs" in capsys.readouterr().err


# -- exit status -----------------------------------------------------------------------------------


def test_exit_status_tells_pin_failure_from_unreachable(
    tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(
        tmp_path, [(["localhost"], GOOD), (["127.0.0.1"], [OTHER_PIN, BACKUP_PIN])]
    )
    down = closed_port()
    with tls_server(pki().genuine) as server:
        common = ("--cafile", cafile, "--timeout", "5")
        ok = cli(capsys, "check", policy, f"localhost:{server.port}", *common)
        unreachable = cli(
            capsys, "check", policy, f"localhost:{server.port}", f"localhost:{down}", *common
        )
        untrusted = cli(capsys, "check", policy, f"localhost:{server.port}", *common[2:])
        pin_failed = cli(capsys, "check", policy, f"127.0.0.1:{server.port}", *common)
        both = cli(
            capsys,
            "check",
            "--format",
            "json",
            policy,
            f"127.0.0.1:{server.port}",
            f"localhost:{down}",
            *common,
        )
    assert ok[0] == 0
    assert unreachable[0] == 3
    assert f"ERROR localhost:{down}" in unreachable[1]
    assert unreachable[1].splitlines()[-1] == (
        "FAILED: 1 of 2 hosts passed (1 not reached or not verified), 0 warnings"
    )
    assert untrusted[0] == 3  # not verified: nothing is known of its pins
    assert "is not trusted" in untrusted[1]
    assert pin_failed[0] == 1
    assert f'FAIL 127.0.0.1:{server.port} (rule "127.0.0.1")' in pin_failed[1]
    assert both[0] == 1  # a pin failure is never hidden by an unreachable host
    report = json.loads(both[1])
    assert [h["status"] for h in report["hosts"]] == ["fail", "error"]
    assert report["hosts"][1]["error"].startswith(f"cannot connect to localhost:{down}")
    assert (report["ok"], report["exit_status"]) == (False, 1)
    assert report["counts"] == {"pass": 0, "fail": 1, "error": 1}


def test_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    text = capsys.readouterr().out
    for line in (
        "  0  every host passed",
        "  1  a host failed its pin check",
        "  2  a usage error",
        "  3  no host failed, but one could not be reached",
        "--jobs N",
        "--hosts-file",
        "@FILE",
    ):
        assert line in text


# -- streaming and progress ------------------------------------------------------------------------


def test_each_verdict_is_printed_as_soon_as_known(tmp_path: Path, cafile: str) -> None:
    """A host that never answers does not hold back the verdict of one that did."""
    policy = write_policy(tmp_path, [(["localhost"], GOOD)])
    with (
        tls_server(pki().genuine) as server,
        silent_server() as silent,
        subprocess.Popen(
            command(
                "check",
                policy,
                f"localhost:{silent}",
                f"localhost:{server.port}",
                "--cafile",
                cafile,
                "--timeout",
                "3",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc,
    ):
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the policy, before any connection
        started = time.monotonic()
        second = proc.stdout.readline()
        waited = time.monotonic() - started
        out, err = proc.communicate(timeout=30)
    assert first.startswith("policy ")
    assert second == f'PASS localhost:{server.port} (rule "localhost")\n'
    # The silent host times out after 3 s; the PASS line did not wait for it.
    assert waited < 2, waited
    assert f"ERROR localhost:{silent}" in out and "timed out" in out
    assert proc.returncode == 3
    assert err == ""  # piped: no progress line


def test_progress_line_on_a_terminal_only(tmp_path: Path, cafile: str) -> None:
    policy = write_policy(tmp_path, [(["localhost"], GOOD)])
    with tls_server(pki().genuine) as server:
        args = ("check", policy, f"localhost:{server.port}", "127.0.0.1:1", "--cafile", cafile)
        master, slave = pty.openpty()
        try:
            proc = subprocess.run(
                command(*args), stdout=subprocess.PIPE, stderr=slave, text=True, timeout=60
            )
        finally:
            os.close(slave)
        terminal = b""
        with contextlib.suppress(OSError):  # EIO once the terminal's writer is gone
            while chunk := os.read(master, 4096):
                terminal += chunk
        os.close(master)
        piped = subprocess.run(command(*args), capture_output=True, text=True, timeout=60)
    assert proc.returncode == piped.returncode == 1  # 127.0.0.1 has no rule: a failure
    assert b"\r\x1b[K" in terminal
    assert b"checked 2 of 2: 1 passed, 1 failed, 0 in error" in terminal
    assert terminal.endswith(b"\r\x1b[K")  # the line is erased at the end
    assert "\r" not in proc.stdout
    assert piped.stderr == ""
    assert sorted(proc.stdout.splitlines()) == sorted(piped.stdout.splitlines())


# -- ports in the policy's own host list (check = [...]) -------------------------------------------


def test_the_policy_names_its_servers_with_ports(
    tmp_path: Path, cafile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with tls_server(pki().genuine) as first, tls_server(pki().genuine) as second:
        policy = tmp_path / "pins.toml"
        policy.write_text(
            "[[rule]]\n"
            'hosts = ["localhost"]\n'
            f"pins = {json.dumps([str(p) for p in GOOD])}\n"
            f'check = ["localhost:{first.port}", "localhost:{second.port}"]\n'
            "[[rule]]\n"
            'hosts = ["127.0.0.1"]\n'
            f"pins = {json.dumps([str(p) for p in GOOD])}\n"
        )
        status, out, err = cli(
            capsys,
            "check",
            "--format",
            "json",
            "--port",
            str(second.port),
            str(policy),
            "--cafile",
            cafile,
        )
    assert (status, err) == (0, "")
    # The declared servers with their ports, then the exact host no check entry names, on --port.
    assert [(h["host"], h["port"], h["status"]) for h in json.loads(out)["hosts"]] == [
        ("localhost", first.port, "pass"),
        ("localhost", second.port, "pass"),
        ("127.0.0.1", second.port, "pass"),
    ]


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ('["other.example:443"]', "pins.toml:4: rule 1: check: 'other.example:443' is not covered"),
        ('["localhost:0"]', "pins.toml:4: rule 1: check: 'localhost:0': the port must be"),
        ('"localhost:443"', "pins.toml:4: rule 1: 'check' must be an array of strings"),
        ("[]", "pins.toml:4: rule 1: 'check' is empty"),
    ],
)
def test_a_bad_check_entry_names_the_file_line_and_rule(
    check: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "pins.toml"
    policy.write_text(
        "[[rule]]\n"
        'hosts = ["localhost"]\n'
        f"pins = {json.dumps([str(p) for p in GOOD])}\n"
        f"check = {check}\n"
    )
    status, out, err = cli(capsys, "check", str(policy))
    assert (status, out) == (2, "")
    assert message in err, err
