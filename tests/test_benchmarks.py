"""The benchmarks compare like with like: the hand-written references train the zoo's networks, and each zoo
backend is divided by its own framework's reference."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

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
