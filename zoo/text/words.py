"""Word-level text handling: normalization, pre-tokenization and detokenization.

Every sentence the zoo's translation models see is first normalized (Unicode
NFKC, lowercased, whitespace collapsed) and split into words and punctuation
marks, as the lowercased, tokenized Multi30k used by Lample et al. (ICLR 2018).
A word is a run of letters and digits; a French elision keeps its apostrophe
("l'homme" -> "l'", "homme"); a decimal number stays whole ("2.5"); every
other non-space character is a token of its own. Words are what the
monolingual embeddings, the word-by-word translation and the noise model work
on; subwords (`zoo.text.tokenizer`) are what the networks read.

`detokenize` joins tokens back into plain text: no space before closing
punctuation (. , ! ? ; : ) ] } %), none after opening brackets or an elided
word ("l'"), none around hyphens and slashes, and double quotes alternately
open and close. The output stays lowercased. BLEU is computed on this text
against the raw references with sacrebleu's own tokenizer and `lowercase=True`
(`zoo.text.bleu`), so these rules do not change the score.
"""

import re
import unicodedata

_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|\w+'(?=\w)|\w+|[^\w\s]")
_NO_SPACE_BEFORE = frozenset(".,!?;:)]}%'")
_NO_SPACE_AFTER = frozenset("([{")
_JOINERS = frozenset("-/")


def normalize(text):
    """`text` in NFKC, lowercased, with runs of whitespace turned into single spaces and the ends stripped."""
    if not isinstance(text, str):
        raise TypeError(f"expected a str sentence; got {type(text).__name__}")
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def pretokenize(text):
    """The normalized words and punctuation marks of `text`: "L'homme, à vélo." -> ["l'", "homme", ",", "à", "vélo", "."]."""
    return _TOKEN.findall(normalize(text))


def pretokenized(text):
    """`pretokenize(text)` joined by single spaces: the form the subword tokenizer and the word tables read."""
    return " ".join(pretokenize(text))


def detokenize(tokens):
    """Tokens (a list, or a string of space-separated tokens) -> plain text, the inverse of `pretokenize` on
    ordinary sentences (lowercased)."""
    if isinstance(tokens, str):
        tokens = tokens.split()
    out = []
    glue = True  # no space before the next token
    quote_open = False
    for token in tokens:
        if token == '"':
            if quote_open:
                out.append(token)
                glue = False
            else:
                out.append(token if glue else " " + token)
                glue = True
            quote_open = not quote_open
            continue
        if token in _JOINERS:
            out.append(token)
            glue = True
            continue
        space = not glue and token not in _NO_SPACE_BEFORE
        out.append(" " + token if space else token)
        glue = token in _NO_SPACE_AFTER or token.endswith("'") and len(token) > 1
    return "".join(out)
