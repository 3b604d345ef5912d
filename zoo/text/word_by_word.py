"""Word-by-word translation with a bilingual dictionary read off aligned embeddings.

Lample et al., ICLR 2018, Section 2.4: the first translation model M(1) that
unsupervised training starts from translates each word on its own, to its
nearest neighbour (by CSLS, Conneau et al., ICLR 2018) in the other language
once the two embedding spaces are aligned. Words without an embedding (rare
words, names, numbers) are copied unchanged, which is what a reader would do
with them. The output keeps the source's word order and is lowercased and
detokenized like every zoo translation.
"""

from typing import NamedTuple

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


class WordTranslation(NamedTuple):
    """What `unsupervised_translators` found: `translators[src]` translates src into the other language."""

    translators: dict
    alignment: object  # zoo.text.alignment.Alignment
    words: dict  # {lang: the words given a vector, most frequent first}
    vectors: dict  # {lang: (len(words), dim) unit vectors, before the map}


def unsupervised_translators(tokens, languages, embeddings="ppmi", words=3000, min_count=2, align_method="identical",
                             seed=0, embedding_options=None, **align_options):
    """Word-by-word translators both ways from two monolingual corpora, without parallel data.

    `tokens[lang]`: the pre-tokenized sentences of each language. Each language's `words` most frequent words
    (seen `min_count` times) are embedded (`zoo.text.embeddings.word_embeddings`, `embeddings` with
    `embedding_options`), the spaces aligned (`zoo.text.alignment.align_embeddings`, `align_method` and
    `align_options`), and each word translated to its CSLS nearest neighbour. Returns a `WordTranslation`.
    """
    from zoo.text.alignment import align_embeddings  # imports Keras: only this function needs it
    from zoo.text.embeddings import vocabulary, word_embeddings

    if len(languages) != 2 or set(languages) - set(tokens):
        raise InputError(f"need tokens of two languages, got languages {languages} and tokens of {sorted(tokens)}")
    vocabularies, vectors = {}, {}
    for lang in languages:
        vocabularies[lang], _ = vocabulary(tokens[lang], min_count=min_count, max_size=words)
        vectors[lang] = word_embeddings(tokens[lang], vocabularies[lang], method=embeddings, seed=seed,
                                        **(embedding_options or {}))
    l1, l2 = languages
    n = min(len(vocabularies[l1]), len(vocabularies[l2]))
    options = {"most_frequent": min(n, 2000), "max_rank": n, "criterion_words": min(n, 2000), "hidden": 256,
               **align_options}
    alignment = align_embeddings(vectors[l1], vectors[l2], method=align_method, seed=seed,
                                 source_words=vocabularies[l1], target_words=vocabularies[l2], **options)
    translators = {
        l1: WordByWordTranslator.from_embeddings(vocabularies[l1], vectors[l1], vocabularies[l2], vectors[l2],
                                                 alignment.matrix),
        l2: WordByWordTranslator.from_embeddings(vocabularies[l2], vectors[l2], vocabularies[l1], vectors[l1],
                                                 alignment.matrix.T)}
    return WordTranslation(translators, alignment, vocabularies, vectors)
