"""``pinning publish``: create, update, re-sign the timestamp, rotate keys; errors as one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tufrepo import genuine_text, rotated_text

from pinning.cli.main import main
from pinning.dynamic.publish import Repository


def publish(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["publish", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("pins.toml").write_bytes(genuine_text())
    return tmp_path


def test_create_then_update(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = publish(capsys, "--policy", "pins.toml", "--keys", "keys", "repo")
    assert status == 2 and out == ""
    assert err.startswith("pinning: error: missing key files: keys/root.pem")
    assert not Path("repo").exists()

    status, out, _ = publish(
        capsys, "--policy", "pins.toml", "--keys", "keys", "--create-keys", "repo"
    )
    assert status == 0
    assert "created repository repo: root v1 (repo/metadata/1.root.json)" in out
    assert "signed targets v1, pins.toml policy v1" in out
    assert {os.stat(f"keys/{role}.pem").st_mode & 0o777 for role in ("root", "timestamp")} == {
        0o600
    }

    status, out, _ = publish(capsys, "--policy", "pins.toml", "--keys", "keys", "repo")
    assert status == 0 and out.startswith("pins.toml unchanged (policy v1)\nsigned timestamp v2")

    Path("pins.toml").write_bytes(rotated_text())
    status, out, _ = publish(capsys, "--policy", "pins.toml", "--keys", "keys", "repo")
    assert status == 0
    assert out.splitlines()[:2] == ["signed targets v2, pins.toml policy v2", "signed snapshot v2"]
    assert Repository("repo", "keys").targets().signed.version == 2


def test_timestamp_only_and_rotation(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = publish(capsys, "--timestamp-only", "--keys", "keys", "repo")
    assert status == 2 and "not a pin repository" in err
    publish(capsys, "--policy", "pins.toml", "--keys", "keys", "--create-keys", "repo")
    status, out, _ = publish(
        capsys, "--timestamp-only", "--timestamp-expiry", "6h", "--keys", "keys", "repo"
    )
    assert status == 0 and out.startswith("signed timestamp v2, expires ")
    repo = Repository("repo", "keys")
    left = repo.timestamp().signed.expires - repo.targets().signed.expires
    assert left.days < -300  # six hours against a year
    old_root = Path("keys/root.pem").read_bytes()
    status, out, _ = publish(
        capsys, "--rotate", "root", "--rotate", "timestamp", "--keys", "keys", "repo"
    )
    assert status == 0, out
    assert "signed root v2" in out
    assert Path("keys/root.pem.retired-v1").read_bytes() == old_root
    assert Path("keys/root.pem").read_bytes() != old_root
    assert repo.root_version() == 2
    # The retired key no longer publishes.
    Path("keys/timestamp.pem").unlink()
    Path("keys/timestamp.pem.retired-v1").rename("keys/timestamp.pem")
    status, _, err = publish(capsys, "--timestamp-only", "--keys", "keys", "repo")
    assert status == 2 and "keys/timestamp.pem is not a timestamp key of root v2" in err


def test_an_invalid_policy_publishes_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("bad.toml").write_text('[[rule]]\nhosts = ["a.example"]\npinz = []\n')
    status, out, err = publish(
        capsys, "--policy", "bad.toml", "--keys", "keys", "--create-keys", "repo"
    )
    assert status == 2 and out == ""
    assert err.startswith("pinning: error: bad.toml:3: rule 1: unknown key 'pinz'")
    assert err.rstrip().endswith("nothing published")
    assert not Path("repo").exists() and not Path("keys").exists()


def test_keys_of_another_repository_are_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(capsys, "--policy", "pins.toml", "--keys", "keys", "--create-keys", "repo")
    publish(capsys, "--policy", "pins.toml", "--keys", "other", "--create-keys", "repo2")
    Path("pins.toml").write_bytes(rotated_text())
    status, _, err = publish(capsys, "--policy", "pins.toml", "--keys", "other", "repo")
    assert status == 2
    assert "other/targets.pem is not a targets key of root v1" in err
    assert Repository("repo", "keys").targets().signed.version == 1


def test_usage_errors(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["publish", "--rotate", "admin", "--keys", "keys", "repo"])
    assert exit_.value.code == 2
    assert "'admin' is not a role" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["publish", "--timestamp-expiry", "0s", "--keys", "keys", "repo"])
    assert "is not a duration" in capsys.readouterr().err
    status, _, err = publish(capsys, "--keys", "keys", "repo")
    assert status == 2 and "--policy POLICY is required" in err
