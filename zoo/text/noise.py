"""The noise model C(x) of Lample, Conneau, Denoyer & Ranzato, "Unsupervised Machine Translation Using
Monolingual Corpora Only", ICLR 2018 (arXiv:1711.00043), Section 2.3.

Two corruptions of a sentence, both on whole words (a word is a piece that
begins a word plus the pieces that follow it, so subwords of one word are
dropped and moved together):

- word drop: each word is removed with probability `p` (the paper: 0.1);
- local shuffle: the words are permuted by sorting q_i = i + U(0, k + 1),
  which moves no word more than `k` places (the paper: k = 3), and keeps the
  order of words more than k places apart.

A denoising autoencoder then learns to rebuild x from C(x); the paper applies
the same noise to the back-translated sentences too. Everything runs on padded
batches of ids with `keras.ops` and `keras.random` (draws from a
`SeedGenerator`), inside a compiled training step on any backend. Padding (id
0) stays on the right. A sentence whose words would all be dropped keeps them
all, so no input becomes empty.
"""

from keras import ops, random


def word_starts(tokens, word_start):
    """Bool `(batch, length)`: the positions where a word begins. `word_start` is a bool table over the
    vocabulary (`SubwordTokenizer.word_start`); the first piece of a sentence always begins a word."""
    tokens = ops.convert_to_tensor(tokens, "int32")
    starts = ops.take(ops.convert_to_tensor(word_start, "bool"), tokens, axis=0)
    first = ops.equal(ops.arange(ops.shape(tokens)[1], dtype="int32"), 0)[None, :]
    return ops.logical_and(ops.logical_or(starts, first), ops.not_equal(tokens, 0))


def _word_index(starts):
    """Int `(batch, length)`: the index of the word each piece belongs to (0 for the first word)."""
    return ops.maximum(ops.cumsum(ops.cast(starts, "int32"), axis=1) - 1, 0)


def _reorder(tokens, starts, key):
    """Sort each row of `tokens` (and `starts`) by `key`, ascending; ties do not occur (keys are distinct)."""
    order = ops.argsort(key, axis=1)
    return ops.take_along_axis(tokens, order, axis=1), ops.take_along_axis(starts, order, axis=1)


def word_dropout(tokens, starts, p, seed):
    """Remove each word with probability `p`; the kept pieces move left, in order, padding follows.
    Returns `(tokens, starts)`."""
    tokens = ops.convert_to_tensor(tokens, "int32")
    if p <= 0:
        return tokens, starts
    length = ops.shape(tokens)[1]
    valid = ops.not_equal(tokens, 0)
    kept_words = ops.greater_equal(random.uniform(ops.shape(tokens), seed=seed), p)  # one draw per word slot
    keep = ops.logical_and(ops.take_along_axis(kept_words, _word_index(starts), axis=1), valid)
    nothing_left = ops.logical_not(ops.any(keep, axis=1, keepdims=True))
    keep = ops.where(nothing_left, valid, keep)
    position = ops.arange(length, dtype="int32")[None, :]
    key = ops.where(keep, position, position + length)
    tokens, starts = _reorder(ops.where(keep, tokens, 0), ops.logical_and(starts, keep), key)
    return tokens, starts


def word_shuffle(tokens, starts, k, seed):
    """Permute the words of each sentence by sorting i + U(0, k + 1); pieces keep their order inside a word.
    Returns `(tokens, starts)`."""
    tokens = ops.convert_to_tensor(tokens, "int32")
    if k <= 0:
        return tokens, starts
    length = ops.shape(tokens)[1]
    slots = ops.cast(ops.arange(length, dtype="int32"), "float32")[None, :]
    q = slots + random.uniform(ops.shape(tokens), minval=0.0, maxval=float(k) + 1.0, seed=seed)
    rank = ops.argsort(ops.argsort(q, axis=1), axis=1)  # the new place of each word slot
    word_rank = ops.take_along_axis(rank, _word_index(starts), axis=1)
    position = ops.arange(length, dtype="int32")[None, :]
    valid = ops.not_equal(tokens, 0)
    key = ops.where(valid, word_rank * length + position, length * length + position)
    return _reorder(tokens, starts, key)


def add_noise(tokens, word_start, p=0.1, k=3, seed=None):
    """C(x): word drop with probability `p`, then local shuffle within `k` places, on a padded id batch."""
    starts = word_starts(tokens, word_start)
    tokens, starts = word_dropout(tokens, starts, p, seed)
    tokens, _ = word_shuffle(tokens, starts, k, seed)
    return tokens
