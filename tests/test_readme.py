"""Every Python and shell example of the README runs as written, so that one can never break silently.

The examples run in a scratch folder that holds what a reader would have at hand: links to the repository's
`checkpoints/` and `recipes/`, a few digit images in `my_digits/` and `my_images/`, and a `photo.png`; the Hub
examples talk to the local Hub server of tests/hub_server.py, with `$ZOO_HUB_ORG` set to the organisation they
publish under. The Python blocks run one after the other in one process, as in a reader's session; the shell
blocks line by line, in one Python process that runs `zoo ...` through `zoo.cli.main` and `python recipes/...`
as `__main__` (as the shell would, without starting Keras a dozen times; other commands run as written). Four
rewrites keep the examples tiny: the install and test-suite lines are not run, a
recipe gets `--quick` (its quick run writes under $ZOO_LOGS_DIR, never into checkpoints/; a command the rewrite
makes equal to an earlier one runs once), and a block marked `<!-- not run: why -->` is an excerpt. A stopped
training's exit status 75 counts as success.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, shared_data_dir
from hub_fixtures import _env_for
from hub_server import serve_hub

pytestmark = pytest.mark.backend_free  # examples of the public API; the API is tested on every backend
SKIPPED_LINES = ("pip install", "python tools/run_tests.py")
FENCE = re.compile(r"(<!-- not run: [^>]*-->\n)?```(python|bash)\n(.*?)```", re.S)


def examples():
    """`(language, code)` of each README block to run, in order."""
    text = (ROOT / "README.md").read_text()
    return [(language, code) for skip, language, code in FENCE.findall(text) if not skip]


def test_the_readme_has_runnable_examples_of_python_and_of_the_shell():
    languages = [language for language, _ in examples()]
    assert languages.count("python") >= 2 and languages.count("bash") >= 3
    assert "import zoo" in examples()[1][1] and "zoo.data.from_folder" in examples()[1][1]


@pytest.fixture
def sandbox(tmp_path):
    shared_data_dir(os.path.join("mnist", "t10k-images-idx3-ubyte.gz"), "the README's examples")
    for name in ("checkpoints", "recipes"):
        (tmp_path / name).symlink_to(ROOT / name)
    rng = np.random.default_rng(0)
    for folder in ("my_digits", "my_images"):
        (tmp_path / folder).mkdir()
        for i in range(24):
            digit = np.zeros((28, 28), "uint8")
            digit[6:22, 10 + i % 6:14 + i % 6] = 255  # a stroke, a little to the side in each image
            Image.fromarray(digit).save(tmp_path / folder / f"{i:02d}.png")
    Image.fromarray((rng.uniform(size=(40, 52, 3)) * 255).astype("uint8")).save(tmp_path / "photo.png")
    return tmp_path


def shell_line(line):
    """The command a README shell line runs here, or None for a line not run."""
    line = line.split("  #", 1)[0].strip()
    if not line or line.startswith("#") or line.startswith(SKIPPED_LINES):
        return None
    words = shlex.split(line)
    if words[0] == "python" and words[1].startswith("recipes/"):
        words = [sys.executable, *words[1:]] + (["--quick"] if "--quick" not in words else []) + ["--verbose", "0"]
    return words


# Runs the README's shell lines (a JSON list of argument lists) one after the other, in this one process.
SHELL = """
import json, runpy, subprocess, sys
import zoo.cli

for words in json.load(open(sys.argv[1])):
    print("README$ " + " ".join(words), file=sys.stderr, flush=True)
    if words[0] == "zoo":
        status = zoo.cli.main(words[1:]) or 0
    elif words[0] == sys.executable and words[1].startswith("recipes/"):
        sys.argv = words[1:]
        try:
            runpy.run_path(words[1], run_name="__main__")
            status = 0
        except SystemExit as stop:
            status = stop.code or 0
    else:
        status = subprocess.run(words).returncode
    if status not in (0, 75):  # 75: a training stopped by its limit, as the README's --max-minutes asks
        sys.exit(f"exit status {status}")
"""


def test_every_example_of_the_readme_runs(sandbox):
    with serve_hub(sandbox / "hub") as hub:
        env = {**os.environ, **_env_for(hub, sandbox / "hf_home"), "ZOO_HUB_ORG": "my-org",
               "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "tensorflow"}  # the quickest to start small runs here
        blocks = examples()
        python = "\n\n".join(code for language, code in blocks if language == "python")
        (sandbox / "session.py").write_text(python)
        result = subprocess.run([sys.executable, "session.py"], cwd=sandbox, env=env, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, f"the README's Python examples failed:\n{result.stderr[-4000:]}"
        commands = []
        for language, code in blocks:
            for command in map(shell_line, code.splitlines() if language == "bash" else []):
                if command is not None and command not in commands:  # `recipe`, `recipe --quick`: one quick run
                    commands.append(command)
        (sandbox / "shell.py").write_text(SHELL)
        (sandbox / "commands.json").write_text(json.dumps(commands))
        result = subprocess.run([sys.executable, "shell.py", "commands.json"], cwd=sandbox, env=env,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"a README shell line failed:\n{result.stderr[-4000:]}"
        assert result.stderr.count("README$ ") == len(commands) >= 12
    for written in ("my_vae.keras", "samples.png", "clean.png", "codes.npy", "reconstructions.png",
                    "my_vae_samples.png", "my_vae"):
        assert (sandbox / written).exists(), written
    assert not list(Path(ROOT / "checkpoints").glob("*quick*"))  # the recipes' quick runs wrote elsewhere
