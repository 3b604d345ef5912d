"""What must agree across TensorFlow, JAX and PyTorch, each run in its own process.

Run once (not once per backend) by tools/run_tests.py.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hub_fixtures import _env_for
from hub_server import serve_hub

BACKENDS = ("tensorflow", "jax", "torch")
WORKER = Path(__file__).with_name("worker.py")
ROOT = WORKER.parent.parent.parent
HUB_REPO = "cross/vae"


def run_worker(backend, *args, env=None):
    env = {**os.environ, **(env or {}), "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(WORKER), *map(str, args)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{backend} worker failed:\n{result.stderr[-4000:]}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cross_backend")
    for backend in BACKENDS:
        (root / backend).mkdir()
        run_worker(backend, "train_and_save", root / backend)
    with serve_hub(root) as hub:
        hub_env = _env_for(hub, root / "hf_home")
        run_worker("torch", "publish", root / "jax" / "vae", HUB_REPO, env=hub_env)
        refs = [f"{b}={root / b / 'vae'}" for b in BACKENDS] + [f"hub=hf://{HUB_REPO}"]
        for backend in BACKENDS:
            run_worker(backend, "load", *refs, root / backend / "loaded.npz", env=hub_env)
    return root


def test_one_wgan_gp_step_gives_the_same_weights_on_every_backend(runs):
    steps = {b: np.load(runs / b / "wgan_step.npz") for b in BACKENDS}
    for backend, step in steps.items():
        assert float(step["generator_moved"]) > 0, f"{backend}: the generator did not change"
        assert float(step["critic_moved"]) > 0, f"{backend}: the critic did not change"
        assert float(step["penalty"]) > 0, f"{backend}: the gradient penalty is zero"
    reference = steps["tensorflow"]
    names = sorted((k for k in reference.files if k.startswith("arr_")), key=lambda k: int(k[4:]))
    for backend in ("jax", "torch"):
        for name in names:
            np.testing.assert_allclose(steps[backend][name], reference[name], atol=1e-4, rtol=0,
                                       err_msg=f"{backend} vs tensorflow, weight {name}")


@pytest.mark.parametrize("saved_on", BACKENDS + ("hub",))
def test_a_checkpoint_saved_on_one_backend_loads_on_the_others(runs, saved_on):
    """'hub': saved on jax, published from torch to a local Hub, downloaded by each backend."""
    expected = np.load(runs / ("jax" if saved_on == "hub" else saved_on) / "vae_logits.npy")
    for loaded_on in BACKENDS:
        got = np.load(runs / loaded_on / "loaded.npz")[saved_on]
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0,
                                   err_msg=f"saved on {saved_on}, loaded on {loaded_on}")
