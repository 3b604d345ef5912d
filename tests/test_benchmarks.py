"""The benchmarks compare like with like: the hand-written references train the zoo's networks, and each zoo
backend is divided by its own framework's reference; time to quality logs finite curves in time order."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.append(str(BENCHMARKS))  # appended, so that benchmarks/ shadows nothing; its modules import `_bench`


def _load(name):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load("_bench")


@pytest.fixture(scope="module")
def references():
    return _load("reference_torch"), _load("reference_jax")


@pytest.mark.parametrize("model", ["vae", "wgan_gp", "cyclegan"])
def test_references_have_the_zoo_networks_parameter_counts(bench, references, model):
    import zoo.registry

    cfg = bench.MODELS[model]
    zoo_model = zoo.registry.get(cfg["registry"]).build()
    names = {"vae": ("encoder", "decoder"), "wgan_gp": ("generator", "critic"),
             "cyclegan": ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")}[model]
    expected = {name: sum(math.prod(v.shape) for v in getattr(zoo_model, name).trainable_variables) for name in names}
    assert all(count > 0 for count in expected.values())
    for reference in references:
        assert reference.parameter_counts(model, cfg) == expected, reference.__name__


def test_ratios_pair_each_zoo_backend_with_its_own_reference(bench):
    report = _load("report")

    def record(impl, backend, fit, step, **extra):
        return {"model": "vae", "batch_size": 128, "impl": impl, "backend": backend, "variant": "default",
                "fit": {"steps_per_s": fit}, "step": {"steps_per_s": step}, **extra}

    records = [
        record("zoo", "torch", 9.0, 10.0, input_share=0.05), record("torch", "torch", 10.0, 10.0),
        record("zoo", "jax", 4.0, 8.0), record("jax", "jax", 8.0, 8.0),
        record("zoo", "tensorflow", 6.0, 6.0), record("keras_io", "tensorflow", 5.0, 4.0),
        {**record("zoo", "torch", 1.0, 1.0), "variant": "tf.data prefetch", "group": "options"},
    ]
    rows = {row["backend"]: row for row in report.ratio_rows(records)}
    assert set(rows) == {"torch", "jax", "tensorflow"}
    assert rows["torch"]["reference"] == "torch" and rows["torch"]["fit_ratio"] == pytest.approx(0.9)
    assert rows["torch"]["meets_target"] and rows["torch"]["input_share"] == 0.05
    assert rows["jax"]["fit_ratio"] == pytest.approx(0.5) and rows["jax"]["step_ratio"] == pytest.approx(1.0)
    assert rows["jax"]["meets_target"] is False
    assert rows["tensorflow"]["reference"] == "keras_io" and rows["tensorflow"]["step_ratio"] == pytest.approx(1.5)


def test_rates_report_the_median_and_spread(bench):
    out = bench.rates([2.0, 1.0, 4.0], steps=4, batch_size=8)
    assert out["steps_per_s"] == 2.0 and out["min"] == 1.0 and out["max"] == 4.0
    assert out["images_per_s"] == 16.0 and out["q1"] <= 2.0 <= out["q3"]


def test_time_to_quality_summary_reads_the_curves(bench):
    ttq = _load("time_to_quality")
    assert ttq.marks(4, 20) == [20.0 * i for i in range(1, 13)]
    assert ttq.marks(5, 90) == [90.0, 180.0, 240.0, 270.0, 300.0]  # the 4-minute mark is always measured
    torch_run = {"impl": "torch", "backend": "torch", "label": "PyTorch loop",
                 "curve": [[0.0, 0, 500.0], [120.0, 100, 120.0], [240.0, 200, 100.0]]}
    fast = {"impl": "zoo", "backend": "tensorflow", "label": "zoo tensorflow",
            "curve": [[0.0, 0, 520.0], [60.0, 90, 110.0], [150.0, 220, 99.0], [240.5, 360, 94.0]]}
    slow = {"impl": "zoo", "backend": "torch", "label": "zoo torch", "curve": [[0.0, 0, 510.0], [241.0, 50, 130.0]]}
    rows = {r["label"]: r for r in ttq.rows({"model": "vae", "runs": [torch_run, fast, slow]})}
    assert rows["zoo tensorflow"]["to_reference"] == 150.0 and rows["zoo tensorflow"]["speedup"] == pytest.approx(1.6)
    assert rows["zoo tensorflow"]["to_target"] == 240.5 and rows["zoo tensorflow"]["at_report"] == [240.5, 360, 94.0]
    assert rows["PyTorch loop"]["to_reference"] == 240.0 and rows["PyTorch loop"]["to_target"] is None
    assert rows["zoo torch"]["to_reference"] is None and rows["zoo torch"]["speedup"] is None


@pytest.mark.parametrize("model", ["vae", "wgan_gp"])
def test_time_to_quality_quick_run_logs_monotone_finite_curves(tmp_path, real_tfds_dir, model):
    import keras

    backend = keras.backend.backend()
    env = {**os.environ, "KERAS_BACKEND": backend, "ZOO_TFDS_DIR": real_tfds_dir}
    result = subprocess.run([sys.executable, str(BENCHMARKS / "time_to_quality.py"), "--model", model, "--quick",
                             "--backends", backend, "--out-dir", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    summary = json.loads((tmp_path / f"time_to_quality_{model}.json").read_text())
    assert summary["model"] == model and summary["quick"] and summary["commit"]
    assert {"cpu", "cores_usable", "memory_gb", "load_average"} <= set(summary["machine"])
    runs = {(r["impl"], r["backend"]): r for r in summary["runs"]}
    assert set(runs) == {("torch", "torch"), ("zoo", backend)}
    assert runs["torch", "torch"]["params"] == runs["zoo", backend]["params"]  # the same networks
    for run in runs.values():
        assert run["finished"] and "error" not in run, run.get("error")
        seconds, steps, metrics = zip(*run["curve"])
        assert seconds[0] == 0.0 and steps[0] == 0 and len(run["curve"]) >= 2
        assert all(a < b for a, b in zip(seconds, seconds[1:])), seconds  # one point per evaluation, in time order
        assert all(a <= b for a, b in zip(steps, steps[1:])) and steps[-1] > 0, steps
        assert seconds[-1] >= 60 * run["minutes"]  # it trained for its whole budget
        assert all(isinstance(m, float) and math.isfinite(m) and m > 0 for m in metrics), metrics
        assert len(run["eval_wall_seconds"]) == len(run["curve"]) and run["metric"] == summary["metric"]
    assert {row["label"] for row in summary["rows"]} == {"PyTorch loop", f"zoo {backend}"}
    text = (tmp_path / f"time_to_quality_{model}.md").read_text()
    assert "| PyTorch loop |" in text and f"| zoo {backend} |" in text
    assert Image.open(tmp_path / f"time_to_quality_{model}.png").size == (960, 560)
