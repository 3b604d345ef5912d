"""Bags of words for topic models: a fixed vocabulary, and documents as word counts.

The preprocessing of issue 29 (the topic models on the Multi30k English
captions):

- text is normalized as everywhere in the zoo (`zoo.text.words.normalize`:
  Unicode NFKC, lowercased, whitespace collapsed);
- a word is a run of letters and digits, with inner hyphens and apostrophes
  kept ("t-shirt", "o'clock"), a final possessive "'s" removed ("man's" ->
  "man"); tokens shorter than two characters and tokens without a letter
  (numbers) are dropped;
- stop words are removed: scikit-learn's `ENGLISH_STOP_WORDS` (318 words, the
  list of the Glasgow Information Retrieval Group), read when a vocabulary is
  fitted;
- the vocabulary keeps the words seen at least `min_count` = 5 times in the
  training texts (occurrences, not documents), most frequent first.

A fitted `Vocabulary` is only its word list: stop words and rare words are
simply not in it, so transforming text needs neither scikit-learn nor the
training texts, and the list travels in a model's `get_config` (config.json).
"""

import re
from collections import Counter

import numpy as np

from zoo.errors import InputError
from zoo.text.words import normalize

MIN_COUNT = 5
STOP_WORDS = "sklearn"

_WORD = re.compile(r"\w+(?:[-']\w+)*")
_LETTER = re.compile(r"[^\W\d_]")


def words_of(text):
    """The candidate words of `text` before the stop-word and vocabulary filters.

    "A man's T-shirt, 2 dogs." -> ["a", "man", "t-shirt", "dogs"]
    """
    if not isinstance(text, str):
        raise InputError(f"a document is a str; got {type(text).__name__}")
    words = []
    for token in _WORD.findall(normalize(text)):
        if token.endswith("'s"):
            token = token[:-2]
        if len(token) >= 2 and _LETTER.search(token):
            words.append(token)
    return words


def stop_word_set(which=STOP_WORDS):
    """The stop-word set: "sklearn" (scikit-learn's ENGLISH_STOP_WORDS), None (none) or an iterable of words."""
    if which is None:
        return frozenset()
    if isinstance(which, str):
        if which != "sklearn":
            raise InputError(f"stop_words is 'sklearn', None or a list of words; got {which!r}")
        try:
            from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
        except ImportError as e:
            raise ImportError("fitting a vocabulary with stop_words='sklearn' needs scikit-learn: "
                              "pip install scikit-learn") from e
        return frozenset(ENGLISH_STOP_WORDS)
    return frozenset(normalize(w) for w in which)


def _check_texts(texts):
    if isinstance(texts, str):
        raise InputError("expected a list of documents (str); got a single str. Wrap it in a list: [text].")
    try:
        texts = list(texts)
    except TypeError:
        raise InputError(f"expected a list of documents (str); got {type(texts).__name__}") from None
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"document {i} is a {type(text).__name__}; every document must be a str")
    return texts


class Vocabulary:
    """A fixed list of words; documents -> word counts (n, V) over it.

        vocabulary = Vocabulary.fit(training_texts)           # min_count=5, sklearn's stop words
        counts = vocabulary.transform(["a dog runs on the grass ."])   # float32 (1, V)

    `words[i]` is column i. `min_count` and `stop_words` record how the list was
    made (in the config, for the model card); transforming uses the list only.
    """

    def __init__(self, words, min_count=None, stop_words=None):
        words = list(words) if not isinstance(words, str) else None
        if not words:
            raise InputError("a vocabulary needs a non-empty list of words")
        for w in words:
            if not isinstance(w, str) or words_of(w) != [w]:
                raise InputError(f"vocabulary entries must be single normalized words (lowercase, as words_of "
                                 f"gives them); got {w!r}")
        if len(set(words)) != len(words):
            duplicates = sorted({w for w in words if words.count(w) > 1})
            raise InputError(f"vocabulary words must be distinct; repeated: {duplicates[:10]}")
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        self.min_count = min_count
        self.stop_words = stop_words

    @classmethod
    def fit(cls, texts, min_count=MIN_COUNT, stop_words=STOP_WORDS):
        """The words of `texts` seen at least `min_count` times, stop words removed; most frequent first (ties
        alphabetical).

        `stop_words`: "sklearn" (scikit-learn's ENGLISH_STOP_WORDS), None, or a list of words (recorded in the
        config as "custom").
        """
        texts = _check_texts(texts)
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise InputError(f"min_count must be an int >= 1; got {min_count!r}")
        stop = stop_word_set(stop_words)
        counts = Counter(w for text in texts for w in words_of(text) if w not in stop)
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        if not kept:
            raise InputError(f"no word of the {len(texts)} texts is seen {min_count} times or more outside the "
                             "stop words: nothing to build a vocabulary from")
        label = stop_words if stop_words is None or isinstance(stop_words, str) else "custom"
        return cls(kept, min_count=min_count, stop_words=label)

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    def __repr__(self):
        return f"Vocabulary({len(self)} words, min_count={self.min_count}, stop_words={self.stop_words!r})"

    def ids(self, text):
        """The column of each vocabulary word of `text`, in order (unknown words and stop words left out)."""
        return [self.index[w] for w in words_of(text) if w in self.index]

    def transform(self, texts, allow_empty=True, sparse=False):
        """Word counts float32 (len(texts), V); a scipy CSR matrix with `sparse=True` (the 29,000 Multi30k
        training captions over about 3,000 words are 350 MB dense, 2 MB sparse).

        With `allow_empty=False` a document with no vocabulary word (empty, or
        only stop words, rare or unknown words) raises `InputError` naming it:
        a topic model has nothing to infer its topics from.
        """
        texts = _check_texts(texts)
        rows, columns = [], []
        for row, text in enumerate(texts):
            ids = self.ids(text)
            if not ids and not allow_empty:
                raise InputError(self.empty_message(row, text))
            rows.extend([row] * len(ids))
            columns.extend(ids)
        shape = (len(texts), len(self))
        if sparse:
            from scipy.sparse import csr_matrix

            counts = csr_matrix((np.ones(len(rows), "float32"), (rows, columns)), shape=shape, dtype="float32")
            counts.sum_duplicates()
            return counts
        counts = np.zeros(shape, dtype="float32")
        np.add.at(counts, (np.asarray(rows, "int64"), np.asarray(columns, "int64")), 1.0)
        return counts

    def nonempty(self, texts, sparse=False):
        """`(counts, kept)`: the counts of the documents that keep at least one vocabulary word, and their
        indices in `texts` (what a topic model trains and is evaluated on; the others are left out)."""
        counts = self.transform(texts, sparse=sparse)
        kept = np.flatnonzero(np.asarray(counts.sum(axis=1)).ravel() > 0)
        return counts[kept], kept

    def empty_message(self, row, text):
        words = words_of(text) if isinstance(text, str) else []
        shown = text if len(text) <= 80 else text[:77] + "..."
        if not words:
            why = "it has no words"
        else:
            why = (f"none of its words {words[:8]} is in the vocabulary of {len(self)} words (stop words and words "
                   f"seen fewer than {self.min_count or 'min_count'} times in training are left out)")
        return f"document {row} ({shown!r}) is empty after preprocessing: {why}. A topic model needs at least one " \
               "vocabulary word per document."

    def get_config(self):
        return {"words": list(self.words), "min_count": self.min_count, "stop_words": self.stop_words}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def as_vocabulary(vocabulary):
    """A `Vocabulary` from a `Vocabulary`, its config dict, or a list of words."""
    if isinstance(vocabulary, Vocabulary):
        return vocabulary
    if isinstance(vocabulary, dict):
        return Vocabulary.from_config(vocabulary)
    if isinstance(vocabulary, str):
        raise InputError("vocabulary must be a Vocabulary, its config, or a list of words; got a str")
    return Vocabulary(vocabulary)


def check_counts(counts, vocabulary_size, allow_empty=False, name="counts"):
    """`counts` as float32 (n, V) with finite non-negative entries; rows summing to 0 refused unless
    `allow_empty`. Accepts scipy sparse matrices (densified)."""
    if hasattr(counts, "toarray"):
        counts = counts.toarray()
    try:
        counts = np.asarray(counts, dtype="float32")
    except (TypeError, ValueError) as e:
        raise InputError(f"{name} must be a numeric array (n, {vocabulary_size}) of word counts: {e}") from None
    if counts.ndim != 2 or counts.shape[1] != vocabulary_size:
        raise InputError(f"{name} must have shape (n, {vocabulary_size}), one column per vocabulary word; "
                         f"got {counts.shape}")
    if len(counts) == 0:
        raise InputError(f"{name} holds no documents")
    if not np.all(np.isfinite(counts)):
        raise InputError(f"{name} holds NaN or infinite values")
    if np.any(counts < 0):
        raise InputError(f"{name} holds negative values; word counts are >= 0")
    if not allow_empty:
        empty = np.flatnonzero(counts.sum(axis=1) == 0)
        if len(empty):
            raise InputError(f"{len(empty)} of the {len(counts)} documents have no words (rows {empty[:10].tolist()}"
                             f"{'...' if len(empty) > 10 else ''}); leave them out (Vocabulary.nonempty does)")
    return counts


def multi30k_vocabulary(min_count=MIN_COUNT, stop_words=STOP_WORDS, data_dir=None):
    """The vocabulary of issue 29: the Multi30k English training captions (29,000), sklearn's stop words
    removed, words seen at least 5 times."""
    from zoo.data.multi30k import load_multi30k

    return Vocabulary.fit(load_multi30k("train", ("en",), data_dir)["en"], min_count, stop_words)
