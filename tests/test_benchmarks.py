"""The benchmarks compare like with like: the hand-written references train the zoo's networks, and each zoo
backend is divided by its own framework's reference; time to quality logs finite curves in time order."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import shared_data_dir
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


@pytest.fixture(scope="module")
def multi30k():
    return shared_data_dir(os.path.join("multi30k", "train.en.gz"), "the translation benchmark's vocabulary")


@pytest.mark.parametrize("model", ["vae", "wgan_gp", "cyclegan", "translation"])
def test_references_have_the_zoo_networks_parameter_counts(bench, references, model, request):
    import zoo.registry

    if model == "translation":
        request.getfixturevalue("multi30k")
    cfg = bench.MODELS[model]
    zoo_model = zoo.registry.get(cfg["registry"]).build()
    names = {"vae": ("encoder", "decoder"), "wgan_gp": ("generator", "critic"),
             "cyclegan": ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b"),
             "translation": ("translator", "discriminator")}[model]
    expected = {name: sum(math.prod(v.shape) for v in getattr(zoo_model, name).trainable_variables) for name in names}
    assert all(count > 0 for count in expected.values())
    for reference in references:
        assert reference.parameter_counts(model, cfg) == expected, reference.__name__
    if model == "translation":  # the registry's noise and adversary are the ones the references copy
        assert (zoo_model.word_dropout, zoo_model.word_shuffle, zoo_model.discriminator_smoothing) == (
            cfg["word_dropout"], cfg["word_shuffle"], cfg["smoothing"])
        assert zoo_model.tokenizer.vocab_size == cfg["vocab_size"]
        vocabulary = bench.translation_vocabulary(cfg)  # what the references build their noise from
        assert vocabulary.model_proto == zoo_model.tokenizer.model_proto


# Translation: a small configuration, so that every implementation runs its step in seconds.
TINY_TRANSLATION = {"batch_size": 4, "length": 8, "lengths": (2, 8), "vocab_size": 200, "sentences": 300,
                    "embedding_dim": 16, "units": 16, "discriminator_units": 16}


@pytest.fixture(scope="module")
def tiny_translation(bench, multi30k):
    """The small configuration, its vocabulary, and the zoo's model built and compiled by zoo_step."""
    cfg = {**bench.MODELS["translation"], **TINY_TRANSLATION}
    zoo_step = _load("zoo_step")
    return cfg, bench.translation_vocabulary(cfg), zoo_step.build("translation", cfg)


def test_translation_zoo_model_uses_the_benchmark_settings(tiny_translation):
    import keras

    cfg, vocabulary, model = tiny_translation
    translator, discriminator = model.optimizer["translator"], model.optimizer["discriminator"]
    value = lambda v: float(keras.ops.convert_to_numpy(v))
    assert isinstance(translator, keras.optimizers.Adam) and isinstance(discriminator, keras.optimizers.RMSprop)
    assert value(translator.learning_rate) == pytest.approx(cfg["learning_rate"])
    assert (translator.beta_1, translator.beta_2, translator.epsilon) == (cfg["beta_1"], cfg["beta_2"], 1e-7)
    assert translator.clipnorm == cfg["clipnorm"] and translator.global_clipnorm is None
    assert value(discriminator.learning_rate) == pytest.approx(cfg["discriminator_learning_rate"])
    assert (discriminator.rho, discriminator.epsilon, discriminator.momentum, discriminator.centered) == (
        cfg["rho"], 1e-7, 0.0, False)
    assert model.tokenizer.model_proto == vocabulary.model_proto
    assert [vocabulary.language_id(lang) for lang in cfg["languages"]] == [3, 4]


def test_translation_batches_are_padded_sentences_of_ordinary_ids(bench, tiny_translation):
    cfg, vocabulary, _ = tiny_translation
    batch = bench.synthetic("translation", 50, cfg=cfg)
    assert sorted(batch) == ["en", "en_translated", "fr", "fr_translated"]
    for ids in batch.values():
        assert ids.shape == (50, cfg["length"]) and ids.dtype == np.int32
        lengths = (ids != 0).sum(1)
        assert lengths.min() >= cfg["lengths"][0] and lengths.max() <= cfg["lengths"][1]
        assert ((ids != 0).cumsum(1)[np.arange(50), -1] == lengths).all()
        assert (ids[:, :lengths.min()] != 0).all()  # padding on the right only
        assert not np.isin(ids[ids != 0], vocabulary.special_ids.tolist() + [2]).any()
        assert ids.max() < cfg["vocab_size"]


def _reference_weights(model):
    """The zoo translator's and discriminator's weights as numpy, for both references' layouts."""
    import keras

    numpy = keras.ops.convert_to_numpy
    gru = lambda cell: {"kernel": numpy(cell.kernel), "recurrent_kernel": numpy(cell.recurrent_kernel),
                        "bias": numpy(cell.bias)}
    t = model.translator
    translator = {"embedding": numpy(t.embedding.embeddings), "encoder_forward": gru(t.encoder[0].forward_layer.cell),
                  "encoder_backward": gru(t.encoder[0].backward_layer.cell),
                  "bridge": {"w": numpy(t.bridge.kernel), "b": numpy(t.bridge.bias)}, "decoder": gru(t.decoder.cell),
                  "attention": {"w": numpy(t.attention.kernel)},
                  "combine": {"w": numpy(t.combine.kernel), "b": numpy(t.combine.bias)},
                  "output_bias": numpy(t.output_bias)}
    dense = [layer for layer in model.discriminator.layers if isinstance(layer, keras.layers.Dense)]
    discriminator = {layer.name: {"w": numpy(layer.kernel), "b": numpy(layer.bias)} for layer in dense}
    return translator, discriminator


def _load_torch(nets, translator, discriminator):
    """Keras' weights into reference_torch's modules: transposed, GRU gates from z, r, h to PyTorch's r, z, n."""
    import torch

    def gates(a):
        z, r, h = np.split(a, 3, axis=-1)
        return np.concatenate([r, z, h], axis=-1)

    values = {"embedding.weight": translator["embedding"], "bridge.weight": translator["bridge"]["w"].T,
              "bridge.bias": translator["bridge"]["b"], "attention.weight": translator["attention"]["w"].T,
              "combine.weight": translator["combine"]["w"].T, "combine.bias": translator["combine"]["b"],
              "output_bias": translator["output_bias"]}
    for prefix, key, suffix in (("encoder", "encoder_forward", ""), ("encoder", "encoder_backward", "_reverse"),
                                ("decoder", "decoder", "")):
        gru = translator[key]
        values.update({f"{prefix}.weight_ih_l0{suffix}": gates(gru["kernel"]).T,
                       f"{prefix}.weight_hh_l0{suffix}": gates(gru["recurrent_kernel"]).T,
                       f"{prefix}.bias_ih_l0{suffix}": gates(gru["bias"][0]),
                       f"{prefix}.bias_hh_l0{suffix}": gates(gru["bias"][1])})
    nets["translator"].load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in values.items()})
    linear = [i for i, m in enumerate(nets["discriminator"]) if isinstance(m, torch.nn.Linear)]
    state = {}
    for index, layer in zip(linear, discriminator.values(), strict=True):  # dense_0, dense_1, ..., logit
        state[f"{index}.weight"] = torch.from_numpy(np.ascontiguousarray(layer["w"].T))
        state[f"{index}.bias"] = torch.from_numpy(layer["b"])
    nets["discriminator"].load_state_dict(state)


def test_translation_references_compute_the_zoo_noise_and_losses(bench, tiny_translation, references, monkeypatch):
    """With the zoo's weights and the same random draws, both references give the zoo's noisy sentences,
    discriminator loss and translator loss (denoising + back-translation + adversarial): the same step."""
    import jax.numpy as jnp
    import keras
    import torch

    import zoo.text.noise

    cfg, vocabulary, model = tiny_translation
    torch_ref, jax_ref = references
    batch = bench.synthetic("translation", 16, cfg=cfg, seed=3)
    rng = np.random.default_rng(0)
    draws = {key: (rng.random(ids.shape, dtype=np.float32), rng.random(ids.shape, dtype=np.float32))
             for key, ids in batch.items()}
    queue = []

    def uniform(shape, minval=0.0, maxval=1.0, seed=None):  # the zoo's draws, in the order noise() makes them
        return keras.ops.convert_to_tensor(minval + (maxval - minval) * queue.pop(0))

    monkeypatch.setattr(zoo.text.noise, "random", type("Draws", (), {"uniform": staticmethod(uniform)}))
    noisy = {}
    for key, ids in batch.items():
        queue[:] = list(draws[key])
        noisy[key] = keras.ops.convert_to_numpy(model.noise(keras.ops.convert_to_tensor(ids)))
        assert not queue
        args = (cfg["word_dropout"], cfg["word_shuffle"])
        by_torch = torch_ref.add_noise(torch.from_numpy(ids).long(), torch.from_numpy(vocabulary.word_start),
                                       *map(torch.from_numpy, draws[key]), *args)
        by_jax = jax_ref.add_noise(jnp.asarray(ids), jnp.asarray(vocabulary.word_start), *draws[key], *args)
        np.testing.assert_array_equal(by_torch.numpy(), noisy[key], err_msg=key)
        np.testing.assert_array_equal(np.asarray(by_jax), noisy[key], err_msg=key)
    assert any((noisy[key] != batch[key]).any() for key in batch)  # the noise did something
    monkeypatch.undo()

    for variable in model.translator.weights + model.discriminator.weights:  # weights that make every term count:
        variable.assign(rng.normal(0.0, 0.3, variable.shape).astype(np.float32))  # at Keras' init, logits are ~0
    languages = cfg["languages"]
    clean = [batch[lang] for lang in languages]
    sources = [noisy[lang] for lang in languages]
    translated = [noisy[f"{lang}_translated"] for lang in languages]
    tensors = lambda arrays: [keras.ops.convert_to_tensor(a) for a in arrays]
    zoo_d, _ = model.discriminator_loss(tensors(sources))
    zoo_t, terms = model.translator_loss(tensors(clean), tensors(sources), tensors(translated))
    expected = float(keras.ops.convert_to_numpy(zoo_d)), float(keras.ops.convert_to_numpy(zoo_t))
    assert float(keras.ops.convert_to_numpy(terms["adversarial_loss"])) > 0
    language_ids = [vocabulary.language_id(lang) for lang in languages]
    translator, discriminator = _reference_weights(model)

    nets = torch_ref.translation_nets(cfg)
    _load_torch(nets, translator, discriminator)
    as_torch = lambda arrays: [torch.from_numpy(a).long() for a in arrays]
    with torch.no_grad():
        states, mask = nets["translator"].encode(torch.cat(as_torch(sources)))
        d = torch_ref.discriminator_loss(nets["discriminator"], states, mask, as_torch(sources), cfg["smoothing"])
        t = torch_ref.translator_loss(nets["translator"], nets["discriminator"], as_torch(clean), as_torch(sources),
                                      as_torch(translated), language_ids)
    assert (d.item(), t.item()) == pytest.approx(expected, rel=1e-4), "PyTorch reference"

    as_jax = lambda arrays: [jnp.asarray(a) for a in arrays]
    states, mask = jax_ref.encode(translator, jnp.concatenate(as_jax(sources)))
    d = jax_ref.discriminator_loss(discriminator, states, mask, as_jax(sources), cfg["smoothing"])
    t = jax_ref.translator_loss(translator, discriminator, as_jax(clean), as_jax(sources), as_jax(translated),
                                language_ids)
    assert (float(d), float(t)) == pytest.approx(expected, rel=1e-4), "JAX reference"


def test_translation_references_update_as_the_zoo_optimizers(tiny_translation, references):
    """Adam with Keras' per-tensor clipnorm and Keras' RMSprop, written out by the references, move a weight as
    the zoo's optimizers do (two steps; the first gradient's norm is above the clip)."""
    import jax.numpy as jnp
    import keras
    import torch

    cfg, _, _ = tiny_translation
    torch_ref, jax_ref = references
    rng = np.random.default_rng(1)
    start = rng.normal(size=(3, 4)).astype(np.float32)
    grads = [20.0 * rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(3, 4)).astype(np.float32)]
    assert np.linalg.norm(grads[0]) > cfg["clipnorm"] > np.linalg.norm(grads[1])
    keras_optimizers = {"adam": keras.optimizers.Adam(cfg["learning_rate"], beta_1=cfg["beta_1"],
                                                      clipnorm=cfg["clipnorm"]),
                        "rmsprop": keras.optimizers.RMSprop(cfg["discriminator_learning_rate"])}
    for name, optimizer in keras_optimizers.items():
        variable = keras.Variable(start)
        for g in grads:
            optimizer.apply([keras.ops.convert_to_tensor(g)], [variable])
        expected = keras.ops.convert_to_numpy(variable)

        params, state = jnp.asarray(start), (jax_ref.adam_init if name == "adam" else jax_ref.rmsprop_init)(
            jnp.asarray(start))
        for g in grads:
            if name == "adam":
                params, state = jax_ref.adam_update(params, jax_ref.clip_each(jnp.asarray(g), cfg["clipnorm"]),
                                                    state, cfg)
            else:
                params, state = jax_ref.rmsprop_update(params, jnp.asarray(g), state,
                                                       cfg["discriminator_learning_rate"], cfg["rho"])
        np.testing.assert_allclose(np.asarray(params), expected, rtol=1e-5, atol=1e-7, err_msg=f"JAX {name}")

        weight = torch.nn.Parameter(torch.from_numpy(start.copy()))
        optimizer = torch_ref._adam([weight], cfg) if name == "adam" else torch.optim.RMSprop(
            [weight], lr=cfg["discriminator_learning_rate"], alpha=cfg["rho"], eps=1e-7)
        for g in grads:
            weight.grad = torch.from_numpy(g.copy())
            if name == "adam":
                torch.nn.utils.clip_grad_norm_(weight, cfg["clipnorm"])
            optimizer.step()
        np.testing.assert_allclose(weight.detach().numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=f"torch {name}")


@pytest.mark.one_backend("torch")  # the references start both frameworks, whatever the backend
def test_translation_steps_run_for_the_zoo_and_both_references(bench, tiny_translation, references):
    """What worker.py does for --model translation, small: build each implementation and time a few steps."""
    import keras

    cfg, _, _ = tiny_translation
    args = SimpleNamespace(device="cpu", precision="float32", jit_compile="auto", steps_per_execution=1,
                           data="numpy", batch_size=cfg["batch_size"])
    modules = {f"zoo {keras.backend.backend()}": _load("zoo_step"), "torch": references[0], "jax": references[1]}
    params = {}
    for name, module in modules.items():
        made = module.make_bench("translation", cfg, args)
        out = bench.measure(made, cfg["batch_size"], warmup=1, warmup_seconds=5.0, reps=2, steps=2)
        for mode in ("step", "fit"):
            assert out[mode]["reps"] == 2 and out[mode]["steps_per_rep"] == 2, name
            assert math.isfinite(out[mode]["steps_per_s"]) and out[mode]["steps_per_s"] > 0, name
        assert 0 <= out["input_share"] < 1, name
        params[name] = made.params
    assert len({json.dumps(p, sort_keys=True) for p in params.values()}) == 1, params
    assert set(params["torch"]) == {"translator", "discriminator"}


@pytest.mark.backend_free
def test_keras_io_has_no_translation_step_and_run_skips_it():
    worker, run = _load("worker"), _load("run")
    with pytest.raises(SystemExit):
        worker.parse_args(["--impl", "keras_io", "--model", "translation"])
    args = run.parse_args(["--no-scaling", "--no-options"])
    assert "translation" in args.models
    pairs = {(value(job, "--impl"), value(job, "--backend")) for job in run.jobs(args)
             if value(job, "--model") == "translation"}
    assert pairs == {("zoo", "tensorflow"), ("zoo", "jax"), ("zoo", "torch"), ("torch", None), ("jax", None)}
    assert any("keras-io" in reason for reason in run.missing(args.models))


@pytest.mark.backend_free
def test_run_variants_pick_measurements_and_an_unknown_one_is_refused(capsys):
    run = _load("run")
    args = run.parse_args(["--models", "vae", "--no-scaling", "--variants", "steps_per_execution=8"])
    assert {(job["variant"], value(job, "--backend")) for job in run.jobs(args)} == {
        ("steps_per_execution=8", "tensorflow"), ("steps_per_execution=8", "jax")}
    with pytest.raises(SystemExit):
        run.parse_args(["--variants", "default,steps_per_execution=4"])
    assert "unknown variants ['steps_per_execution=4']" in capsys.readouterr().err


def value(job, flag):
    argv = job["argv"]
    return argv[argv.index(flag) + 1] if flag in argv else None


@pytest.mark.backend_free
def test_cpu_busy_counts_other_processes_only(bench):
    before = {"busy": 10.0, "total": 100.0, "own": 1.0}
    after = {"busy": 11.5, "total": 102.0, "own": 1.5}  # 2 s of the cores' time: 1.5 busy, 0.5 of them ours
    assert bench.others_busy(before, after) == pytest.approx(0.5)
    assert bench.others_busy(before, {**after, "own": 3.0}) == 0.0  # never below 0
    busy = bench.cpu_busy(0.2)
    assert 0.0 <= busy["share"] <= 1.0 and busy["source"]
    report = _load("report")
    machine = {"cpu": "x", "cores_usable": 2, "memory_gb": 1, "os": "os", "python": "3", "load_average": [3.0, 2, 1],
               "cpu_busy": {"share": 0.02, "seconds": 1.5, "source": "/proc/stat"}}
    assert "share of the cores at the start: 2%" in report._busy_at_start(machine)
    assert "Load average at the start" in report._busy_at_start({**machine, "cpu_busy": None})


@pytest.mark.backend_free
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


@pytest.mark.backend_free
def test_merge_keeps_the_earlier_measurements_it_does_not_repeat_with_their_commit(tmp_path):
    run, report = _load("run"), _load("report")

    def record(model, impl, fit, **extra):
        return {"group": "main", "variant": "default", "model": model, "batch_size": 8, "impl": impl,
                "backend": "torch", **{mode: {"steps_per_s": fit, "q1": fit, "q3": fit} for mode in ("fit", "step")},
                **extra}

    earlier = {"commit": "aaa1111", "created": "day 1", "records": [record("vae", "zoo", 1.0), record("vae", "torch", 2.0),
                                                                      record("wgan_gp", "zoo", 3.0)]}
    path = tmp_path / "cpu.json"
    path.write_text(json.dumps(earlier))
    new = [record("wgan_gp", "zoo", 5.0, commit="bbb2222", created="day 2")]
    records = run.merged(path, new)
    assert [(r["model"], r["impl"], r["fit"]["steps_per_s"], r["commit"]) for r in records] == [
        ("vae", "zoo", 1.0, "aaa1111"), ("vae", "torch", 2.0, "aaa1111"), ("wgan_gp", "zoo", 5.0, "bbb2222")]
    assert run.merged(tmp_path / "absent.json", new) == new
    # a measurement that failed (or was skipped) this time keeps the earlier success; a new failure is kept
    failed = [record("vae", "zoo", 0.0, error="skipped: the run's --budget of 60 s was spent"),
              record("cyclegan", "zoo", 0.0, error="timed out after 60 s")]
    assert [(r["model"], r.get("error", "")[:7]) for r in run.merged(path, failed)] == [
        ("vae", ""), ("vae", ""), ("wgan_gp", ""), ("cyclegan", "timed o")]
    text = " ".join(report.merged_from({"commit": "bbb2222", "created": "day 2", "records": records}))
    assert "2 measurements at commit `aaa1111`, day 1" in text and "bbb2222" not in text
    # an earlier run at the same commit is an earlier run too
    again = [record("vae", "zoo", 6.0, commit="bbb2222", created="day 3")] + records[1:]
    text = " ".join(report.merged_from({"commit": "bbb2222", "created": "day 3", "records": again}))
    assert "1 measurement at commit `aaa1111`, day 1; 1 measurement at commit `bbb2222`, day 2" in text


@pytest.mark.backend_free
def test_rates_report_the_median_and_spread(bench):
    out = bench.rates([2.0, 1.0, 4.0], steps=4, batch_size=8)
    assert out["steps_per_s"] == 2.0 and out["min"] == 1.0 and out["max"] == 4.0
    assert out["images_per_s"] == 16.0 and out["q1"] <= 2.0 <= out["q3"]


@pytest.mark.backend_free
def test_time_to_quality_summary_reads_the_curves(bench):
    ttq = _load("time_to_quality")
    # a speed-up a hair under the target is not printed as the target
    assert (ttq._speedup(1.4998), ttq._speedup(1.5), ttq._speedup(1.32), ttq._speedup(None)) == (
        "1.4998", "1.50", "1.32", "-")
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
    # The 95-nat target on the final weights' IWAE NLL: only runs of exactly 4 minutes count
    for run, value in ((fast, 94.5), (slow, 93.0)):
        run.update(minutes=4.0 if run is fast else 5.0, final_nll={"k": 100, "size": 5000, "value": value})
    summary = {"model": "vae", "runs": [torch_run, fast, slow]}
    summary["rows"] = ttq.rows(summary)
    zoo_rows = [r for r in summary["rows"] if r["impl"] == "zoo"]
    (line,) = ttq._nll_verdict(summary, zoo_rows)
    assert "**met** (zoo tensorflow: 94.50 nats)" in line and "k = 100, first 5000" in line
    fast["final_nll"]["value"] = 95.5
    torch_run["final_nll"] = {"k": 100, "size": 5000, "value": 96.0}
    summary["rows"] = ttq.rows(summary)
    (line,) = ttq._nll_verdict(summary, summary["rows"][1:])
    assert "**not met** (zoo tensorflow: 95.50 nats; the PyTorch loop: 96.00)" in line
    slow["final_nll"]["k"] = 1000
    with pytest.raises(ValueError, match="estimate the final NLL differently"):
        ttq._final_nll_setting(ttq.rows(summary))
    # ...which a merging invocation refuses before it trains anything, unless it reruns that run
    args = SimpleNamespace(runs=[("torch", "torch"), ("zoo", "tensorflow")], final_k=100, final_size=5000)
    with pytest.raises(SystemExit, match="kept runs zoo torch estimated the final NLL with another k"):
        ttq._check_final_nll_settings(args, [torch_run, fast, slow])
    args.runs.append(("zoo", "torch"))
    ttq._check_final_nll_settings(args, [torch_run, fast, slow])


@pytest.mark.backend_free
def test_time_to_quality_refuses_bad_final_nll_settings(bench, capsys):
    ttq = _load("time_to_quality")
    args = ttq.parse_args(["--model", "vae", "--eval-size", "2000"])
    assert (args.final_k, args.final_size) == (100, 2000)  # never more digits than the evaluation set
    assert ttq.parse_args(["--model", "vae", "--quick"]).final_size == 64
    for bad in (["--final-k", "0"], ["--final-size", "0"], ["--eval-size", "100", "--final-size", "200"]):
        with pytest.raises(SystemExit):
            ttq.parse_args(["--model", "vae", *bad])
        assert "--final-k must be >= 1 and --final-size between 1 and --eval-size" in capsys.readouterr().err


@pytest.mark.backend_free  # starts a process per backend itself: run once, not once per backend
@pytest.mark.parametrize("model, backends", [("vae", ("tensorflow",)), ("wgan_gp", ("tensorflow",))])
def test_time_to_quality_quick_run_logs_monotone_finite_curves(tmp_path, real_tfds_dir, model, backends):
    env = {**os.environ, "ZOO_TFDS_DIR": real_tfds_dir}
    result = subprocess.run([sys.executable, str(BENCHMARKS / "time_to_quality.py"), "--model", model, "--quick",
                             "--backends", ",".join(backends), "--out-dir", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    summary = json.loads((tmp_path / f"time_to_quality_{model}.json").read_text())
    assert summary["model"] == model and summary["quick"] and summary["commit"]
    assert {"cpu", "cores_usable", "memory_gb", "load_average"} <= set(summary["machine"])
    runs = {(r["impl"], r["backend"]): r for r in summary["runs"]}
    assert set(runs) == {("torch", "torch")} | {("zoo", backend) for backend in backends}
    for backend in backends:
        assert runs["torch", "torch"]["params"] == runs["zoo", backend]["params"]  # the same networks
    for run in runs.values():
        assert run["finished"] and "error" not in run, run.get("error")
        seconds, steps, metrics = zip(*run["curve"])
        assert seconds[0] == 0.0 and steps[0] == 0 and len(run["curve"]) >= 2
        assert all(a < b for a, b in zip(seconds, seconds[1:])), seconds  # one point per evaluation, in time order
        assert all(a <= b for a, b in zip(steps, steps[1:])) and steps[-1] > 0, steps
        assert seconds[-1] >= 60 * run["minutes"]  # it trained for its whole budget
        assert all(isinstance(m, float) and math.isfinite(m) and m > 0 for m in metrics), metrics
        assert run["metric"] == summary["metric"]
        if model == "vae":  # the final weights' test NLL: an IWAE bound, tighter than the curve's k = 1 ELBO
            final = run["final_nll"]
            assert (final["k"], final["size"]) == (100, 64) and 0 < final["value"] < 1000, final
            assert len(run["eval_wall_seconds"]) == len(run["curve"]) + 1
        else:
            assert "final_nll" not in run and len(run["eval_wall_seconds"]) == len(run["curve"])
    assert {row["label"] for row in summary["rows"]} == {"PyTorch loop"} | {f"zoo {b}" for b in backends}
    text = (tmp_path / f"time_to_quality_{model}.md").read_text()
    assert "| PyTorch loop |" in text and all(f"| zoo {backend} |" in text for backend in backends)
    assert ("Test NLL at the end (IWAE, k = 100, 64 digits)" in text) == (model == "vae")
    assert Image.open(tmp_path / f"time_to_quality_{model}.png").size == (960, 560)
