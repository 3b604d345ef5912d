"""Files and provenance: writes that an interruption never leaves half done, and the commit a run came from."""

import os
import subprocess
import uuid
from pathlib import Path


def write_atomic(path, data):
    """Write `data` (bytes or str) to `path` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temp, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


CODE = ("zoo", "recipes", "benchmarks", "pyproject.toml")  # the code a run executes
# inside it, what runs write and what people read: a benchmark that rewrites its results file, or a README
# edited while a run goes on, leaves the code it ran unchanged
NOT_CODE = (":(exclude)benchmarks/results", ":(exclude,glob)**/*.md")


def git_commit(root):
    """The short commit of the git checkout at `root`, with "-dirty" when the code differs from it.

    Dirty means changed or new files in the code (zoo/, recipes/,
    benchmarks/, pyproject.toml); what runs write (checkpoints/, results/,
    benchmarks/results/, the cards) and markdown do not count, so a script of
    several runs records the commit it ran. Nor do the checkpoints a run reads
    (e.g. the classifiers behind fid_mnistnet): a locally changed one is not
    flagged. `$ZOO_GIT_COMMIT` wins: a copy of the tree sent without .git
    (e.g. to a GPU machine) names its commit there. "unknown" outside a
    checkout. Take it when a run starts: a long run can outlast later commits.
    """
    if os.environ.get("ZOO_GIT_COMMIT"):
        return os.environ["ZOO_GIT_COMMIT"]

    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--untracked-files=normal", "--", *CODE, *NOT_CODE)
        return git("rev-parse", "--short", "HEAD") + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
