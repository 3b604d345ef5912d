"""Monolingual word embeddings from co-occurrence counts, and CSLS nearest neighbours between two spaces.

Embeddings: the positive pointwise mutual information (PPMI) matrix of words
and their context words, factored by a truncated SVD, with the two
improvements Levy, Goldberg & Dagan found made it match word2vec (TACL 2015):
context-distribution smoothing (context counts raised to 0.75) and
eigenvalue weighting (U * S^p, Caron 2001; p = 0.5 is their "symmetric"
weighting, U * sqrt(S)). Context words closer to the word count
more (weight (window - d + 1) / window for distance d, like word2vec's dynamic
window). MUSE (Conneau et al., ICLR 2018) aligns fastText vectors trained on
Wikipedia; with Multi30k's 14,500 sentences a language, this count-based
method is deterministic, takes seconds with numpy, and is as good as
skip-gram at this size. The vectors are then centred and scaled to unit
length, MUSE's "renorm,center,renorm".

For cross-lingual alignment of such small corpora, measured on Multi30k (a
dictionary read off the parallel pairs, for evaluation only): p = 1 (the
plain SVD projection U * S) and a window spanning the whole caption (20)
give far more isomorphic spaces than p = 0.5 and a window of 5 (precision@1
of the identical-strings alignment 0.17 -> 0.23 at 128 dimensions, en-fr):
the largest singular directions are the ones the two languages share, and
weighting by S keeps the noisy small ones from dominating the cosines.

`fasttext_embeddings`: the subword-aware skip-gram of Bojanowski, Grave,
Joulin & Mikolov ("Enriching Word Vectors with Subword Information", TACL
2017), the fastText vectors MUSE and Lample et al. align, trained with
gensim's `FastText` on the monolingual half: a word's vector is the sum of its
character n-grams' (3 to 6), so related forms ("joue", "jouent", "jouant")
share most of their vector. One worker thread and a seed make it repeatable.

CSLS, cross-domain similarity local scaling (Conneau et al., ICLR 2018, Eq. 6):
CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y), where r_T(x) is the mean cosine
of x to its k nearest target words and r_S(y) that of y to its k nearest
source words. It lowers the score of "hubs", words near everything, which
plain nearest neighbours pick too often.
"""

from collections import Counter

import numpy as np

from zoo.errors import InputError


def vocabulary(token_lists, min_count=1, max_size=None):
    """The words of `token_lists` seen at least `min_count` times, most frequent first (ties by word), and their
    counts."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if max_size is not None:
        words = words[:int(max_size)]
    return words, np.array([counts[w] for w in words], dtype="int64")


def cooccurrences(token_lists, words, window=5):
    """Weighted counts `(n, n)` of word j within `window` words of word i in the same sentence."""
    index = {w: i for i, w in enumerate(words)}
    n = len(words)
    counts = np.zeros(n * n, dtype="float64")
    sequences = [np.array([index.get(t, -1) for t in tokens], dtype="int64") for tokens in token_lists]
    for distance in range(1, int(window) + 1):
        weight = (window - distance + 1) / window
        left = [s[:-distance] for s in sequences if len(s) > distance]
        right = [s[distance:] for s in sequences if len(s) > distance]
        if not left:
            break
        a, b = np.concatenate(left), np.concatenate(right)
        known = (a >= 0) & (b >= 0)
        a, b = a[known], b[known]
        counts += weight * np.bincount(a * n + b, minlength=n * n)
        counts += weight * np.bincount(b * n + a, minlength=n * n)
    return counts.reshape(n, n)


def ppmi(counts, smoothing=0.75):
    """Positive PMI of a co-occurrence matrix, with context counts raised to `smoothing`."""
    counts = np.asarray(counts, dtype="float64")
    total = counts.sum()
    if total <= 0:
        raise InputError("no co-occurrences: the sentences are too short or the vocabulary is empty")
    word = counts.sum(axis=1, keepdims=True) / total
    context = counts.sum(axis=0) ** smoothing
    context = (context / context.sum())[None, :]
    with np.errstate(divide="ignore"):
        pmi = np.log(counts / total) - np.log(np.maximum(word, 1e-300)) - np.log(np.maximum(context, 1e-300))
    return np.where(counts > 0, np.maximum(pmi, 0.0), 0.0)


def truncated_svd(matrix, rank, seed=0, power_iterations=4, oversample=10):
    """The top `rank` singular triplets `(u, s, vt)` of `matrix`, by randomized SVD (Halko, Martinsson & Tropp,
    SIAM Review 2011), deterministic for a given seed."""
    matrix = np.asarray(matrix, dtype="float64")
    rank = min(int(rank), min(matrix.shape))
    rng = np.random.default_rng(seed)
    basis = matrix @ rng.standard_normal((matrix.shape[1], min(rank + oversample, min(matrix.shape))))
    basis, _ = np.linalg.qr(basis)
    for _ in range(power_iterations):
        basis, _ = np.linalg.qr(matrix.T @ basis)
        basis, _ = np.linalg.qr(matrix @ basis)
    u, s, vt = np.linalg.svd(basis.T @ matrix, full_matrices=False)
    return (basis @ u)[:, :rank], s[:rank], vt[:rank]


def normalize_embeddings(vectors):
    """MUSE's "renorm,center,renorm": unit length, mean removed, unit length again (float32)."""
    vectors = np.asarray(vectors, dtype="float64")
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    vectors = vectors - vectors.mean(axis=0, keepdims=True)
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors.astype("float32")


def ppmi_svd_embeddings(token_lists, words, dim=128, window=5, smoothing=0.75, weighting=0.5, seed=0):
    """`(len(words), dim)` float32 unit vectors: PPMI + SVD word embeddings of `words` from `token_lists`.

    `weighting` is the eigenvalue-weighting exponent p of the vectors U * S^p (0.5: Levy et al.'s symmetric
    weighting; 1: the SVD projection, better for cross-lingual alignment on small corpora).
    """
    if len(words) < 2:
        raise InputError(f"need at least 2 words to embed; got {len(words)}")
    if not 0.0 <= float(weighting) <= 2.0:
        raise InputError(f"weighting is the exponent of the singular values, expected in [0, 2]; got {weighting!r}")
    u, s, _ = truncated_svd(ppmi(cooccurrences(token_lists, words, window), smoothing), dim, seed=seed)
    return normalize_embeddings(u * (s ** float(weighting))[None, :])


def fasttext_embeddings(token_lists, words, dim=128, window=5, epochs=10, min_n=3, max_n=6, negative=10,
                        sample=1e-4, seed=0):
    """`(len(words), dim)` float32 unit vectors of `words`: fastText skip-gram trained on `token_lists`.

    gensim's defaults but for `epochs` (10: the corpus is small) and `negative` (10); `min_n`/`max_n` are the
    character n-gram lengths (`max_n=0` turns subwords off: plain word2vec skip-gram).
    """
    from gensim.models import FastText  # only this function needs gensim

    if len(words) < 2:
        raise InputError(f"need at least 2 words to embed; got {len(words)}")
    if not token_lists or isinstance(token_lists[0], str):
        raise InputError("expected a non-empty list of token lists (e.g. `pretokenize(sentence)` for each one)")
    model = FastText(vector_size=int(dim), window=int(window), min_count=1, sg=1, negative=int(negative),
                     sample=float(sample), min_n=int(min_n), max_n=int(max_n), workers=1, seed=int(seed),
                     epochs=int(epochs))
    model.build_vocab(corpus_iterable=token_lists)
    model.train(corpus_iterable=token_lists, total_examples=len(token_lists), epochs=model.epochs)
    return normalize_embeddings(np.stack([model.wv[w] for w in words]))


def piece_embeddings(tokenizer, sentences, dim=256, window=5, epochs=10, seed=0):
    """`(tokenizer.vocab_size, dim)` float32 unit vectors, one per piece of a joint `SubwordTokenizer`:
    fastText skip-gram trained on `sentences` of all its languages together, cut into its pieces.

    Lample, Ott, Conneau, Denoyer & Ranzato, "Phrase-Based & Neural Unsupervised Machine Translation", EMNLP
    2018, Sec. 3.1 and 4.2: with a vocabulary shared by both languages, embeddings trained on the concatenated
    monolingual corpora are already cross-lingual where the languages share pieces (names, numbers, cognates),
    and initialise the translator's lookup table. Pieces the corpus lacks (control symbols) get the vector of
    their character n-grams.
    """
    pieces = [tokenizer.processor.id_to_piece(i) for i in range(tokenizer.vocab_size)]
    token_lists = [p for p in (tokenizer.pieces(s) for s in sentences) if p]
    if not token_lists:
        raise InputError("expected sentences to train piece embeddings on; got none with any text")
    return fasttext_embeddings(token_lists, pieces, dim=dim, window=window, epochs=epochs, seed=seed)


def word_embeddings(token_lists, words, method="ppmi", **options):
    """Embeddings of `words` by `method`: "ppmi" (`ppmi_svd_embeddings`) or "fasttext" (`fasttext_embeddings`);
    `options` go to that function."""
    methods = {"ppmi": ppmi_svd_embeddings, "fasttext": fasttext_embeddings}
    if method not in methods:
        raise InputError(f"unknown embedding method {method!r}; expected one of {sorted(methods)}")
    return methods[method](token_lists, words, **options)


def unit_rows(x):
    """Rows scaled to unit length (float32)."""
    x = np.asarray(x, dtype="float32")
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def mean_neighbour_similarity(queries, keys, k=10, batch_size=1024):
    """For each query, the mean cosine of its `k` nearest keys: r_T / r_S of CSLS."""
    queries, keys = unit_rows(queries), unit_rows(keys)
    k = min(int(k), len(keys))
    out = np.empty(len(queries), dtype="float32")
    for i in range(0, len(queries), batch_size):
        scores = queries[i:i + batch_size] @ keys.T
        out[i:i + batch_size] = np.mean(np.partition(scores, -k, axis=1)[:, -k:], axis=1)
    return out


def nearest_neighbours(source, target, k=10, method="csls", batch_size=1024):
    """For each source vector, the index of its nearest target vector and the score, by `method` ("csls" or
    "cosine"). Both sets should already live in one space (map the source first)."""
    if method not in ("csls", "cosine"):
        raise ValueError(f"method must be 'csls' or 'cosine'; got {method!r}")
    source, target = unit_rows(source), unit_rows(target)
    if method == "csls":
        r_source = mean_neighbour_similarity(target, source, k)  # r_S(y) for every target y
        r_target = mean_neighbour_similarity(source, target, k)  # r_T(x) for every source x
    best = np.empty(len(source), dtype="int64")
    best_score = np.empty(len(source), dtype="float32")
    for i in range(0, len(source), batch_size):
        scores = source[i:i + batch_size] @ target.T
        if method == "csls":
            scores = 2 * scores - r_target[i:i + batch_size, None] - r_source[None, :]
        best[i:i + batch_size] = np.argmax(scores, axis=1)
        best_score[i:i + batch_size] = scores[np.arange(len(scores)), best[i:i + batch_size]]
    return best, best_score
