"""zoo.io: atomic writes and the commit a run records."""

import subprocess

import pytest

from zoo.io import git_commit, write_atomic

pytestmark = pytest.mark.backend_free


def git(root, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_GIT_COMMIT", raising=False)
    git(tmp_path, "init", "-q")
    (tmp_path / "zoo").mkdir()
    (tmp_path / "zoo" / "a.py").write_text("x = 1\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first")
    return tmp_path


def test_git_commit_names_the_commit_and_marks_changed_code_dirty(checkout, monkeypatch):
    head = git(checkout, "rev-parse", "--short", "HEAD")
    assert git_commit(checkout) == head
    (checkout / "notes.txt").write_text("untracked, outside the code\n")
    assert git_commit(checkout) == head
    (checkout / "results").mkdir()
    (checkout / "results" / "run.json").write_text("{}\n")
    git(checkout, "add", "results")
    git(checkout, "commit", "-qm", "a run's results")
    head = git(checkout, "rev-parse", "--short", "HEAD")
    (checkout / "results" / "run.json").write_text('{"rewritten": true}\n')  # what a run writes: not code
    assert git_commit(checkout) == head
    (checkout / "benchmarks" / "results").mkdir(parents=True)  # nor a benchmark's results, nor markdown
    (checkout / "benchmarks" / "results" / "cpu.json").write_text("{}\n")
    (checkout / "benchmarks" / "README.md").write_text("# how to run\n")
    (checkout / "zoo" / "NOTES.md").write_text("a note\n")
    assert git_commit(checkout) == head
    (checkout / "benchmarks" / "run.py").write_text("z = 3\n")  # a benchmark's code is code
    assert git_commit(checkout) == head + "-dirty"
    (checkout / "benchmarks" / "run.py").unlink()
    (checkout / "zoo" / "new.py").write_text("y = 2\n")  # new code: what ran is not the commit
    assert git_commit(checkout) == head + "-dirty"
    (checkout / "zoo" / "new.py").unlink()
    (checkout / "zoo" / "a.py").write_text("x = 2\n")
    assert git_commit(checkout) == head + "-dirty"
    monkeypatch.setenv("ZOO_GIT_COMMIT", "abc1234")  # a tree sent without .git names its commit
    assert git_commit(checkout) == "abc1234"


def test_git_commit_outside_a_checkout_is_unknown(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_GIT_COMMIT", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_commit(tmp_path) == "unknown"


def test_write_atomic_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    path = write_atomic(tmp_path / "sub" / "out.json", "first")
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    assert [p.name for p in path.parent.iterdir()] == ["out.json"]
