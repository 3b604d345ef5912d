"""Word translation's evaluation and its fastText embeddings: IBM Model 1 on pairs whose alignment is known, the
reference dictionary, precision@1, and gensim's subword skip-gram (repeatable, subwords shared)."""

import json

import numpy as np
import pytest
from conftest import load_recipe, shared_data_dir

from zoo.errors import InputError
from zoo.text.dictionary import NULL, ibm_model1, parallel_dictionary, precision_at_1
from zoo.text.embeddings import fasttext_embeddings, piece_embeddings, vocabulary, word_embeddings
from zoo.text.tokenizer import SubwordTokenizer

pytestmark = pytest.mark.backend_free

LEXICON = {"dog": "chien", "cat": "chat", "red": "rouge", "big": "grand", "runs": "court", "sleeps": "dort",
           "the": "le"}


def toy_pairs(n=300, seed=0):
    """English-like sentences and their word-for-word 'French', in a shuffled order (so position tells nothing)."""
    rng = np.random.default_rng(seed)
    nouns, adjectives, verbs = ["dog", "cat"], ["red", "big"], ["runs", "sleeps"]
    source, target = [], []
    for _ in range(n):
        # "the" in every sentence could not be told from NULL, which every sentence has too.
        article = ["the"] if rng.random() < 0.5 else []
        sentence = article + [rng.choice(adjectives), rng.choice(nouns), rng.choice(verbs)]
        translation = [LEXICON[w] for w in sentence]
        rng.shuffle(translation)
        source.append([str(w) for w in sentence])
        target.append(translation)
    return source, target


def test_ibm_model1_links_each_word_to_its_translation():
    source, target = toy_pairs()
    links, (source_words, target_words) = ibm_model1(source, target, iterations=10)
    assert source_words[0] == NULL and set(target_words) == set(LEXICON.values())
    linked = {}
    for (s, t), c in links.items():
        linked.setdefault(t, []).append((c, s))
    assert {t: max(pairs)[1] for t, pairs in linked.items()} == {t: s for s, t in LEXICON.items()}
    assert sum(links.values()) == sum(len(t) for t in target)  # one link per target token


def test_the_reference_dictionary_holds_the_lexicon_and_skips_rare_words():
    source, target = toy_pairs()
    source.append(["the", "rare", "dog", "runs"])
    target.append(["le", "rare", "chien", "court"])
    dictionary = parallel_dictionary(source, target, min_count=5)
    assert dictionary == {s: [t] for s, t in LEXICON.items()}
    assert "rare" in parallel_dictionary(source, target, min_count=1)


def test_the_reference_lists_the_most_linked_translation_first():
    source = [["a", "dog"]] * 6 + [["a", "cat"]] * 3 + [["dog"]] * 5 + [["cat"]] * 5
    target = [["un", "chien"]] * 6 + [["une", "chatte"]] * 3 + [["chien"]] * 5 + [["chatte"]] * 5
    assert parallel_dictionary(source, target, min_share=0.2)["a"] == ["un", "une"]


def test_precision_at_1_counts_any_reference_translation_as_right():
    reference = {"a": {"un", "une"}, "dog": {"chien"}, "red": {"rouge"}}
    predicted = {"a": "une", "dog": "chat", "red": "rouge", "unknown": "x"}
    assert precision_at_1(predicted, reference) == (2 / 3, 3)
    assert precision_at_1(predicted, reference, words=["dog", "unknown"]) == (0.0, 1)
    with pytest.raises(InputError, match="no source word is in both"):
        precision_at_1({"x": "y"}, reference)


def test_bad_pairs_are_refused():
    with pytest.raises(InputError, match="one target sentence per source sentence"):
        ibm_model1([["a"]], [["b"], ["c"]])
    with pytest.raises(InputError, match="token lists"):
        ibm_model1(["a b"], ["c d"])
    with pytest.raises(InputError, match="min_share"):
        parallel_dictionary([["a"]], [["b"]], min_share=0)


def test_fasttext_embeddings_are_repeatable_unit_vectors_that_share_subwords():
    rng = np.random.default_rng(0)
    topics = [["sunny", "sunshine", "beach", "sand"], ["snowy", "snowfall", "ski", "ice"]]
    corpus = [[str(w) for w in rng.choice(topics[i % 2], 5)] for i in range(300)]
    words, _ = vocabulary(corpus)
    vectors = fasttext_embeddings(corpus, words, dim=16, window=3, epochs=5, seed=1)
    assert vectors.shape == (len(words), 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vectors, fasttext_embeddings(corpus, words, dim=16, window=3, epochs=5, seed=1))
    assert not np.array_equal(vectors, fasttext_embeddings(corpus, words, dim=16, window=3, epochs=5, seed=2))
    # A word never seen in training still gets a vector from its character n-grams, nearest its relatives.
    unseen = fasttext_embeddings(corpus, ["snowfalls", "sunny", "snowfall", "beach"], dim=16, window=3, epochs=5)
    assert np.argmax(unseen[1:] @ unseen[0]) == 1


def test_piece_embeddings_are_fasttext_vectors_of_a_joint_vocabulary_in_id_order():
    sentences = ["the sunny beach", "a snowy ski slope", "la plage au soleil", "une piste de ski enneigée"] * 30
    tokenizer = SubwordTokenizer.train(sentences, ("en", "fr"), vocab_size=80)
    vectors = piece_embeddings(tokenizer, sentences, dim=16, window=5, epochs=3, seed=1)
    assert vectors.shape == (tokenizer.vocab_size, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # Row i is piece i's fastText vector, trained on both languages' sentences cut into pieces.
    pieces = [tokenizer.processor.id_to_piece(i) for i in range(tokenizer.vocab_size)]
    expected = fasttext_embeddings([tokenizer.pieces(s) for s in sentences], pieces, dim=16, window=5, epochs=3,
                                   seed=1)
    np.testing.assert_array_equal(vectors, expected)
    assert "▁ski" in pieces and "▁sunny" in pieces  # a piece both languages share, and an English one
    with pytest.raises(InputError, match="none with any text"):
        piece_embeddings(tokenizer, ["", "  "])


def test_word_embeddings_dispatches_and_checks_the_method():
    corpus = [["a", "b", "c"], ["b", "c", "d"]] * 20
    words, _ = vocabulary(corpus)
    assert word_embeddings(corpus, words, method="ppmi", dim=2).shape == (4, 2)
    with pytest.raises(InputError, match="unknown embedding method 'glove'"):
        word_embeddings(corpus, words, method="glove")
    with pytest.raises(InputError, match="token lists"):
        fasttext_embeddings(["a b c"], words)


def test_the_quick_recipe_scores_both_directions_against_the_reference_and_its_upper_bounds(tmp_path):
    shared_data_dir("multi30k/train.en.gz", "The word translation recipe")
    recipe = load_recipe("word_translation_multi30k")
    results = tmp_path / "words.json"
    recipe.main(["--quick", "--results", str(results)])
    data = json.loads(results.read_text())
    assert data["quick"] and sorted(data["directions"]) == ["en-fr", "fr-en"]
    for d in data["directions"].values():
        assert 0.0 <= d["precision_at_1"] <= 1.0 and d["words"] > 100
        assert 0.0 <= d["moses_bleu"] <= 100.0
        # The reference dictionary translates far better than any map could from 600 sentences.
        assert d["reference_dictionary"]["moses_bleu"] > d["moses_bleu"]
    assert {"precision_at_1_en_fr", "moses_bleu_fr_en", "bleu_en_fr"} <= set(data["metrics"])


def test_the_summary_puts_each_unsupervised_run_beside_its_supervised_ceiling(tmp_path):
    recipe = load_recipe("unmt_multi30k")

    def run(name, metrics, **extra):
        record = {"name": name, "device": "cpu", "git_commit": "abc1234", "learning_rate": 0.001,
                  "history": {"loss": [1.0] * 4}, "train_seconds": 60.0, "metrics": metrics,
                  "command": f"python recipes/unmt_multi30k.py --pair en-fr --out /tmp/x/{name} --results /tmp/x.json"
                             " --verbose 2", **extra}
        (tmp_path / f"{name}.json").write_text(json.dumps(record))

    run("unmt_multi30k_en_fr", {"bleu_en_fr": 20.0, "bleu_fr_en": 15.0, "moses_bleu_en_fr": 21.0,
                                "moses_bleu_fr_en": 16.0}, selected_iteration=2, training_runs=3,
        iterations=[{"iteration": 0, "seconds": 5, "bleu": {"en-fr": 6.0, "fr-en": 7.0}}])
    run("unmt_multi30k_en_fr_supervised", {"bleu_en_fr": 40.0, "bleu_fr_en": 30.0, "moses_bleu_en_fr": 42.0,
                                           "moses_bleu_fr_en": 32.0})
    text = recipe.summarize(tmp_path).read_text()
    assert "| unmt_multi30k_en_fr | en-fr | 0.50 (20.00 / 40.00) | 0.50 (21.00 / 42.00) |" in text
    assert "| unmt_multi30k_en_fr | fr-en | 0.50 (15.00 / 30.00) | 0.50 (16.00 / 32.00) |" in text
    assert "| unmt_multi30k_en_fr | `python recipes/unmt_multi30k.py --pair en-fr --verbose 2` | 3 |" in text
    assert "unmt_multi30k_en_fr_supervised | en-fr" not in text  # a ceiling is not a fraction of itself
