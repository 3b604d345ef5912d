"""NPMI topic coherence (zoo.metrics.coherence) against hand computations on a tiny corpus; numpy only."""

from math import log

import numpy as np
import pytest

from zoo.errors import InputError
from zoo.metrics.coherence import npmi, npmi_coherence, npmi_per_topic, topic_npmi_matrices
from zoo.text.bag_of_words import Vocabulary

pytestmark = pytest.mark.backend_free

# Five documents. Document frequencies: apple 3, banana 2, cherry 2, date 1, fig 0 (never seen);
# apple & banana 2, apple & cherry 1, banana & cherry 1, date with nothing but itself.
DOCUMENTS = ["apple banana banana", "apple banana cherry", "cherry", "apple apple", "date"]
WORDS = ["apple", "banana", "cherry", "date", "fig"]


def hand_npmi(joint, first, second):
    return -1.0 if joint == 0 else log(joint / (first * second)) / -log(joint)


AB = hand_npmi(2 / 5, 3 / 5, 2 / 5)  # log(5/3) / log(5/2) = 0.5575
AC = hand_npmi(1 / 5, 3 / 5, 2 / 5)  # log(5/6) / log(5) = -0.1133
BC = hand_npmi(1 / 5, 2 / 5, 2 / 5)  # log(5/4) / log(5) = 0.1386


def test_npmi_of_independent_exclusive_and_inseparable_words():
    assert npmi(0.25, 0.5, 0.5) == pytest.approx(0.0)  # independent
    assert npmi(0.0, 0.5, 0.5) == -1.0  # never together
    assert npmi(0.5, 0.5, 0.5) == pytest.approx(1.0)  # always together
    assert npmi(1.0, 1.0, 1.0) == 1.0  # in every document: the 0/0 limit taken as 1
    assert AB == pytest.approx(0.557493, abs=1e-6)


def test_pairs_of_a_tiny_corpus_against_a_hand_computation():
    matrices = topic_npmi_matrices([["apple", "banana", "cherry"]], DOCUMENTS, WORDS, top=3)
    expected = np.array([[np.nan, AB, AC], [AB, np.nan, BC], [AC, BC, np.nan]])
    np.testing.assert_allclose(matrices[0], expected, rtol=1e-12)  # counts within a document do not matter


def test_topic_and_model_coherence_are_means_over_pairs_and_topics():
    topics = [["apple", "banana", "cherry", "date"], ["banana", "cherry", "date", "fig"]]
    first = (AB + AC + BC - 1 - 1 - 1) / 6  # date never appears with the others
    second = (BC - 1 - 1 - 1 - 1 - 1) / 6  # fig never appears at all
    per_topic = npmi_per_topic(topics, DOCUMENTS, WORDS, top=4)
    np.testing.assert_allclose(per_topic, [first, second], rtol=1e-12)
    assert npmi_coherence(topics, DOCUMENTS, WORDS, top=4) == pytest.approx((first + second) / 2, rel=1e-12)
    # Only the first `top` words of each topic count, whatever follows.
    assert npmi_coherence([t + ["fig"] for t in topics[:1]], DOCUMENTS, WORDS, top=3) == pytest.approx(
        (AB + AC + BC) / 3, rel=1e-12)


def test_the_reference_may_be_texts_dense_counts_or_sparse_counts():
    vocabulary = Vocabulary(WORDS)
    topics = [["apple", "banana", "cherry"], ["date", "apple", "fig"]]
    from_texts = npmi_per_topic(topics, DOCUMENTS, vocabulary, top=3)
    counts = vocabulary.transform(DOCUMENTS)
    np.testing.assert_allclose(npmi_per_topic(topics, counts, vocabulary, top=3), from_texts)
    np.testing.assert_allclose(npmi_per_topic(topics, vocabulary.transform(DOCUMENTS, sparse=True), WORDS, top=3),
                               from_texts)
    # A document with no vocabulary word is still a document: it lowers every probability.
    with_empty = npmi_per_topic(topics[:1], DOCUMENTS + ["nothing here"], vocabulary, top=3)
    abc = (hand_npmi(2 / 6, 3 / 6, 2 / 6) + hand_npmi(1 / 6, 3 / 6, 2 / 6) + hand_npmi(1 / 6, 2 / 6, 2 / 6)) / 3
    np.testing.assert_allclose(with_empty, [abc], rtol=1e-12)


@pytest.mark.parametrize("topics, top, match", [
    ([["apple", "banana"]], 3, "has 2 words"),
    ([["apple", "apple", "banana"]], 3, "repeats"),
    ([["apple", "banana", "kiwi"]], 3, r"outside the vocabulary: \['kiwi'\]"),
    (["apple banana cherry"], 3, "is a str"),
    ([], 3, "non-empty"),
    ([["apple", "banana"]], 1, "top must be"),
])
def test_bad_topics_get_clear_errors(topics, top, match):
    with pytest.raises(InputError, match=match):
        npmi_coherence(topics, DOCUMENTS, WORDS, top=top)


def test_bad_references_get_clear_errors():
    with pytest.raises(InputError, match="one column per vocabulary word"):
        npmi_coherence([WORDS[:3]], np.ones((4, 3)), WORDS, top=3)
    with pytest.raises(InputError, match="no documents"):
        npmi_coherence([WORDS[:3]], np.ones((0, 5)), WORDS, top=3)
    with pytest.raises(InputError, match="negative"):
        npmi_coherence([WORDS[:3]], -np.ones((2, 5)), WORDS, top=3)
    with pytest.raises(InputError, match="single str"):
        npmi_coherence([WORDS[:3]], "apple banana", WORDS, top=3)
