"""zoo.text and the Multi30k loader on this backend: words, subwords, the noise model, BLEU against sacrebleu,
PPMI-SVD embeddings, CSLS, MUSE-style alignment (adversarial step, Procrustes refinement), word by word."""

import gzip
import os

import keras
import numpy as np
import pytest

from zoo.data.multi30k import load_multi30k, monolingual, multi30k_tokenizer
from zoo.data.shuffle import disjoint_halves
from zoo.errors import DataNotFoundError, InputError
from zoo.text import corpus_bleu, detokenize, normalize, pretokenize, round_trip_bleu
from zoo.text.alignment import (
    AlignmentBatches,
    EmbeddingAligner,
    align_embeddings,
    build_dictionary,
    identical_strings,
    mean_cosine,
    procrustes,
    refine,
)
from zoo.text.embeddings import (
    cooccurrences,
    nearest_neighbours,
    normalize_embeddings,
    ppmi,
    ppmi_svd_embeddings,
    truncated_svd,
    vocabulary,
)
from zoo.text.noise import add_noise, word_dropout, word_shuffle, word_starts
from zoo.text.tokenizer import EOS_ID, PAD_ID, UNK_ID, SubwordTokenizer
from zoo.text.word_by_word import WordByWordTranslator

from conftest import shared_data_dir


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


# Words ------------------------------------------------------------------------------------------------------------


@pytest.mark.backend_free
def test_pretokenize_lowercases_and_splits_punctuation_and_detokenize_joins_it_back():
    assert pretokenize("Two young, White males.") == ["two", "young", ",", "white", "males", "."]
    assert pretokenize("L'homme porte un T-shirt à 2.5 m") == ["l'", "homme", "porte", "un", "t", "-", "shirt", "à",
                                                               "2.5", "m"]
    for text in ("two young, white males are outside near many bushes.",
                 "l'homme (en bleu) porte un t-shirt à 2.5 m; il dit \"oui\"!",
                 "ein mädchen klettert in ein spielhaus aus holz."):
        assert detokenize(pretokenize(text)) == text
    assert normalize("  Ｆｕｌｌwidth\tand  CAPS ") == "fullwidth and caps"  # NFKC, lowercase, spaces
    assert pretokenize("   ") == [] and detokenize([]) == ""
    with pytest.raises(TypeError, match="str"):
        pretokenize(None)


# Subwords ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer():
    corpus = ["a man is riding a bike .", "a woman rides a horse .", "two dogs play in the water ."] * 10 + [
        "un homme fait du vélo .", "une femme monte à cheval .", "deux chiens jouent dans l'eau ."] * 10
    return SubwordTokenizer.train(corpus, ("en", "fr"), vocab_size=120)


@pytest.mark.backend_free
def test_the_tokenizer_round_trips_text_and_reserves_its_ids(tokenizer):
    assert tokenizer.vocab_size <= 120
    assert tokenizer.processor.pad_id() == PAD_ID and tokenizer.processor.eos_id() == EOS_ID
    assert set(tokenizer.language_ids) == {"en", "fr"} and all(i > EOS_ID for i in tokenizer.language_ids.values())
    ids = tokenizer.encode(["A man rides a horse.", "Deux chiens jouent."])
    assert tokenizer.decode(ids) == ["a man rides a horse.", "deux chiens jouent."]
    assert tokenizer.decode([ids[0] + [EOS_ID, 7, 8]]) == ["a man rides a horse."]  # stops at end of sentence
    assert not {PAD_ID, EOS_ID, *tokenizer.language_ids.values()} & {i for row in ids for i in row}
    # A language symbol typed in the text is plain text, never the control id; unseen characters are unknown.
    typed = tokenizer.encode(["<2fr> ☃"])[0]
    assert tokenizer.language_id("fr") not in typed and UNK_ID in typed
    assert tokenizer.encode(["a man is riding a bike ."], max_length=3)[0] == tokenizer.encode(["a man is"])[0][:3]
    with pytest.raises(InputError, match="unknown language"):
        tokenizer.language_id("de")


@pytest.mark.backend_free
def test_word_starts_mark_the_first_piece_of_each_word(tokenizer):
    pieces = tokenizer.pieces("un homme fait du vélo")
    ids = tokenizer.encode(["un homme fait du vélo"])[0]
    assert [p.startswith("\u2581") for p in pieces] == tokenizer.word_start[ids].tolist()
    assert tokenizer.word_start[UNK_ID]


@pytest.mark.backend_free
def test_the_tokenizer_travels_in_its_config_and_trains_deterministically(tokenizer):
    copy = SubwordTokenizer.from_config(tokenizer.get_config())
    text = ["une femme fait du cheval .", "two dogs ride a bike"]
    assert copy.encode(text) == tokenizer.encode(text) and copy.languages == tokenizer.languages
    corpus = ["a man is riding a bike .", "un homme fait du vélo ."] * 5
    assert (SubwordTokenizer.train(corpus, ("en", "fr"), 40).get_config()
            == SubwordTokenizer.train(corpus, ("en", "fr"), 40).get_config())
    with pytest.raises(InputError, match="no text"):
        SubwordTokenizer.train(["", "  "], ("en", "fr"))
    padded = SubwordTokenizer.pad([[5, 6, 7], [8]], 2)
    assert padded.tolist() == [[5, 6], [8, 0]] and padded.dtype == np.int32


# The noise model --------------------------------------------------------------------------------------------------

# A vocabulary where ids 1..40 begin words and ids 41..60 continue them.
WORD_START = np.zeros(61, dtype=bool)
WORD_START[1:41] = True


def sentences_of_words(n=400, words=10, seed=0):
    """Rows of `words` distinct words; word w (id w + 1) is followed by one continuation piece (id w + 41) when
    w is even, so some words have two pieces. Padded to a fixed length."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        row = []
        for w in rng.choice(20, words, replace=False):
            row += [w + 1] + ([w + 41] if w % 2 == 0 else [])
        rows.append(row)
    return SubwordTokenizer.pad(rows, 2 * words + 3)


def words_of(row):
    words, current = [], []
    for token in row:
        if token == 0:
            break
        if WORD_START[token] and current:
            words.append(tuple(current))
            current = []
        current.append(int(token))
    return words + ([tuple(current)] if current else [])


def test_no_noise_is_the_identity():
    x = sentences_of_words(8)
    np.testing.assert_array_equal(to_numpy(add_noise(x, WORD_START, p=0.0, k=0, seed=keras.random.SeedGenerator(0))), x)


def test_word_drop_removes_whole_words_at_the_given_rate_and_keeps_order():
    x = sentences_of_words(400)
    starts = word_starts(x, WORD_START)
    dropped, _ = word_dropout(x, starts, 0.1, keras.random.SeedGenerator(1))
    dropped = to_numpy(dropped)
    removed, total = 0, 0
    for before, after in zip(x, dropped, strict=True):
        kept, original = words_of(after), words_of(before)
        assert kept and all(w in original for w in kept)  # whole words, never empty
        assert [original.index(w) for w in kept] == sorted(original.index(w) for w in kept)  # order kept
        assert np.all(after[len(sum(kept, ())):] == 0)  # padding on the right
        removed += len(original) - len(kept)
        total += len(original)
    assert 0.08 < removed / total < 0.12  # p = 0.1
    all_dropped, _ = word_dropout(x[:4], word_starts(x[:4], WORD_START), 1.0, keras.random.SeedGenerator(2))
    np.testing.assert_array_equal(to_numpy(all_dropped), x[:4])  # nothing left -> the sentence is kept


def test_local_shuffle_moves_no_word_more_than_k_places():
    x = sentences_of_words(300)
    for k in (1, 3):
        shuffled = to_numpy(word_shuffle(x, word_starts(x, WORD_START), k, keras.random.SeedGenerator(k))[0])
        moved = 0
        for before, after in zip(x, shuffled, strict=True):
            original, permuted = words_of(before), words_of(after)
            assert sorted(original) == sorted(permuted)  # same words, each kept whole
            shifts = [abs(permuted.index(w) - i) for i, w in enumerate(original)]
            assert max(shifts) <= k
            moved += sum(s > 0 for s in shifts)
            assert np.count_nonzero(after) == np.count_nonzero(before) and np.all(after[np.count_nonzero(before):] == 0)
        assert moved > 0.15 * x.shape[0] * 10  # it does shuffle (k = 1: about 2 words in 9 move)


def test_noise_is_repeatable_from_a_seed_and_runs_inside_a_compiled_function():
    x = sentences_of_words(16)
    a = to_numpy(add_noise(x, WORD_START, seed=keras.random.SeedGenerator(3)))
    b = to_numpy(add_noise(x, WORD_START, seed=keras.random.SeedGenerator(3)))
    np.testing.assert_array_equal(a, b)
    assert np.any(a != x)


# BLEU -------------------------------------------------------------------------------------------------------------


HYPOTHESES = ["The cat sat on the mat.", "a dog is running in the park", "two men play football ."]
REFERENCES = ["the cat is on the mat.", "A dog runs in the park.", "Two men are playing soccer."]


@pytest.mark.backend_free
def test_bleu_matches_sacrebleu_on_fixed_strings():
    import sacrebleu

    ours = corpus_bleu(HYPOTHESES, REFERENCES)
    theirs = sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES], lowercase=True)
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    assert ours.signature.startswith("nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:")
    # Hand count on the first sentence alone: 1-grams 6/7 ("the" twice, "." counts), 2-grams 4/6.
    single = corpus_bleu(HYPOTHESES[:1], REFERENCES[:1])
    assert single.precisions[0] == pytest.approx(100 * 6 / 7) and single.precisions[1] == pytest.approx(100 * 4 / 6)
    cased = corpus_bleu(HYPOTHESES, REFERENCES, lowercase=False)
    assert cased.score < ours.score and "case:mixed" in cased.signature
    assert corpus_bleu(REFERENCES, REFERENCES).score == pytest.approx(100.0)
    two = corpus_bleu(HYPOTHESES, [REFERENCES, HYPOTHESES])
    assert two.score == pytest.approx(100.0) and "nrefs:2" in two.signature


@pytest.mark.backend_free
def test_bleu_errors_and_round_trip():
    with pytest.raises(InputError, match="3 hypotheses but 2 references"):
        corpus_bleu(HYPOTHESES, REFERENCES[:2])
    with pytest.raises(InputError, match="list of strings"):
        corpus_bleu("a sentence", "a sentence")
    with pytest.raises(InputError, match=r"hypotheses\[1\]"):
        corpus_bleu(["a", None], ["a", "b"])
    with pytest.raises(InputError, match="no sentences"):
        corpus_bleu([], [])
    assert round_trip_bleu(REFERENCES, lambda s: s, lambda s: s).score == pytest.approx(100.0)
    assert round_trip_bleu(REFERENCES, lambda s: s, lambda s: [""] * len(s)).score == 0.0


# Embeddings -------------------------------------------------------------------------------------------------------


@pytest.mark.backend_free
def test_vocabulary_and_cooccurrence_counts_by_hand():
    words, counts = vocabulary([["b", "a", "c"], ["a", "b"]], min_count=1)
    assert words == ["a", "b", "c"] and counts.tolist() == [2, 2, 1]
    matrix = cooccurrences([["a", "b", "c"]], ["a", "b", "c"], window=2)
    # distance 1 weighs 1, distance 2 weighs 1/2; symmetric
    np.testing.assert_allclose(matrix, [[0, 1, 0.5], [1, 0, 1], [0.5, 1, 0]])
    assert cooccurrences([["a", "x", "b"]], ["a", "b"], window=1).sum() == 0  # unknown words break no pairs


@pytest.mark.backend_free
def test_ppmi_by_hand():
    counts = np.array([[0.0, 2.0], [2.0, 4.0]])
    total = 8.0
    p_word, p_context = np.array([2, 6]) / total, np.array([2, 6]) / total
    with np.errstate(divide="ignore"):
        expected = np.maximum(np.log(counts / total / np.outer(p_word, p_context)), 0)
    expected[counts == 0] = 0
    np.testing.assert_allclose(ppmi(counts, smoothing=1.0), expected)


@pytest.mark.backend_free
def test_truncated_svd_finds_the_top_singular_values():
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((60, 5)) @ np.diag([10, 8, 6, 4, 2]) @ rng.standard_normal((5, 50))
    u, s, vt = truncated_svd(matrix, 3)
    np.testing.assert_allclose(s, np.linalg.svd(matrix, compute_uv=False)[:3], rtol=1e-6)
    assert u.shape == (60, 3) and vt.shape == (3, 50)


@pytest.mark.backend_free
def test_ppmi_svd_embeddings_put_words_of_one_topic_together():
    rng = np.random.default_rng(0)
    topics = [["sun", "beach", "sand", "sea", "wave"], ["snow", "ski", "ice", "cold", "mountain"]]
    corpus = [list(rng.choice(topics[i % 2], 4)) for i in range(400)]
    words, _ = vocabulary(corpus)
    vectors = ppmi_svd_embeddings(corpus, words, dim=4)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    topic = {w: i for i, group in enumerate(topics) for w in group}
    assert all(topic[words[j]] == topic[w] for w, j in zip(words, sims.argmax(axis=1), strict=True))


@pytest.mark.backend_free
def test_ppmi_svd_embeddings_weight_the_singular_values_by_the_given_power():
    rng = np.random.default_rng(0)
    corpus = [list(rng.choice(["a", "b", "c", "d", "e", "f", "g"], 5)) for _ in range(200)]
    words, _ = vocabulary(corpus)
    u, s, _ = truncated_svd(ppmi(cooccurrences(corpus, words, 3)), 3)
    for p in (0.0, 0.5, 1.0):
        expected = normalize_embeddings(u * s[None, :] ** p)
        np.testing.assert_allclose(ppmi_svd_embeddings(corpus, words, dim=3, window=3, weighting=p), expected,
                                   atol=1e-5)
    with pytest.raises(InputError, match="exponent of the singular values"):
        ppmi_svd_embeddings(corpus, words, dim=3, weighting=-1)


@pytest.mark.backend_free
def test_csls_matches_its_formula():
    rng = np.random.default_rng(0)
    source, target = rng.standard_normal((30, 8)), rng.standard_normal((40, 8))
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    cos = unit(source) @ unit(target).T
    r_t = np.sort(cos, axis=1)[:, -5:].mean(axis=1)
    r_s = np.sort(cos, axis=0)[-5:, :].mean(axis=0)
    expected = np.argmax(2 * cos - r_t[:, None] - r_s[None, :], axis=1)
    best, _ = nearest_neighbours(source, target, k=5, method="csls")
    np.testing.assert_array_equal(best, expected)
    plain, _ = nearest_neighbours(source, target, method="cosine")
    np.testing.assert_array_equal(plain, np.argmax(cos, axis=1))
    with pytest.raises(ValueError, match="csls"):
        nearest_neighbours(source, target, method="euclid")


# Alignment --------------------------------------------------------------------------------------------------------


def rotated_pair(n=300, dim=16, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    source = rng.standard_normal((n, dim)).astype("float32")
    rotation = np.linalg.qr(rng.standard_normal((dim, dim)))[0].astype("float32")
    target = source @ rotation + noise * rng.standard_normal((n, dim)).astype("float32")
    return source, target, rotation


@pytest.mark.backend_free
def test_procrustes_recovers_a_rotation_and_refinement_finds_it_from_nearby():
    source, target, rotation = rotated_pair()
    np.testing.assert_allclose(procrustes(source, target), rotation, atol=0.02)
    i, j = build_dictionary(source @ rotation, target, max_rank=300)
    assert len(i) > 250 and np.mean(i == j) > 0.99  # mutual neighbours are the true pairs
    rng = np.random.default_rng(1)
    u, _, vt = np.linalg.svd(rotation + 0.4 * rng.standard_normal(rotation.shape))
    nearby = u @ vt  # the closest rotation to a perturbed one
    i, j = build_dictionary(source @ nearby, target)
    assert 0.5 < np.mean(i == j) < 0.9  # a partly wrong dictionary to start from
    found, scores = refine(source, target, nearby, iterations=5, max_rank=300)
    np.testing.assert_allclose(found, rotation, atol=0.02)
    assert scores[-1] > scores[0] and mean_cosine(source @ found, target) > mean_cosine(source, target)


def test_an_adversarial_step_updates_both_players_and_keeps_the_map_near_orthogonal():
    source, target, _ = rotated_pair(n=64, dim=8)
    aligner = EmbeddingAligner(8, hidden=16, seed=0)
    np.testing.assert_array_equal(aligner.matrix, np.eye(8))  # MUSE starts from the identity
    aligner.compile(learning_rate=0.1, n_critic=2)
    before_map, before_disc = aligner.matrix.copy(), [to_numpy(w).copy() for w in aligner.discriminator.weights]
    history = aligner.fit(AlignmentBatches(source, target, batch_size=8, n_critic=2, steps=3), verbose=0).history
    assert set(history) == {"discriminator_loss", "mapping_loss"}
    assert np.abs(aligner.matrix - before_map).max() > 1e-6
    assert max(np.abs(b - to_numpy(w)).max() for b, w in zip(before_disc, aligner.discriminator.weights,
                                                               strict=True)) > 1e-6
    assert int(to_numpy(aligner.optimizer["discriminator"].iterations)) == 6  # n_critic per step
    assert int(to_numpy(aligner.optimizer["mapping"].iterations)) == 3
    w = aligner.matrix
    assert np.abs(w.T @ w - np.eye(8)).max() < 0.05


def test_the_discriminator_loss_uses_smoothed_labels():
    aligner = EmbeddingAligner(4, hidden=8, input_dropout=0.0, smoothing=0.2, seed=0)
    rng = np.random.default_rng(0)
    source, target = rng.standard_normal((5, 4)).astype("float32"), rng.standard_normal((5, 4)).astype("float32")
    logits = to_numpy(aligner.discriminator(np.concatenate([source, target]))).astype("float64")[:, 0]
    labels = np.array([0.8] * 5 + [0.2] * 5)
    p = 1 / (1 + np.exp(-logits))
    expected = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    assert float(to_numpy(aligner.discriminator_loss(source, target)[0])) == pytest.approx(expected, rel=1e-5)
    flipped = -np.mean((1 - labels) * np.log(p) + labels * np.log(1 - p))
    assert float(to_numpy(aligner.mapping_loss(source, target)[0])) == pytest.approx(flipped, rel=1e-5)
    with pytest.raises(ValueError, match="n_critic \\+ 1"):
        aligner.compile(n_critic=2)
        aligner.train_step((np.zeros((2, 3, 4), "float32"), np.zeros((2, 3, 4), "float32")))


def test_align_embeddings_runs_end_to_end_and_keeps_the_best_by_its_criterion():
    source, target, _ = rotated_pair(n=120, dim=8)
    result = align_embeddings(source, target, epochs=2, steps_per_epoch=5, hidden=16, restarts=2, max_rank=120,
                              criterion_words=120)
    assert result.matrix.shape == (8, 8) and len(result.adversarial_criteria) == 2
    assert result.criterion == pytest.approx(max(result.refinement_criteria))
    assert result.criterion >= mean_cosine(source, target, 120) - 1e-6
    with pytest.raises(InputError, match="one dim"):
        align_embeddings(source, target[:, :4])


def toy_vocabularies(n, shared):
    """Source and target word lists of `n` words, the first `shared` spelt the same (numbers, names)."""
    return ([f"w{i}" if i < shared else f"src{i}" for i in range(n)],
            [f"w{i}" if i < shared else f"tgt{i}" for i in range(n)])


def test_identical_strings_seed_recovers_the_rotation():
    source, target, rotation = rotated_pair(n=300, dim=16)
    source_words, target_words = toy_vocabularies(300, shared=24)
    target_words = target_words[::-1]  # the shared words sit at other ranks in the target list
    order = np.arange(300)[::-1]
    i, j = identical_strings(source_words, target_words)
    assert len(i) == 24 and all(source_words[a] == target_words[b] for a, b in zip(i, j, strict=True))
    result = align_embeddings(source, target[order], method="identical", source_words=source_words,
                              target_words=target_words, max_rank=300, criterion_words=300)
    assert result.method == "identical" and result.seed_pairs == 24 and not result.adversarial_criteria
    np.testing.assert_allclose(result.matrix, rotation, atol=0.02)
    assert result.candidates == [("identical", result.criterion)]


def test_the_criterion_chooses_between_the_identical_seed_and_the_adversarial_start():
    source, target, rotation = rotated_pair(n=200, dim=8)
    source_words, target_words = toy_vocabularies(200, shared=12)
    result = align_embeddings(source, target, method="best", source_words=source_words, target_words=target_words,
                              epochs=1, steps_per_epoch=3, hidden=16, restarts=2, max_rank=200, criterion_words=200)
    assert [m for m, _ in result.candidates] == ["identical", "adversarial", "adversarial"]
    assert result.criterion == max(c for _, c in result.candidates)
    np.testing.assert_allclose(result.matrix, rotation, atol=0.02)  # a few adversarial steps do not find it
    assert result.method == "identical"


def test_align_embeddings_checks_the_method_and_its_words():
    source, target, _ = rotated_pair(n=20, dim=4)
    source_words, target_words = toy_vocabularies(20, shared=0)
    with pytest.raises(InputError, match="method must be one of"):
        align_embeddings(source, target, method="vecmap")
    with pytest.raises(InputError, match="needs source_words and target_words"):
        align_embeddings(source, target, method="identical")
    with pytest.raises(InputError, match="one word per embedding row"):
        align_embeddings(source, target, method="best", source_words=source_words[:5], target_words=target_words)
    with pytest.raises(InputError, match="share 0 identical words"):
        align_embeddings(source, target, method="identical", source_words=source_words, target_words=target_words)


@pytest.mark.backend_free
def test_word_by_word_uses_the_aligned_neighbours_and_copies_unknown_words():
    source, target, rotation = rotated_pair(n=6, dim=16, noise=0.0)
    translator = WordByWordTranslator.from_embeddings(["a", "man", "rides", "bike", "the", "."], source,
                                                      ["un", "homme", "fait", "vélo", "le", "."], target, rotation)
    assert translator.dictionary["man"] == "homme" and translator.dictionary["bike"] == "vélo"
    assert translator.translate(["A man rides a bike, Paul."]) == ["un homme fait un vélo, paul."]
    with pytest.raises(InputError, match="list of sentences"):
        translator.translate("a man")


# Multi30k ------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir():
    return shared_data_dir(os.path.join("multi30k", "val.en.gz"), "Multi30k")


@pytest.mark.backend_free
def test_multi30k_loads_aligned_splits(data_dir):
    test = load_multi30k("test_2016_flickr", ("en", "fr", "de"), data_dir=data_dir)
    assert {len(v) for v in test.values()} == {1000}
    assert test["en"][0] and all(isinstance(s, str) for s in test["fr"])
    train = load_multi30k("train", "en", data_dir=data_dir)
    assert len(train["en"]) == 29000 and train["en"][0] == "Two young, White males are outside near many bushes."


@pytest.mark.backend_free
def test_the_halves_are_disjoint_so_no_sentence_meets_its_translation(data_dir):
    a, b = disjoint_halves(29000, seed=0)
    assert len(a) == len(b) == 14500 and not set(a) & set(b) and set(a) | set(b) == set(range(29000))
    mono, (first, second) = monolingual("val", ("en", "de"), seed=0, data_dir=data_dir)
    parallel = load_multi30k("val", ("en", "de"), data_dir=data_dir)
    assert mono["en"] == [parallel["en"][i] for i in first] and mono["de"] == [parallel["de"][i] for i in second]
    assert not set(mono["de"]) & {parallel["de"][i] for i in first}  # no translation of an English sentence
    assert disjoint_halves(10, seed=1)[0].tolist() != disjoint_halves(10, seed=2)[0].tolist()


@pytest.mark.backend_free
def test_multi30k_files_are_checked(data_dir, tmp_path):
    (tmp_path / "multi30k").mkdir()
    with gzip.open(os.path.join(data_dir, "multi30k", "val.en.gz"), "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    with gzip.open(tmp_path / "multi30k" / "val.en.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(lines[:10]))
    with pytest.raises(DataNotFoundError, match="checksum"):
        load_multi30k("val", "en", data_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="multi30k/val.fr.gz"):
        load_multi30k("val", ("fr",), data_dir=tmp_path)
    with pytest.raises(InputError, match="split"):
        load_multi30k("test_2017", "en", data_dir=data_dir)
    with pytest.raises(InputError, match="languages"):
        load_multi30k("val", ("en", "cs"), data_dir=data_dir)
    with pytest.raises(InputError, match="two languages"):
        monolingual("val", ("en",), data_dir=data_dir)
    for bad in (0, -5, 2.5):  # a negative slice would silently drop the last sentences instead
        with pytest.raises(InputError, match="max_sentences must be None"):
            multi30k_tokenizer(("en", "fr"), 200, data_dir=data_dir, max_sentences=bad)
