"""Topic models (issue 29): the bag of words, ProdLDA on this backend (the prior, the loss, a few steps, topics,
proportions, perplexity, the checkpoint, bad inputs) and the classical LDA reference (backend-free)."""

import json

import keras
import numpy as np
import pytest
from conftest import load_recipe, shared_data_dir

import zoo
from zoo.checkpoints import save_checkpoint
from zoo.errors import InputError
from zoo.models.topics import (
    BagOfWordsBatches,
    KLWarmup,
    OnlineLDA,
    ProdLDA,
    dirichlet_laplace_prior,
    paper_optimizer,
    prodlda_multi30k,
)
from zoo.text.bag_of_words import Vocabulary, check_counts, words_of

TOPICS = 3
PLANTED = [[f"t{k}word{i}" for i in range(10)] for k in range(TOPICS)]  # 3 planted topics over 30 words


def planted_corpus(n=200, seed=0):
    """Each document: 8 words drawn from one planted topic (2/3 of them) and another (1/3)."""
    rng = np.random.default_rng(seed)
    documents = []
    for _ in range(n):
        main, other = rng.choice(TOPICS, 2, replace=False)
        words = list(rng.choice(PLANTED[main], 6)) + list(rng.choice(PLANTED[other], 2))
        documents.append(" ".join(rng.permutation(words)) + " .")
    return documents


@pytest.fixture(scope="module")
def corpus():
    documents = planted_corpus()
    vocabulary = Vocabulary.fit(documents, min_count=5, stop_words=None)
    return documents, vocabulary, vocabulary.transform(documents)


@pytest.fixture(scope="module")
def trained(corpus):
    """A tiny ProdLDA after one epoch (its BatchNorm statistics away from their start), shared: one compile."""
    documents, vocabulary, _ = corpus
    model = tiny_prodlda(vocabulary)
    model.compile(paper_optimizer())
    model.fit(BagOfWordsBatches(vocabulary.transform(documents, sparse=True), batch_size=50), epochs=1, verbose=0)
    return model


def tiny_prodlda(vocabulary, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    settings = {"num_topics": TOPICS, "hidden": (16, 16), "seed": seed}
    settings.update(kwargs)
    return ProdLDA(vocabulary, **settings)


# The bag of words (backend-free) ------------------------------------------------------------------------------


@pytest.mark.backend_free
def test_words_are_lowercased_runs_of_letters_with_hyphens_and_no_possessive_s():
    assert words_of("A man's T-shirt, 2 dogs; 3rd o'clock.") == ["man", "t-shirt", "dogs", "3rd", "o'clock"]


@pytest.mark.backend_free
def test_the_vocabulary_keeps_words_seen_min_count_times_without_stop_words():
    texts = ["The dog runs.", "A dog runs on the grass", "dog dog cat", "the cat sleeps"]
    vocabulary = Vocabulary.fit(texts, min_count=2)  # scikit-learn's stop words: the, a, on
    assert vocabulary.words == ["dog", "cat", "runs"]  # most frequent first, ties alphabetical
    counts = vocabulary.transform(["Dog, DOG and a cat!", "nothing known here", ""])
    assert counts.dtype == np.float32 and counts.tolist() == [[2, 1, 0], [0, 0, 0], [0, 0, 0]]
    np.testing.assert_array_equal(vocabulary.transform(texts, sparse=True).toarray(), vocabulary.transform(texts))
    kept_counts, kept = vocabulary.nonempty(["cat", "the", "runs runs"])
    assert kept.tolist() == [0, 2] and kept_counts.tolist() == [[0, 1, 0], [0, 0, 2]]
    again = Vocabulary.from_config(vocabulary.get_config())
    assert again.words == vocabulary.words and (again.min_count, again.stop_words) == (2, "sklearn")


@pytest.mark.backend_free
def test_empty_documents_and_documents_of_unknown_words_are_refused_where_words_are_needed():
    vocabulary = Vocabulary(["dog", "cat"])
    with pytest.raises(InputError, match=r"document 1 .*no words"):
        vocabulary.transform(["dog", " . , "], allow_empty=False)
    with pytest.raises(InputError, match=r"document 0 .*none of its words \['the', 'zebra'\]"):
        vocabulary.transform(["The zebra"], allow_empty=False)
    with pytest.raises(InputError, match="single str"):
        vocabulary.transform("a dog")
    with pytest.raises(InputError, match="document 1 is a int"):
        vocabulary.transform(["dog", 3])
    with pytest.raises(InputError, match="nothing to build"):
        Vocabulary.fit(["the a an", "of the"], min_count=1)
    with pytest.raises(InputError, match="distinct"):
        Vocabulary(["dog", "dog"])
    with pytest.raises(InputError, match="single normalized words"):
        Vocabulary(["Dog"])
    with pytest.raises(InputError, match="rows \\[1\\]"):
        check_counts(np.array([[1, 0], [0, 0]]), 2)
    with pytest.raises(InputError, match="negative"):
        check_counts(np.array([[1, -1]]), 2)
    with pytest.raises(InputError, match=r"shape \(n, 3\)"):
        check_counts(np.ones((2, 2)), 3)


@pytest.mark.backend_free
def test_the_multi30k_vocabulary_has_the_numbers_the_recipe_reports():
    """About 3 s: the 29,000 training captions read and counted once."""
    data_dir = shared_data_dir("multi30k/train.en.gz", "the Multi30k vocabulary")
    from zoo.data.multi30k import load_multi30k
    from zoo.text.bag_of_words import multi30k_vocabulary

    vocabulary = multi30k_vocabulary(data_dir=data_dir)
    assert len(vocabulary) == 3054 and vocabulary.words[:3] == ["man", "woman", "people"]
    train = load_multi30k("train", ("en",), data_dir)["en"]
    counts, kept = vocabulary.nonempty(train, sparse=True)
    assert counts.shape == (28996, 3054) and counts.sum() == 171680  # 4 captions keep no vocabulary word
    for split in ("val", "test_2016_flickr"):
        vocabulary.transform(load_multi30k(split, ("en",), data_dir)["en"], allow_empty=False)  # none is empty


# The prior and the loss --------------------------------------------------------------------------------------


@pytest.mark.backend_free
def test_the_laplace_prior_against_a_hand_computation():
    mean, variance = dirichlet_laplace_prior(1.0, 4)  # alpha = 1: mean 0, variance 1 - 1/K
    np.testing.assert_allclose(mean, 0.0, atol=1e-7)
    np.testing.assert_allclose(variance, 0.75, rtol=1e-6)
    mean, variance = dirichlet_laplace_prior([1.0, 2.0, 4.0], 3)
    # log a = (0, log 2, 2 log 2), their mean log 2; (1/a)(1 - 2/3) + (1 + 1/2 + 1/4) / 9
    np.testing.assert_allclose(mean, [-np.log(2), 0.0, np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(variance, [1 / 3 + 7 / 36, 1 / 6 + 7 / 36, 1 / 12 + 7 / 36], rtol=1e-6)
    for alpha, topics in ((0.0, 3), ([1.0, 1.0], 3), (1.0, 1)):
        with pytest.raises(InputError):
            dirichlet_laplace_prior(alpha, topics)


def test_the_kl_term_is_the_gaussian_kl_to_the_laplace_prior(corpus):
    _, vocabulary, _ = corpus
    model = tiny_prodlda(vocabulary, num_topics=2)  # prior N(0, 1/2) per logit
    mean = np.array([[0.5, -1.0]], "float32")
    log_var = np.log(np.array([[0.25, 1.0]], "float32"))
    # 1/2 sum(var/v + mean^2/v - 1 + log v - log var), v = 1/2
    expected = 0.5 * ((0.5 + 0.5 - 1 + np.log(0.5) - np.log(0.25)) + (2.0 + 2.0 - 1 + np.log(0.5) - 0.0))
    kl = keras.ops.convert_to_numpy(model.prior_kl(mean, log_var))
    np.testing.assert_allclose(kl, [expected], rtol=1e-5)


def test_the_loss_is_reconstruction_plus_kl_and_the_bound_matches_it(corpus):
    _, vocabulary, counts = corpus
    model = tiny_prodlda(vocabulary)
    terms = {k: float(keras.ops.convert_to_numpy(v)) for k, v in model.compute_terms(counts[:20]).items()}
    assert terms["loss"] == pytest.approx(terms["reconstruction"] + terms["kl"], rel=1e-5)
    assert terms["reconstruction"] > 0 and terms["kl"] >= 0
    # The numpy bound (many samples, inference mode) estimates the same expectation as the step's loss.
    bound = model.document_bound(counts[:20], samples=100).mean()  # one decoder call of 2,000 rows
    assert bound == pytest.approx(terms["loss"], rel=0.02)


def test_a_kl_warm_up_weighs_the_kl_from_zero_to_one_by_epoch(corpus):
    documents, vocabulary, counts = corpus
    model = tiny_prodlda(vocabulary)
    model.compile(paper_optimizer())
    weights = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights.append(float(keras.ops.convert_to_numpy(self.model.kl_weight)))
            terms = logs
            assert terms["loss"] == pytest.approx(terms["reconstruction"] + weights[-1] * terms["kl"], rel=1e-4)

    model.fit(BagOfWordsBatches(vocabulary.transform(documents, sparse=True), batch_size=100), epochs=3,
              verbose=0, callbacks=[KLWarmup(2), Record()])
    assert weights == [0.0, 0.5, 1.0]
    with pytest.raises(InputError, match="at least one epoch"):
        KLWarmup(0)
    with pytest.raises(InputError, match=r"in \[0, 1\]"):
        model.set_kl_weight(1.5)


def test_a_few_steps_lower_the_loss_on_a_fixed_batch(corpus):
    _, vocabulary, counts = corpus
    model = tiny_prodlda(vocabulary, dropout=0.0)
    model.compile(paper_optimizer(1e-2))
    batch = counts[:50]
    before = {v.path: keras.ops.convert_to_numpy(v) for v in model.trainable_variables}
    losses = [float(model.train_on_batch(batch, return_dict=True)["loss"]) for _ in range(12)]
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.5, losses
    # Every weight trains, beta (the topic-word matrix) through the product of experts included.
    unchanged = [v.path for v in model.trainable_variables
                 if np.array_equal(keras.ops.convert_to_numpy(v), before[v.path])]
    assert not unchanged, unchanged


# The numpy API ----------------------------------------------------------------------------------------------


def test_topics_transform_and_perplexity(corpus, trained):
    documents, vocabulary, counts = corpus
    model = trained
    topics = model.topics(top=4)
    assert len(topics) == TOPICS and all(len(t) == 4 and len(set(t)) == 4 for t in topics)
    assert all(w in vocabulary for t in topics for w in t)
    assert model.topic_word_weights().shape == (TOPICS, len(vocabulary))
    assert len(model.topics()[0]) == 10
    proportions = model.transform(documents[:7])
    assert proportions.shape == (7, TOPICS) and proportions.dtype == np.float32
    np.testing.assert_allclose(proportions.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(model.transform(counts[:7]), proportions, atol=1e-6)  # counts or texts
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(counts[:7])), proportions, atol=1e-5)
    perplexity = model.perplexity(documents[:40], samples=3)
    assert 1.0 < perplexity < 1e3 and perplexity == model.perplexity(counts[:40], samples=3)  # seeded
    lengths = counts[:40].sum(axis=1)
    bound = model.document_bound(counts[:40], samples=3)
    assert perplexity == pytest.approx(np.exp(np.mean(bound / lengths)), rel=1e-6)
    assert model.perplexity(counts[:40], per="word", samples=3) == pytest.approx(
        np.exp(bound.sum() / lengths.sum()), rel=1e-6)


def test_bad_inputs_get_clear_errors(corpus):
    documents, vocabulary, counts = corpus
    model = tiny_prodlda(vocabulary)
    with pytest.raises(InputError, match="no words"):
        model.transform(["", documents[0]])
    with pytest.raises(InputError, match="none of its words"):
        model.transform(["a dog runs on the grass ."])
    with pytest.raises(InputError, match="single str"):
        model.transform(documents[0])
    with pytest.raises(InputError, match=r"shape \(n, 30\)"):
        model.transform(np.ones((2, 5)))
    with pytest.raises(InputError, match="NaN"):
        model.perplexity(np.full((1, 30), np.nan))
    with pytest.raises(InputError, match="top"):
        model.topics(top=0)
    with pytest.raises(InputError, match="per"):
        model.perplexity(documents[:2], per="token")
    model.compile(paper_optimizer())
    with pytest.raises(InputError, match=r"rows \[1\]"):
        model.fit(np.stack([counts[0], np.zeros(30, "float32")]), epochs=1, verbose=0)
    with pytest.raises(InputError, match="dropout"):
        ProdLDA(vocabulary, num_topics=3, dropout=1.0)
    with pytest.raises(InputError, match="num_topics"):
        ProdLDA(vocabulary, num_topics=1)
    with pytest.raises(InputError, match="no words"):
        BagOfWordsBatches(vocabulary.transform(["", documents[0]], sparse=True))


def test_a_checkpoint_keeps_the_vocabulary_and_the_outputs(tmp_path, corpus, trained):
    documents, vocabulary, counts = corpus
    model = trained
    assert not np.allclose(keras.ops.convert_to_numpy(model.decoder_norm.moving_variance), 1.0)
    path = save_checkpoint(model, tmp_path / "prodlda_tiny", {"name": "prodlda_tiny", "description": "A tiny one."})
    loaded = zoo.load(path)
    assert isinstance(loaded, ProdLDA) and loaded.vocabulary.words == vocabulary.words
    assert (loaded.num_topics, loaded.hidden, loaded.dropout) == (TOPICS, (16, 16), 0.6)
    assert loaded.topics(5) == model.topics(5)
    np.testing.assert_allclose(loaded.transform(documents[:9]), model.transform(documents[:9]), atol=1e-6)
    np.testing.assert_allclose(loaded.document_bound(counts[:9]), model.document_bound(counts[:9]), rtol=1e-5)
    # It comes back compiled with the paper's optimizer, ready to fine-tune (a fit here would cost JAX a compile;
    # test_a_few_steps_lower_the_loss_on_a_fixed_batch trains that optimizer).
    assert loaded.compiled and float(loaded.optimizer.beta_1) == 0.99


def test_the_multi30k_builder_has_the_papers_architecture():
    data_dir = shared_data_dir("multi30k/train.en.gz", "the Multi30k ProdLDA")
    model = prodlda_multi30k(num_topics=20, data_dir=data_dir)
    assert len(model.vocabulary) == 3054 and model.num_topics == 20
    assert [layer.units for layer in model.encoder_layers] == [100, 100] and model.dropout == 0.6
    assert tuple(model.topic_word.kernel.shape) == (20, 3054) and model.topic_word.bias is None
    np.testing.assert_allclose(model.prior_variance, 1 - 1 / 20, rtol=1e-6)
    # The example keeps "dog", "runs", "grass" ("a", "on", "the" are stop words).
    assert [model.vocabulary.words[i] for i in model.vocabulary.ids("a dog runs on the grass .")] == [
        "dog", "runs", "grass"]


# Classical LDA (backend-free) ---------------------------------------------------------------------------------


@pytest.mark.backend_free
def test_online_lda_finds_the_planted_topics_and_reports_like_prodlda(corpus):
    documents, vocabulary, counts = corpus
    lda = OnlineLDA(vocabulary, num_topics=TOPICS, max_iter=20, seed=0)
    with pytest.raises(InputError, match="not fitted"):
        lda.topics()
    lda.fit(vocabulary.transform(documents, sparse=True))
    assert sorted(sorted(t) for t in lda.topics(top=10)) == sorted(sorted(t) for t in PLANTED)
    proportions = lda.transform(documents[:5])
    assert proportions.shape == (5, TOPICS)
    np.testing.assert_allclose(proportions.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(lda.transform(counts[:5]), proportions, atol=1e-6)
    perplexity = lda.perplexity(counts)
    assert 1.0 < perplexity < 30  # each planted topic spreads over 10 words, a document mixes two
    assert lda.get_config()["vocabulary"]["words"] == vocabulary.words
    with pytest.raises(InputError, match="none of its words"):
        lda.transform(["nothing known"])
    with pytest.raises(InputError, match="no words"):
        lda.fit(np.zeros((2, len(vocabulary))))


@pytest.mark.one_backend("torch")
def test_quick_recipe_measures_both_methods_and_writes_a_loadable_checkpoint(tmp_path):
    shared_data_dir("multi30k/train.en.gz", "the topic-model recipe")

    out, results = tmp_path / "prodlda", tmp_path / "prodlda.json"
    load_recipe("prodlda_multi30k").main(["--quick", "--verbose", "0", "--out", str(out), "--results", str(results),
                                          "--state", str(tmp_path / "state.npz")])
    data = json.loads(results.read_text())
    assert data["bundled_k"] == 5 and data["vocabulary_size"] > 1000
    for method in ("prodlda", "lda"):
        run = data["runs"]["5"][method]
        assert -1 <= run["npmi"] <= 1 and len(run["npmi_per_topic"]) == 5 and np.isfinite(run["perplexity"])
        assert all(len(topic.split()) == 10 for topic in run["topics"])
    model = zoo.load(out)
    assert isinstance(model, ProdLDA) and len(model.topics(10)) == 5
    np.testing.assert_allclose(model.transform(["a dog runs on the grass ."]).sum(), 1.0, rtol=1e-5)
