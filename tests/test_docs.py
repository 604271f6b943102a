"""The manual's examples that run offline are run, so that they cannot drift from the code.

README.md and docs/*.md mark such a fenced block with an HTML comment on the line before its fence
(blank lines aside), invisible on GitHub and in the built site:

- ``<!-- doc-test -->`` before a ``console`` block: each ``$ command`` (a line ending in ``\\``
  continues it) runs in bash, in a fresh directory, with ``pinning`` and ``python`` this
  interpreter's; its output, standard output and error together, must be the lines that follow it
  up to the next ``$``, exactly (trailing spaces aside). The exit status is not compared: the
  error examples show only what is printed.
- ``<!-- doc-test -->`` before a ``python`` block with ``>>>`` prompts: a doctest
  (``NORMALIZE_WHITESPACE``, so that a long output may be wrapped on the page).
- ``<!-- doc-test -->`` before another ``python`` block: it is executed, and must not raise. Each
  placeholder pin (``"sha256/…"``, ``"sha256/…current key…"``) is first replaced by a distinct
  well-formed pin, so that the example still builds what it shows.
- ``<!-- doc-test file=NAME -->`` before any block: the block is written to ``NAME`` in that
  directory for the examples after it on the same page (a key, a policy file).
"""

from __future__ import annotations

import base64
import doctest
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(`{3,})(.*)$")
_MARKER = re.compile(r"^<!--\s*doc-test(?:\s+file=(?P<file>\S+))?\s*-->$")
_PLACEHOLDER_PIN = re.compile(r'"sha256/…[^"]*"')


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # the fence's line, 1-based
    lang: str
    text: str
    file: str | None  # the file this block is written to, or None: the block is run

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def marked_blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` that is marked with a doc-test comment, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, info = opening.groups()
        end = next(
            (j for j in range(i + 1, len(lines)) if lines[j].strip() == fence),
            None,
        )
        assert end is not None, f"{page.name}:{i + 1}: fence never closed"
        previous = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = _MARKER.match(previous.strip())
        if marker is not None:
            lang = info.strip().split(" ")[0]
            text = "\n".join(lines[i + 1 : end]) + "\n"
            blocks.append(Block(page, i + 1, lang, text, marker.group("file")))
        i = end + 1
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in marked_blocks(page)]
RUN_BLOCKS = [block for block in ALL_BLOCKS if block.file is None]


def _prepare(block: Block, directory: Path) -> None:
    """Write the files the page defines before ``block`` into ``directory``."""
    for earlier in marked_blocks(block.page):
        if earlier.line >= block.line:
            break
        if earlier.file is not None:
            (directory / earlier.file).write_text(earlier.text, encoding="utf-8")


def console_steps(text: str) -> list[tuple[str, str]]:
    """The ``(command, expected output)`` pairs of a console block."""
    steps: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = [line[2:]]
            while command[-1].endswith("\\") and i + 1 < len(lines):
                i += 1
                command.append(lines[i])
            steps.append(("\n".join(command), []))
        else:
            assert steps, f"output before the first command: {line!r}"
            steps[-1][1].append(line)
        i += 1
    return [(command, _normal("\n".join(output))) for command, output in steps]


def _normal(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.strip("\n").splitlines())


def run_console(text: str, directory: Path) -> list[str]:
    """Run a console block in ``directory``; return a description of each output that differs."""
    shims = directory / ".bin"
    shims.mkdir(exist_ok=True)
    for name, args in (("pinning", '-m pinning "$@"'), ("python", '"$@"')):
        shim = shims / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" {args}\n', encoding="utf-8")
        shim.chmod(0o755)
    env = dict(os.environ)
    env.update(
        PATH=f"{shims}{os.pathsep}{env.get('PATH', '')}",
        COLUMNS="80",  # argparse wraps its help to the terminal's width
        PYTHONIOENCODING="utf-8",
    )
    differences = []
    for command, expected in console_steps(text):
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
        )
        actual = _normal(done.stdout.replace(str(directory), "."))
        if actual != expected:
            differences.append(
                f"$ {command}\n--- the page shows:\n{expected}\n--- the command prints:\n{actual}"
            )
    return differences


def run_doctest(block: Block) -> str:
    """Run a ``>>>`` block; return the failure report, empty when it passes."""
    test = doctest.DocTestParser().get_doctest(
        block.text, {}, block.id, str(block.page), block.line
    )
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=report.write)
    return report.getvalue() if runner.failures else ""


def with_placeholder_pins(source: str) -> str:
    """Replace each ``"sha256/…"`` placeholder by a distinct well-formed pin."""
    count = iter(range(1_000_000))

    def pin(_match: re.Match[str]) -> str:
        digest = hashlib.sha256(f"placeholder {next(count)}".encode()).digest()
        return '"sha256/' + base64.b64encode(digest).decode("ascii") + '"'

    return _PLACEHOLDER_PIN.sub(pin, source)


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[block.id for block in RUN_BLOCKS])
def test_example(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _prepare(block, tmp_path)
    monkeypatch.chdir(tmp_path)
    if block.lang == "console":
        if shutil.which("bash") is None:
            pytest.skip("the console examples run in bash")
        differences = run_console(block.text, tmp_path)
        assert not differences, f"{block.id}: the example's output changed\n" + "\n".join(
            differences
        )
    elif block.lang == "python" and ">>>" in block.text:
        failures = run_doctest(block)
        assert not failures, failures
    elif block.lang == "python":
        code = compile(with_placeholder_pins(block.text), block.id, "exec")
        exec(code, {"__name__": "__doc_example__"})
    else:
        pytest.fail(f"{block.id}: a doc-test block must be console or python, not {block.lang!r}")


def test_the_examples_that_must_be_checked_are_marked() -> None:
    """The README's example runs, and at least three console or ``>>>`` examples are compared."""
    readme = [block for block in RUN_BLOCKS if block.page.name == "README.md"]
    assert any("create_default_context(policy)" in block.text for block in readme)
    compared = [
        block
        for block in RUN_BLOCKS
        if block.lang == "console" or (block.lang == "python" and ">>>" in block.text)
    ]
    assert len(compared) >= 3, [block.id for block in compared]
    for block in ALL_BLOCKS:
        if block.file is not None:
            assert "/" not in block.file and not block.file.startswith("."), block.id


def test_a_changed_output_fails(tmp_path: Path) -> None:
    """The comparison is not vacuous: an output that differs from the page is reported."""
    if shutil.which("bash") is None:
        pytest.skip("the console examples run in bash")
    page = "$ python -c 'print(6 * 7)'\n42\n"
    assert run_console(page, tmp_path) == []
    assert run_console(page.replace("42", "43"), tmp_path) != []
    block = Block(ROOT / "README.md", 1, "python", ">>> 6 * 7\n43\n", None)
    assert run_doctest(block)
