"""A clean tree: running and testing wahaweb leaves `git status --porcelain` as it was.

Reflex's `reflex init` (which `reflex run` runs on a fresh clone, before `.web` exists)
rewrites `.gitignore`, prepending each of its default entries not present line-for-line;
ours spells them exactly as Reflex does, so the file is left byte for byte. Everything a
run, the suite or the Makefile produces is ignored. (`make test` also compares
`git status --porcelain` before and after the whole suite: `make check-clean`.)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: What `make run`, `make test` and the tools leave behind in the work tree.
GENERATED = [".web/package.json", ".states/abc", ".venv", ".tools/node_modules/x",
             "wahaweb.db", "wahaweb.db-wal", "wahaweb.db-shm", "wahaweb.db-journal", "test-artifacts/app.log",
             ".pytest_cache/v/cache", "reflex.lock/bun.lock", "assets/external/x.js",
             "wahaweb/__pycache__/x.cpython-311.pyc", ".env"]


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)


@pytest.fixture
def in_git() -> None:
    if shutil.which("git") is None or _git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout")


def test_reflex_leaves_our_gitignore_alone(tmp_path):
    from reflex.utils.frontend_skeleton import initialize_gitignore

    copy = tmp_path / ".gitignore"
    shutil.copy(REPO / ".gitignore", copy)
    before = copy.read_bytes()
    initialize_gitignore(gitignore_file=copy)
    assert copy.read_bytes() == before


@pytest.mark.parametrize("path", GENERATED)
def test_what_runs_produce_is_ignored(in_git, path):
    assert _git("check-ignore", "-q", "--no-index", path).returncode == 0, f"{path} is not ignored"


@pytest.mark.parametrize("path", ["assets/favicon.ico", "assets/logo.svg", ".gitignore", "rxconfig.py"])
def test_source_files_are_not_ignored(in_git, path):
    assert (REPO / path).is_file()
    assert _git("check-ignore", "-q", "--no-index", path).returncode == 1, f"{path} would be ignored"
