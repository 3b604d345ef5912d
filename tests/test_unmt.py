"""UNMT on this backend: teacher forcing, the discriminator and its loss, one step of both players, decoding
(greedy and beam reach exact match on a copy task), the translate API's edge cases, save/load."""

import json
import os

import keras
import numpy as np
import pytest
from conftest import load_recipe, max_abs_diff, shared_data_dir

import zoo
from zoo.checkpoints import save_checkpoint
from zoo.errors import InputError
from zoo.models.unmt import (
    UNMT,
    AttentionTranslator,
    sequence_cross_entropy,
    teacher_forcing,
    unmt_batches,
)
from zoo.resume import TrainingStateError
from zoo.text.tokenizer import EOS_ID, PAD_ID, SubwordTokenizer

WORDS = {"xx": ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"],
         "yy": ["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho"]}


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def tokenizer():
    rng = np.random.default_rng(0)
    corpus = [" ".join(rng.choice(WORDS[lang], rng.integers(2, 6))) + " ." for lang in WORDS for _ in range(200)]
    return SubwordTokenizer.train(corpus, ("xx", "yy"), vocab_size=90)


def tiny_unmt(tokenizer, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    settings = {"embedding_dim": 16, "units": 16, "discriminator_units": 8, "seed": seed}
    settings.update(kwargs)
    return UNMT(tokenizer, **settings)


def sentences(tokenizer, lang, n, seed=0):
    rng = np.random.default_rng(seed)
    return tokenizer.encode([" ".join(rng.choice(WORDS[lang], rng.integers(2, 6))) + " ." for _ in range(n)])


def batch_of(tokenizer, n=6, length=12):
    xx, yy = sentences(tokenizer, "xx", n, 1), sentences(tokenizer, "yy", n, 2)
    return {"xx": SubwordTokenizer.pad(xx, length), "xx_translated": SubwordTokenizer.pad(yy, length),
            "yy": SubwordTokenizer.pad(yy, length), "yy_translated": SubwordTokenizer.pad(xx, length)}


# Pieces of the step -------------------------------------------------------------------------------------


def test_teacher_forcing_starts_with_the_language_token_and_ends_with_eos():
    targets = np.array([[7, 8, 9], [5, 0, 0]], "int32")
    inputs, outputs = teacher_forcing(targets, np.array([3, 4], "int32"))
    assert to_numpy(inputs).tolist() == [[3, 7, 8, 9], [4, 5, 0, 0]]
    assert to_numpy(outputs).tolist() == [[7, 8, 9, EOS_ID], [5, EOS_ID, 0, 0]]


def test_sequence_cross_entropy_averages_over_real_pieces_only():
    logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]], "float32"))
    loss = float(to_numpy(sequence_cross_entropy(logits, np.array([[1, 0]], "int32"))))
    assert loss == pytest.approx(-np.log(0.25), rel=1e-5)  # the padded position does not count


def test_one_step_decoding_matches_teacher_forcing(tokenizer):
    translator = AttentionTranslator(tokenizer.vocab_size, embedding_dim=8, units=12, encoder_layers=2)
    source = SubwordTokenizer.pad(sentences(tokenizer, "xx", 3), 9)
    target = np.array([[3, 10, 11, 12], [3, 13, 14, 15], [3, 16, 17, 18]], "int32")
    states, mask = translator.encode(source)
    assert tuple(states.shape) == (3, 9, 12)
    np.testing.assert_array_equal(to_numpy(mask)[:, 0], True)
    full = to_numpy(translator.decode(target, states, mask))
    assert full.shape == (3, 4, tokenizer.vocab_size)
    keys = translator.keys(states)
    state = translator.initial_state(states, mask)
    for t in range(4):
        logits, state = translator.decode_step(target[:, t], state, states, keys, mask)
        np.testing.assert_allclose(to_numpy(logits), full[:, t], atol=1e-4)


def test_padding_does_not_change_the_encoding(tokenizer):
    translator = AttentionTranslator(tokenizer.vocab_size, embedding_dim=8, units=12)
    rows = sentences(tokenizer, "xx", 2)
    short = to_numpy(translator.encode(SubwordTokenizer.pad(rows))[0])
    long = to_numpy(translator.encode(SubwordTokenizer.pad(rows, 20))[0])
    for i, row in enumerate(rows):
        np.testing.assert_allclose(long[i, :len(row)], short[i, :len(row)], atol=1e-5)


# The discriminator and its loss ---------------------------------------------------------------------------


def test_the_discriminator_loss_is_smoothed_cross_entropy_over_real_pieces(tokenizer):
    model = tiny_unmt(tokenizer, discriminator_smoothing=0.1)
    batch = batch_of(tokenizer)
    noisy = [keras.ops.convert_to_tensor(batch["xx"]), keras.ops.convert_to_tensor(batch["yy"])]
    loss, terms = model.discriminator_loss(noisy)

    states, mask = model.translator.encode(np.concatenate([batch["xx"], batch["yy"]]))
    logits = to_numpy(model.discriminator(states))[..., 0].astype("float64")
    mask = to_numpy(mask)
    labels = np.concatenate([np.zeros_like(batch["xx"]), np.ones_like(batch["yy"])]).astype("float64")
    smoothed = labels * 0.9 + 0.05
    p = 1 / (1 + np.exp(-logits))
    bce = -(smoothed * np.log(p) + (1 - smoothed) * np.log(1 - p))
    assert float(to_numpy(loss)) == pytest.approx(bce[mask].mean(), rel=1e-4)
    accuracy = ((logits > 0) == (labels > 0.5))[mask].mean()
    assert float(to_numpy(terms["discriminator_accuracy"])) == pytest.approx(accuracy, abs=1e-6)


def test_the_translator_objective_sums_its_weighted_terms(tokenizer):
    model = tiny_unmt(tokenizer, denoising_weight=1.0, backtranslation_weight=2.0, adversarial_weight=0.5)
    batch = {k: keras.ops.convert_to_tensor(v) for k, v in batch_of(tokenizer).items()}
    clean = [batch["xx"], batch["yy"]]
    translated = [batch["xx_translated"], batch["yy_translated"]]
    loss, terms = model.translator_loss(clean, clean, translated)
    values = {k: float(to_numpy(v)) for k, v in terms.items()}
    expected = values["denoising_loss"] + 2.0 * values["backtranslation_loss"] + 0.5 * values["adversarial_loss"]
    assert float(to_numpy(loss)) == pytest.approx(expected, rel=1e-5)
    # The adversarial term is the discriminator's cross-entropy with the languages swapped, summed over both.
    states, mask = model.translator.encode(np.concatenate([batch_of(tokenizer)["xx"], batch_of(tokenizer)["yy"]]))
    logits = to_numpy(model.discriminator(states))[..., 0].astype("float64")
    flipped = np.concatenate([np.ones((6, 12)), np.zeros((6, 12))])
    p = 1 / (1 + np.exp(-logits))
    bce = -(flipped * np.log(p) + (1 - flipped) * np.log(1 - p))
    assert values["adversarial_loss"] == pytest.approx(2 * bce[to_numpy(mask)].mean(), rel=1e-4)


# Training ----------------------------------------------------------------------------------------------------


def copies(weights):
    return [to_numpy(w).copy() for w in weights]


def moved(before, weights):
    return max(float(np.abs(b - to_numpy(w)).max()) for b, w in zip(before, weights, strict=True))


def test_one_step_updates_the_encoder_the_decoder_and_the_discriminator(tokenizer):
    model = tiny_unmt(tokenizer)
    model.compile(learning_rate=1e-2, discriminator_learning_rate=1e-2)
    t = model.translator
    parts = {"embedding": t.embedding.trainable_weights, "encoder": t.encoder[0].trainable_weights,
             "decoder": t.decoder.trainable_weights + t.attention.trainable_weights + t.combine.trainable_weights,
             "bridge": t.bridge.trainable_weights, "discriminator": model.discriminator.trainable_weights}
    before = {name: copies(w) for name, w in parts.items()}
    batch = batch_of(tokenizer, n=8)
    data = unmt_batches({"xx": list(batch["xx"]), "yy": list(batch["yy"])},
                        {"xx": list(batch["xx_translated"]), "yy": list(batch["yy_translated"])},
                        batch_size=4, length=12, steps=1)
    history = model.fit(data, epochs=1, verbose=0).history
    assert set(history) == {"loss", "denoising_loss", "backtranslation_loss", "adversarial_loss",
                            "discriminator_loss", "discriminator_accuracy"}
    assert all(np.isfinite(v[-1]) for v in history.values())
    for name, weights in parts.items():
        assert moved(before[name], weights) > 1e-6, name
    assert int(to_numpy(model.optimizer["translator"].iterations)) == 1
    assert int(to_numpy(model.optimizer["discriminator"].iterations)) == 1


def test_the_supervised_bound_trains_only_on_pairs(tokenizer):
    model = tiny_unmt(tokenizer, denoising_weight=0.0, adversarial_weight=0.0, noise_translations=False)
    model.compile()
    before = copies(model.discriminator.trainable_weights)
    batch = batch_of(tokenizer, n=4)
    history = model.fit(unmt_batches({"xx": list(batch["xx"]), "yy": list(batch["yy"])},
                                     {"xx": list(batch["xx_translated"]), "yy": list(batch["yy_translated"])},
                                     batch_size=4, length=12, steps=1), verbose=0).history
    assert set(history) == {"loss", "backtranslation_loss"}
    assert moved(before, model.discriminator.trainable_weights) == 0.0
    with pytest.raises(ValueError, match="denoising or back-translation"):
        tiny_unmt(tokenizer, denoising_weight=0.0, backtranslation_weight=0.0)


def test_fit_refuses_batches_without_both_languages(tokenizer):
    model = tiny_unmt(tokenizer)
    model.compile()
    with pytest.raises(ValueError, match="dict batches with keys"):
        model.fit(np.ones((4, 5), "int32"), epochs=1, verbose=0)


def test_batches_draw_each_language_independently_and_check_counts(tokenizer):
    xx, yy = sentences(tokenizer, "xx", 10), sentences(tokenizer, "yy", 6)
    data = unmt_batches({"xx": xx, "yy": yy}, {"xx": yy[:1] * 10, "yy": xx[:6]}, batch_size=4, length=9, seed=0)
    assert len(data) == 2  # the larger language once
    batch = data[0]
    assert set(batch) == {"xx", "xx_translated", "yy", "yy_translated"}
    assert all(v.shape == (4, 9) and v.dtype == np.int32 for v in batch.values())
    with pytest.raises(InputError, match="one translation per sentence"):
        unmt_batches({"xx": xx}, {"xx": xx[:3]})


# Decoding ------------------------------------------------------------------------------------------------------


def _random_rows(count, seed=0):
    rng = np.random.default_rng(seed)
    return [[int(t) for t in rng.integers(5, 17, rng.integers(2, 7))] for _ in range(count)]


COPIED = _random_rows(64)


@pytest.fixture(scope="module")
def copier(tokenizer):
    """A tiny model trained only to copy 64 id sequences (denoising without noise), which it learns by heart:
    greedy and beam search must then reproduce them exactly. (Copying sequences it has not seen is a matter of
    generalization, and whether this tiny model learns that in 600 steps turned on float rounding.)"""
    model = tiny_unmt(tokenizer, embedding_dim=32, units=32, backtranslation_weight=0.0, adversarial_weight=0.0,
                      word_dropout=0.0, word_shuffle=0)
    model.compile(learning_rate=1e-2, jit_compile=keras.backend.backend() == "jax")
    model.fit(unmt_batches({"xx": COPIED, "yy": COPIED}, {"xx": COPIED, "yy": COPIED}, batch_size=32, length=6,
                           steps=50), epochs=12, verbose=0)
    return model


@pytest.mark.parametrize("beam", [1, 3])
def test_decoding_a_copy_task_reaches_exact_match(copier, beam):
    out = copier.generate(COPIED, "yy", beam=beam)
    assert np.mean([a == b for a, b in zip(out, COPIED, strict=True)]) >= 0.95


def test_beam_one_is_greedy_and_outputs_respect_max_length(copier):
    rng = np.random.default_rng(2)
    tests = [[int(t) for t in rng.integers(5, 17, 5)] for _ in range(6)]
    greedy = copier.generate(tests, "xx")
    padded = SubwordTokenizer.pad(tests)
    language = copier.tokenizer.language_id("xx")
    np.testing.assert_array_equal(copier._beam(padded, language, 8, 1, 1.0), copier._greedy(padded, language, 8))
    assert all(len(row) <= 3 for row in copier.generate(tests, "xx", max_length=3))
    assert all(len(row) <= 3 for row in copier.generate(tests, "xx", beam=2, max_length=3))
    assert greedy == copier.generate(tests, "xx", batch_size=4)  # batching does not change the result
    specials = {PAD_ID, *copier.tokenizer.special_ids.tolist()}
    assert not specials & {t for row in greedy for t in row}


# The user API ------------------------------------------------------------------------------------------------------


def test_translate_returns_strings_and_defines_its_edge_cases(tokenizer):
    model = tiny_unmt(tokenizer)
    out = model.translate(["alpha bravo .", "", "   ", "charlie ☃ ✈ delta ."], src="xx", tgt="yy", max_length=5)
    assert len(out) == 4 and all(isinstance(s, str) for s in out)
    assert out[1] == "" and out[2] == ""  # empty in, empty out
    assert "<2" not in "".join(out) and "\u2047" not in "".join(out)  # no language tokens, no unknown marks
    assert isinstance(model.translate("alpha .", src="xx", tgt="yy", max_length=4), str)
    assert model.translate([], src="xx", tgt="yy") == []
    with pytest.warns(UserWarning, match="max_input_length"):
        long = model.translate(["alpha " * 500], src="xx", tgt="yy", beam=2, max_length=7)
    assert len(long[0].split()) <= 7
    with pytest.raises(InputError, match="not a language of this model"):
        model.translate(["alpha ."], src="xx", tgt="fr")
    with pytest.raises(InputError, match=r"sentences\[1\] is a int"):
        model.translate(["alpha .", 3], src="xx", tgt="yy")
    with pytest.raises(InputError, match="beam"):
        model.translate(["alpha ."], src="xx", tgt="yy", beam=0)
    with pytest.raises(InputError, match="max_length"):
        model.translate(["alpha ."], src="xx", tgt="yy", max_length=0)
    with pytest.raises(NotImplementedError, match="translate"):
        model.sample(2)


def test_checkpoint_round_trip_keeps_the_vocabulary_and_the_translations(tokenizer, tmp_path):
    model = tiny_unmt(tokenizer)
    path = save_checkpoint(model, tmp_path / "tiny_unmt", metadata={"name": "tiny_unmt", "description": "tiny"})
    loaded = zoo.load(path)
    assert type(loaded) is UNMT
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(model.get_config(), sort_keys=True)
    assert max_abs_diff(loaded.get_weights(), model.get_weights()) == 0.0
    text = ["alpha bravo charlie .", "delta echo ."]
    assert loaded.translate(text, src="xx", tgt="yy", beam=2) == model.translate(text, src="xx", tgt="yy", beam=2)
    assert loaded.tokenizer.encode(text) == tokenizer.encode(text)
    batch = batch_of(tokenizer, n=4)
    loaded.fit(unmt_batches({"xx": list(batch["xx"]), "yy": list(batch["yy"])},
                            {"xx": list(batch["xx_translated"]), "yy": list(batch["yy_translated"])},
                            batch_size=4, length=12, steps=1), verbose=0)  # comes back ready to fine-tune


def test_keras_file_keeps_both_optimizers(tokenizer, tmp_path):
    model = tiny_unmt(tokenizer)
    model.compile(learning_rate=1e-3, discriminator_learning_rate=2e-3)
    model.save(tmp_path / "unmt.keras")
    loaded = keras.saving.load_model(tmp_path / "unmt.keras")
    assert set(loaded.optimizer.members) == {"translator", "discriminator"}
    assert float(to_numpy(loaded.optimizer["discriminator"].learning_rate)) == pytest.approx(2e-3)
    assert isinstance(loaded.optimizer["discriminator"], keras.optimizers.RMSprop)


def test_a_tokenizer_with_other_than_two_languages_is_refused(tokenizer):
    three = SubwordTokenizer.train(["alpha bravo ."] * 20, ("xx", "yy", "zz"), vocab_size=40)
    with pytest.raises(ValueError, match="two languages"):
        UNMT(three)
    with pytest.raises(TypeError, match="SubwordTokenizer"):
        UNMT("en-fr")


@pytest.mark.one_backend("tensorflow")
def test_the_quick_recipe_trains_measures_and_writes_a_loadable_checkpoint(tmp_path):
    shared_data_dir(os.path.join("multi30k", "val.en.gz"), "The UNMT recipe")
    recipe = load_recipe("unmt_multi30k")
    out, results = tmp_path / "unmt", tmp_path / "unmt.json"
    options = ["--quick", "--adversarial-weight", "0.5", "--verbose", "0", "--out", str(out), "--results", str(results)]
    recipe.main(options + ["--iterations", "1"])
    assert [it["iteration"] for it in json.loads(results.read_text())["iterations"]] == [0, 1]
    recipe.main(options + ["--iterations", "2", "--resume"])  # a finished run extended by one iteration
    with pytest.raises(TrainingStateError, match="has done 2 iterations.*--iterations 2 or more"):
        recipe.main(options + ["--iterations", "1", "--resume"])
    data = json.loads(results.read_text())
    assert data["quick"] and [it["iteration"] for it in data["iterations"]] == [0, 1, 2]
    assert len(data["training_runs"]) == 2
    assert sorted(data["iterations"][0]["moses_bleu"]) == ["en-fr", "fr-en"]  # the word-by-word start, paper's way
    assert data["alignment"]["embeddings"] == "ppmi"
    assert 1 <= data["selected_iteration"] <= 2 and data["learning_rate"] == 2e-3
    assert "discriminator_loss" in data["history"] and len(data["history"]["loss"]) == 2  # 2 iterations x 1 epoch
    for key in ("bleu_en_fr", "bleu_fr_en", "bleu_word_by_word_en_fr", "round_trip_bleu"):
        assert 0.0 <= data["metrics"][key] <= 100.0
    assert not results.with_suffix(".progress.json").exists()  # the progress file goes when the run ends
    model = zoo.load(out)
    assert model.adversarial_weight == 0.5
    assert isinstance(model.translate("a man is riding a bike .", src="en", tgt="fr"), str)


def test_the_recipe_can_start_the_piece_embeddings_from_fasttext_vectors_of_both_languages(tokenizer):
    from zoo.text.embeddings import piece_embeddings

    rng = np.random.default_rng(1)
    sentences = [" ".join(rng.choice(WORDS[lang], rng.integers(2, 6))) + " ." for lang in WORDS for _ in range(100)]
    model = tiny_unmt(tokenizer)
    load_recipe("unmt_multi30k").initialize_embeddings(model, sentences, seed=3)
    np.testing.assert_array_equal(to_numpy(model.translator.embedding.embeddings),
                                  piece_embeddings(tokenizer, sentences, dim=16, seed=3))


def test_label_smoothing_mixes_the_true_piece_with_the_uniform_target():
    from zoo.models.unmt import piece_cross_entropy

    logits = keras.ops.convert_to_tensor(np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32"))
    targets = keras.ops.convert_to_tensor(np.array([[1, 2, 0], [3, 4, 4]], "int32"))
    plain, mask = piece_cross_entropy(logits, targets)
    smoothed, _ = piece_cross_entropy(logits, targets, label_smoothing=0.1)
    log_p = to_numpy(keras.ops.log_softmax(logits, axis=-1))
    true = -np.take_along_axis(log_p, to_numpy(targets)[..., None], axis=-1)[..., 0]
    np.testing.assert_allclose(to_numpy(plain), true, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(smoothed), 0.9 * true - 0.1 * log_p.mean(-1), rtol=1e-5)
    assert to_numpy(mask).tolist() == [[True, True, False], [True, True, True]]


def test_label_smoothing_and_depth_are_kept_in_the_config(tokenizer):
    model = tiny_unmt(tokenizer, label_smoothing=0.1, encoder_layers=2, dropout=0.2)
    again = UNMT.from_config(model.get_config())
    assert (again.label_smoothing, again.encoder_layers, again.dropout_rate) == (0.1, 2, 0.2)


def test_selection_keeps_the_best_epoch_decays_the_rate_and_stops_after_patience(tokenizer):
    recipe = load_recipe("unmt_multi30k")
    model = tiny_unmt(tokenizer)
    model.compile(learning_rate=1e-2)
    batch = batch_of(tokenizer, n=8)
    data = unmt_batches({"xx": list(batch["xx"]), "yy": list(batch["yy"])},
                        {"xx": list(batch["xx_translated"]), "yy": list(batch["yy_translated"])},
                        batch_size=4, length=12, steps=1)
    scores, snapshots = iter([1.0, 3.0, 2.0, 2.5, 9.0]), []

    def score():
        snapshots.append(copies(model.weights))
        return next(scores)

    record, arrays = {}, {}
    selection = recipe.SelectionBLEU(score, record, arrays, "selection_1", patience=2, decay=0.5)
    model.fit(data, epochs=5, verbose=0, callbacks=[selection])
    kept = record["selection_1"]
    assert [e["bleu"] for e in kept["evaluations"]] == [1.0, 3.0, 2.0, 2.5]  # stopped: 2 evaluations without a rise
    assert [e["learning_rate"] for e in kept["evaluations"]] == pytest.approx([1e-2, 1e-2, 1e-2, 5e-3])
    assert kept["best"] == 3.0 and kept["best_epoch"] == 2 and kept["waited"] == 2
    assert moved(snapshots[1], model.weights) > 0  # training went on past the best epoch
    selection.restore_best()
    assert moved(snapshots[1], model.weights) == 0.0


@pytest.mark.one_backend("jax")
def test_the_quick_supervised_recipe_selects_by_validation_bleu_and_reports_both_bleu_forms(tmp_path):
    shared_data_dir(os.path.join("multi30k", "val.en.gz"), "The UNMT recipe")
    recipe = load_recipe("unmt_multi30k")
    results = tmp_path / "mt.json"
    recipe.main(["--quick", "--supervised", "--epochs", "3", "--patience", "1", "--label-smoothing", "0.1",
                 "--init-embeddings", "fasttext", "--verbose", "0", "--out", str(tmp_path / "mt"),
                 "--results", str(results)])
    data = json.loads(results.read_text())
    assert data["init_embeddings"] == "fasttext"
    evaluations = data["selection"]["selection"]["evaluations"]
    assert 1 <= len(evaluations) <= 3 and data["label_smoothing"] == 0.1
    for key in ("bleu_en_fr", "moses_bleu_en_fr", "bleu_fr_en", "moses_bleu_fr_en"):
        assert 0.0 <= data["metrics"][key] <= 100.0
    card = {m["key"]: m for m in zoo.load(tmp_path / "mt").zoo_metadata["metrics"]}
    assert "56.83" in card["moses_bleu_en_fr"]["reference"] and "moses" in card["moses_bleu_en_fr"]["signature"]
    assert card["bleu_en_fr"]["reference"].startswith("none in this form")
