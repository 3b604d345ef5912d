"""Topic coherence: the normalized pointwise mutual information (NPMI) of each topic's top words.

Bouma, "Normalized (Pointwise) Mutual Information in Collocation Extraction",
GSCL 2009; as a topic-coherence measure, Aletras & Stevenson (IWCS 2013) and
Lau, Newman & Baldwin, "Machine Reading Tea Leaves", EACL 2014, which the
ProdLDA paper (Srivastava & Sutton 2017) reports. For two words of a topic,

    NPMI(w_i, w_j) = log(P(w_i, w_j) / (P(w_i) P(w_j))) / -log P(w_i, w_j)

with P(w) the share of reference documents holding w and P(w_i, w_j) the share
holding both (document frequencies: a word counted once per document,
however often it occurs there). It lies in [-1, 1]. A pair never seen
together scores -1 (its limit as P(w_i, w_j) -> 0; no smoothing), and a pair
present in every document scores 1. A topic's coherence is the mean over its
top words' unordered pairs (45 for 10 words); a model's is the mean over its
topics. Issue 29 counts over the Multi30k English training captions, each
caption a document. Numpy only.
"""

import numpy as np

from zoo.errors import InputError
from zoo.text.bag_of_words import as_vocabulary

TOP_WORDS = 10


def npmi(joint, first, second):
    """NPMI from document probabilities (arrays broadcast): -1 where `joint` is 0, 1 where it is 1."""
    joint, first, second = (np.asarray(p, dtype="float64") for p in (joint, first, second))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.log(joint / (first * second)) / -np.log(joint)
    value = np.where(joint <= 0, -1.0, value)
    return np.where(joint >= 1, 1.0, value)


def _presence(reference, vocabulary):
    """Reference documents -> a boolean CSC matrix (n, V): which documents hold which words."""
    from scipy import sparse

    if isinstance(reference, str):
        raise InputError("reference must be documents (a list of str) or word counts (n, V); got a single str")
    if sparse.issparse(reference):
        matrix = sparse.csc_matrix(reference)
    elif hasattr(reference, "__array__") and np.asarray(reference).dtype.kind not in "UO":
        matrix = np.asarray(reference)
        if matrix.ndim != 2:
            raise InputError(f"reference counts must be 2-D (n, {len(vocabulary)}); got shape {matrix.shape}")
        matrix = sparse.csc_matrix(matrix)
    else:
        matrix = vocabulary.transform(list(reference), sparse=True).tocsc()
    if matrix.shape[1] != len(vocabulary):
        raise InputError(f"reference counts must have one column per vocabulary word ({len(vocabulary)}); "
                         f"got shape {matrix.shape}")
    if matrix.shape[0] == 0:
        raise InputError("the reference corpus holds no documents")
    if not np.all(np.isfinite(matrix.data)) or np.any(matrix.data < 0):
        raise InputError("reference counts hold negative, NaN or infinite values")
    return matrix > 0


def _topic_ids(topics, vocabulary, top):
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 2:
        raise InputError(f"top must be an int >= 2 (a pair of words at least); got {top!r}")
    if isinstance(topics, str) or not len(topics):
        raise InputError("topics must be a non-empty list of topics, each a list of words")
    ids = []
    for k, words in enumerate(topics):
        if isinstance(words, str):
            raise InputError(f"topic {k} is a str; each topic is a list of words")
        words = list(words)[:top]
        if len(words) < top:
            raise InputError(f"topic {k} has {len(words)} words; its top {top} are scored")
        if len(set(words)) != len(words):
            raise InputError(f"topic {k} repeats a word: {words}")
        unknown = [w for w in words if w not in vocabulary]
        if unknown:
            raise InputError(f"topic {k} has words outside the vocabulary: {unknown}")
        ids.append([vocabulary.index[w] for w in words])
    return np.asarray(ids)


def topic_npmi_matrices(topics, reference, vocabulary, top=TOP_WORDS):
    """NPMI of every pair of each topic's `top` words: float64 (K, top, top), the diagonal NaN.

    Args:
        topics: K lists of words (the first `top` of each are scored), as `model.topics(top)` gives them.
        reference: the co-occurrence corpus: a list of str (read through `vocabulary`; a document with no
            vocabulary word still counts as a document), or counts (n, V) over `vocabulary`, dense or scipy sparse.
        vocabulary: a `zoo.text.bag_of_words.Vocabulary` (or its config, or a list of words).
    """
    vocabulary = as_vocabulary(vocabulary)
    ids = _topic_ids(topics, vocabulary, top)
    presence = _presence(reference, vocabulary)
    n = presence.shape[0]
    matrices = np.empty((len(ids), top, top))
    for k, columns in enumerate(ids):
        held = presence[:, columns].astype("float64").toarray()  # (n, top)
        together = held.T @ held / n
        single = np.diag(together)
        matrices[k] = npmi(together, single[:, None], single[None, :])
        np.fill_diagonal(matrices[k], np.nan)
    return matrices


def npmi_per_topic(topics, reference, vocabulary, top=TOP_WORDS):
    """Each topic's coherence: the mean NPMI over the unordered pairs of its `top` words, float64 (K,)."""
    matrices = topic_npmi_matrices(topics, reference, vocabulary, top)
    upper = np.triu_indices(top, k=1)
    return np.array([m[upper].mean() for m in matrices])


def npmi_coherence(topics, reference, vocabulary, top=TOP_WORDS):
    """A model's coherence: the mean over its topics of `npmi_per_topic` (float)."""
    return float(np.mean(npmi_per_topic(topics, reference, vocabulary, top)))


__all__ = ["npmi", "npmi_coherence", "npmi_per_topic", "topic_npmi_matrices"]
