"""Fixtures of the dynamic tests: a pin repository with its keys, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tufrepo import Published, http_serving

from pinning.dynamic.publish import Repository


@pytest.fixture
def published(tmp_path: Path) -> Iterator[Published]:
    """An empty repository (new keys), served over HTTP on 127.0.0.1."""
    repo = Repository(tmp_path / "repo", tmp_path / "keys")
    repo.create(create_keys=True)
    with http_serving(repo.folder) as url:
        yield Published(repo, url, tmp_path / "cache")
