"""Word-by-word translation with a bilingual dictionary read off aligned embeddings.

Lample et al., ICLR 2018, Section 2.4: the first translation model M(1) that
unsupervised training starts from translates each word on its own, to its
nearest neighbour (by CSLS, Conneau et al., ICLR 2018) in the other language
once the two embedding spaces are aligned. Words without an embedding (rare
words, names, numbers) are copied unchanged, which is what a reader would do
with them. The output keeps the source's word order and is lowercased and
detokenized like every zoo translation.
"""

import numpy as np

from zoo.errors import InputError
from zoo.text.embeddings import nearest_neighbours
from zoo.text.words import detokenize, pretokenize


class WordByWordTranslator:
    """`translate(sentences)` replaces each known word by its dictionary entry, word by word."""

    def __init__(self, dictionary):
        self.dictionary = dict(dictionary)

    @classmethod
    def from_embeddings(cls, source_words, source_vectors, target_words, target_vectors, matrix=None, k=10):
        """The dictionary of every source word to its CSLS nearest target word, after `source @ matrix`."""
        source_vectors = np.asarray(source_vectors, dtype="float32")
        if matrix is not None:
            source_vectors = source_vectors @ np.asarray(matrix, dtype="float32")
        if len(source_words) != len(source_vectors) or len(target_words) != len(target_vectors):
            raise InputError("each word list must have one vector per word")
        best, _ = nearest_neighbours(source_vectors, target_vectors, k=k, method="csls")
        return cls({word: target_words[j] for word, j in zip(source_words, best, strict=True)})

    def translate_words(self, words):
        return [self.dictionary.get(w, w) for w in words]

    def translate(self, sentences):
        """Each sentence -> its word-by-word translation (plain, lowercased text)."""
        if isinstance(sentences, str):
            raise InputError("translate takes a list of sentences; wrap a single sentence in a list")
        return [detokenize(self.translate_words(pretokenize(s))) for s in sentences]
