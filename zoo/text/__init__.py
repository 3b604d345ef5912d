"""Text for the zoo's translation and topic models: words, subwords, noise, BLEU, and cross-lingual word embeddings.

- `words`: normalization (lowercase), pre-tokenization and detokenization;
- `tokenizer`: a joint SentencePiece vocabulary with one control symbol per language;
- `noise`: the word drop and local shuffle of Lample et al. (ICLR 2018), in `keras.ops`;
- `bleu`: corpus BLEU through sacrebleu, with its signature, BLEU on Moses tokens (the papers' way), and
  round-trip BLEU;
- `embeddings`: monolingual embeddings (PPMI + SVD, fastText skip-gram) and CSLS nearest neighbours;
- `dictionary`: a reference dictionary read off parallel pairs by IBM Model 1, and precision@1 (evaluation only);
- `alignment`: MUSE's adversarial alignment and Procrustes refinement (Conneau et al., ICLR 2018);
- `word_by_word`: the word-by-word translation that unsupervised training starts from;
- `bag_of_words`: the topic models' vocabulary (stop words and rare words removed) and word counts.
"""

from zoo.text.bag_of_words import Vocabulary
from zoo.text.bleu import BleuScore, corpus_bleu, moses_bleu, round_trip_bleu
from zoo.text.tokenizer import SubwordTokenizer
from zoo.text.word_by_word import WordByWordTranslator
from zoo.text.words import detokenize, normalize, pretokenize, pretokenized

__all__ = ["BleuScore", "SubwordTokenizer", "WordByWordTranslator", "corpus_bleu", "detokenize", "moses_bleu",
           "normalize", "pretokenize", "pretokenized", "round_trip_bleu", "Vocabulary"]
