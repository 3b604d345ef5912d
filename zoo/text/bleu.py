"""Corpus BLEU (Papineni et al., ACL 2002) through sacrebleu (Post, "A Call for Clarity in Reporting BLEU
Scores", WMT 2018), with its signature, so every number the zoo reports says how it was computed.

The zoo's translations are lowercased (`zoo.text.words`), so BLEU is
case-insensitive by default (`lowercase=True`, signature `case:lc`), on
sacrebleu's standard 13a tokenization of the detokenized text against the raw
references. `moses_bleu` is BLEU the way Lample et al. (ICLR 2018) and most
papers of its time report it: both sides lowercased and tokenized by the Moses
tokenizer of the target language (sacremoses), then corpus BLEU on those
tokens, as multi-bleu.perl computes it; it reads higher than sacrebleu's, so
a paper's number is compared with it only. `round_trip_bleu` is the
unsupervised model-selection criterion of Lample et al., ICLR 2018 (Section
3.4): BLEU of x against its translation translated back, which needs no
parallel data.
"""

from dataclasses import dataclass

from zoo.errors import InputError


@dataclass(frozen=True)
class BleuScore:
    score: float  # 0..100
    signature: str  # sacrebleu's, e.g. "nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0"
    precisions: tuple  # the four n-gram precisions, in %
    brevity_penalty: float
    hypothesis_length: int
    reference_length: int

    def __str__(self):
        return f"BLEU {self.score:.2f} ({self.signature})"


def _sacrebleu():
    try:
        from sacrebleu.metrics import BLEU
    except ImportError as e:
        raise ImportError("BLEU needs the 'sacrebleu' package: pip install sacrebleu") from e
    return BLEU


def _strings(values, name):
    if isinstance(values, str) or not hasattr(values, "__len__"):
        raise InputError(f"{name} must be a list of strings, one per sentence; got {type(values).__name__}")
    bad = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if bad:
        raise InputError(f"{name}[{bad[0]}] is a {type(values[bad[0]]).__name__}; expected str")
    return list(values)


def corpus_bleu(hypotheses, references, lowercase=True, tokenize="13a"):
    """Corpus BLEU of `hypotheses` against `references` (one reference string per hypothesis, or a list of
    such lists for several references). Returns a `BleuScore`."""
    hypotheses = _strings(hypotheses, "hypotheses")
    if references and not isinstance(references[0], str) and hasattr(references[0], "__len__"):
        streams = [_strings(r, "references") for r in references]
    else:
        streams = [_strings(references, "references")]
    for stream in streams:
        if len(stream) != len(hypotheses):
            raise InputError(f"{len(hypotheses)} hypotheses but {len(stream)} references; expected one reference "
                             "per hypothesis in each reference stream")
    if not hypotheses:
        raise InputError("BLEU of no sentences is undefined; pass at least one hypothesis")
    metric = _sacrebleu()(lowercase=lowercase, tokenize=tokenize)
    result = metric.corpus_score(hypotheses, streams)
    return BleuScore(score=float(result.score), signature=str(metric.get_signature()),
                     precisions=tuple(float(p) for p in result.precisions), brevity_penalty=float(result.bp),
                     hypothesis_length=int(result.sys_len), reference_length=int(result.ref_len))


def moses_bleu(hypotheses, references, language):
    """Corpus BLEU on lowercased Moses tokens of `language` (the target's), as multi-bleu.perl: the paper's way.

    Returns a `BleuScore` whose signature says "tok:moses-<language>" (sacrebleu's own tokenizer is off)."""
    from sacremoses import MosesTokenizer

    hypotheses = _strings(hypotheses, "hypotheses")
    references = _strings(references, "references")
    tokenizer = MosesTokenizer(lang=language)

    def tokens(sentences):
        return [tokenizer.tokenize(s.lower(), escape=False, return_str=True) for s in sentences]

    score = corpus_bleu(tokens(hypotheses), tokens(references), lowercase=False, tokenize="none")
    signature = score.signature.replace("case:mixed", "case:lc").replace("tok:none", f"tok:moses-{language}")
    return BleuScore(score.score, signature, score.precisions, score.brevity_penalty, score.hypothesis_length,
                     score.reference_length)


def round_trip_bleu(sentences, there, back, **kwargs):
    """BLEU of `back(there(sentences))` against `sentences`: a translator's unsupervised selection score.
    `there` and `back` map a list of strings to a list of strings."""
    sentences = _strings(sentences, "sentences")
    return corpus_bleu(back(there(sentences)), sentences, **kwargs)
