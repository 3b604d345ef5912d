"""Subwords shared by two or more languages, learned with SentencePiece.

Kudo & Richardson, "SentencePiece: A simple and language independent subword
tokenizer and detokenizer for Neural Text Processing", EMNLP 2018 (system
demonstrations); byte-pair encoding after Sennrich, Haddow & Birch, ACL 2016.

One vocabulary is learned on the monolingual text of all the model's languages
together (a joint BPE), so one shared encoder reads them all. The text is
first normalized and pre-tokenized by `zoo.text.words` (lowercased, punctuation
split off); SentencePiece then only splits words into pieces, and decoding
gives the pre-tokenized text back, which `zoo.text.words.detokenize` turns into
plain text. Fixed ids: 0 padding, 1 unknown, 2 end of sentence; then one
control symbol per language, `<2en>`, `<2fr>`..., which a decoder reads as its
first input to know which language to write. Control symbols never match
input text, so typing "<2fr>" in a sentence cannot inject one. Characters not
seen in training (`character_coverage=1.0` keeps all those that were) are
encoded as the unknown id.

The model is kept as its serialized protobuf (base64 text in `get_config`), so
it travels inside a Keras model's config.json: no pickles, no extra files.
"""

import base64
import io

import numpy as np

from zoo.errors import InputError
from zoo.text.words import detokenize, pretokenized

PAD_ID, UNK_ID, EOS_ID = 0, 1, 2
WORD_START = "\u2581"  # SentencePiece's mark for a piece that begins a word


def _spm():
    try:
        import sentencepiece
    except ImportError as e:
        raise ImportError("zoo.text needs the 'sentencepiece' package: pip install sentencepiece") from e
    return sentencepiece


def language_symbol(language):
    return f"<2{language}>"


class SubwordTokenizer:
    """A joint SentencePiece vocabulary for `languages`: text <-> lists of ids.

    Build one with `SubwordTokenizer.train(sentences, languages, vocab_size)`;
    `encode(texts)` gives id lists (no end-of-sentence id; `max_length` cuts),
    `decode(ids)` plain text, `pad(id_lists, length)` an int32 matrix.
    `word_start[i]` says whether piece i begins a word (so the noise model can
    drop and shuffle whole words).
    """

    def __init__(self, model_proto, languages):
        if isinstance(model_proto, str):
            model_proto = base64.b64decode(model_proto.encode("ascii"))
        self.languages = tuple(languages)
        if len(set(self.languages)) != len(self.languages) or not self.languages:
            raise ValueError(f"languages must be distinct codes; got {self.languages}")
        self.model_proto = bytes(model_proto)
        self.processor = _spm().SentencePieceProcessor(model_proto=self.model_proto)
        self.vocab_size = int(self.processor.get_piece_size())
        self.language_ids = {}
        for language in self.languages:
            index = self.processor.piece_to_id(language_symbol(language))
            if not self.processor.is_control(index):
                raise ValueError(f"the SentencePiece model has no control symbol {language_symbol(language)}; "
                                 "train it with SubwordTokenizer.train(..., languages=...)")
            self.language_ids[language] = int(index)
        specials = (self.processor.pad_id(), self.processor.unk_id(), self.processor.eos_id())
        if specials != (PAD_ID, UNK_ID, EOS_ID):
            raise ValueError(f"expected pad/unk/eos ids {(PAD_ID, UNK_ID, EOS_ID)}; the model has {specials}")
        pieces = [self.processor.id_to_piece(i) for i in range(self.vocab_size)]
        self.word_start = np.array([p.startswith(WORD_START) for p in pieces], dtype=bool)
        self.word_start[UNK_ID] = True  # an unknown character stands for a word of its own
        self.special_ids = np.array(sorted({PAD_ID, UNK_ID, *self.language_ids.values()}), dtype="int32")

    @classmethod
    def train(cls, sentences, languages, vocab_size=6000, model_type="bpe"):
        """Learn a joint vocabulary of at most `vocab_size` pieces from `sentences` (raw text of all languages).

        The result is deterministic for the same sentences and settings. Small
        corpora get fewer pieces than `vocab_size` rather than an error.
        """
        texts = [pretokenized(s) for s in sentences]
        texts = [t for t in texts if t]
        if not texts:
            raise InputError("cannot learn a vocabulary from no text: every sentence is empty")
        model = io.BytesIO()
        _spm().SentencePieceTrainer.train(
            sentence_iterator=iter(texts), model_writer=model, vocab_size=int(vocab_size),
            model_type=model_type, pad_id=PAD_ID, unk_id=UNK_ID, eos_id=EOS_ID, bos_id=-1,
            control_symbols=[language_symbol(lang) for lang in languages], character_coverage=1.0,
            hard_vocab_limit=False, normalization_rule_name="identity", num_threads=1,
            input_sentence_size=0, shuffle_input_sentence=False, max_sentence_length=1 << 16,
            minloglevel=2)
        return cls(model.getvalue(), languages)

    def language_id(self, language):
        try:
            return self.language_ids[language]
        except KeyError:
            raise InputError(f"unknown language {language!r}; this vocabulary knows {list(self.languages)}") from None

    def encode(self, texts, max_length=None):
        """Each text -> its list of piece ids (normalized and pre-tokenized first), cut at `max_length` pieces."""
        ids = self.processor.encode([pretokenized(t) for t in texts], out_type=int)
        if max_length is not None:
            ids = [row[:int(max_length)] for row in ids]
        return ids

    def decode(self, id_lists):
        """Id lists -> plain (detokenized, lowercased) text; decoding stops at the first end-of-sentence id."""
        texts = []
        for row in id_lists:
            row = [int(i) for i in row]
            if EOS_ID in row:
                row = row[:row.index(EOS_ID)]
            row = [i for i in row if i != PAD_ID and 0 <= i < self.vocab_size]
            texts.append(detokenize(self.processor.decode(row)))
        return texts

    def pieces(self, text):
        return self.processor.encode(pretokenized(text), out_type=str)

    @staticmethod
    def pad(id_lists, length=None):
        """Id lists -> int32 `(n, length)` padded with 0 on the right (`length` defaults to the longest; longer
        rows are cut)."""
        length = max((len(r) for r in id_lists), default=0) if length is None else int(length)
        out = np.zeros((len(id_lists), max(length, 1)), dtype="int32")
        for i, row in enumerate(id_lists):
            row = row[:length]
            out[i, :len(row)] = row
        return out

    def get_config(self):
        return {"model_proto": base64.b64encode(self.model_proto).decode("ascii"), "languages": list(self.languages)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
