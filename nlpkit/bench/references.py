"""Published test accuracies, by corpus and by method family, with their sources.

A benchmark row shows the references of its own family on its own corpus
(:func:`for_row`) and "none published" when there are none: a figure of a
neighbouring method is never put beside it. ``anchor`` is the family key a
method declares in :mod:`nlpkit.bench.methods`; the ``ceiling`` family is the
line drawn across the accuracy plot, never a row's reference.

``checked`` says where the figure was read when this table was written;
``not_reproduced`` marks a claimed figure that later work could not reproduce
(it is shown with that warning, never as a row's primary reference).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

CEILING = "ceiling"


@dataclass(frozen=True)
class Reference:
    key: str
    corpus: str  # a name known to nlpkit.corpora ("imdb", "ag_news")
    anchor: str  # the method family: "mnb", "svm", "nbsvm", "lr", "fasttext", "doc-vectors", "rnn", "transformer", "ceiling"
    label: str
    accuracy: float  # test accuracy, percent, on the corpus's standard split
    source: str
    checked: str
    not_reproduced: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


# Each figure names its paper and the table it is in; ``checked`` says where the figure was read when this
# table was written: in the paper itself, in a named secondary source (a README, a leaderboard), or nowhere
# yet (this machine cannot fetch the papers): re-read those in the paper before relying on them.
_WANG = "Wang and Manning 2012, Baselines and Bigrams: Simple, Good Sentiment and Topic Classification, ACL (Table 2)"
_WANG_CHECKED = ("secondary source: the results table of the authors' code, github.com/sidaw/nbsvm README (IMDB column); "
                 "not re-read in the paper")
_MESNIL = ("Mesnil, Mikolov, Ranzato and Bengio 2015, Ensemble of Generative and Discriminative Techniques for "
           "Sentiment Analysis of Movie Reviews, ICLR workshop (arXiv:1412.5335, Table 1)")
_DAI = "Dai and Le 2015, Semi-supervised Sequence Learning, NeurIPS (Table 1, IMDB test error)"
_SANH = "Sanh, Debut, Chaumond and Wolf 2019, DistilBERT, a distilled version of BERT (arXiv:1910.01108, Table 2)"
_ZHANG = "Zhang, Zhao and LeCun 2015, Character-level Convolutional Networks for Text Classification, NeurIPS (Table 4)"
_PWC = "secondary source: Papers with Code's page of the paper ({}); not re-read in the paper"
_UNCHECKED = "not re-read in the paper, and no secondary source checked: the figure and its table as first recorded"

REFERENCES: dict[str, Reference] = {r.key: r for r in [
    # ---- IMDb (Maas et al. 2011's standard 25,000/25,000 split)
    Reference("wang2012-mnb-bigram", "imdb", "mnb", "MNB-bigram (Wang & Manning 2012)", 86.59, _WANG, _WANG_CHECKED),
    Reference("wang2012-mnb-unigram", "imdb", "mnb", "MNB-unigram (Wang & Manning 2012)", 83.55, _WANG, _WANG_CHECKED),
    Reference("wang2012-svm-bigram", "imdb", "svm", "SVM-bigram (Wang & Manning 2012)", 89.16, _WANG, _WANG_CHECKED),
    Reference("wang2012-nbsvm-bigram", "imdb", "nbsvm", "NBSVM-bigram (Wang & Manning 2012)", 91.22, _WANG, _WANG_CHECKED),
    Reference("mesnil2015-nbsvm-trigram", "imdb", "nbsvm", "NBSVM uni+bi+trigrams, reimplementation (Mesnil et al. 2015)",
              91.87, _MESNIL, "secondary source: github.com/mesnilgr/nbsvm README reports 91.82 with trigrams for the "
                              "same code; 91.87 " + _UNCHECKED),
    Reference("mesnil2015-paragraph-vectors", "imdb", "doc-vectors", "paragraph vectors as reproduced (Mesnil et al. 2015)",
              88.73, _MESNIL, _UNCHECKED),
    Reference("maas2011-full", "imdb", "doc-vectors", "word vectors + unlabelled data + BoW, full model (Maas et al. 2011)",
              88.89, "Maas, Daly, Pham, Huang, Ng and Potts 2011, Learning Word Vectors for Sentiment Analysis, ACL "
                     "(Table 2)", _UNCHECKED),
    Reference("le2014-paragraph-vectors", "imdb", "doc-vectors", "paragraph vectors, as claimed (Le & Mikolov 2014)", 92.58,
              "Le and Mikolov 2014, Distributed Representations of Sentences and Documents, ICML (Table 2, IMDB "
              "error 7.42%)", _UNCHECKED,
              not_reproduced="Mesnil et al. 2015 could reach it only on unshuffled data (88.73 shuffled)"),
    Reference("dai2015-lstm", "imdb", "rnn", "LSTM from random initialisation (Dai & Le 2015)", 86.5, _DAI,
              "13.50% test error; " + _UNCHECKED),
    Reference("dai2015-sa-lstm", "imdb", "rnn", "SA-LSTM, sequence-autoencoder pretraining (Dai & Le 2015)", 92.76, _DAI,
              "7.24% test error; secondary sources: the paper's summary at shortscience.org and Papers with Code's "
              "listing; not re-read in the paper"),
    Reference("sanh2019-distilbert", "imdb", "transformer", "DistilBERT (Sanh et al. 2019)", 92.82, _SANH, _UNCHECKED),
    Reference("sanh2019-bert-base", "imdb", "transformer", "BERT-base (Sanh et al. 2019)", 93.46, _SANH, _UNCHECKED),
    Reference("sun2019-bert-base", "imdb", "transformer", "BERT-base fine-tuned, head+tail (Sun et al. 2019)", 94.60,
              "Sun, Qiu, Xu and Huang 2019, How to Fine-Tune BERT for Text Classification?, CCL (5.40% error; its "
              "truncation table, Table 3)", _UNCHECKED),
    Reference("howard2018-ulmfit", "imdb", CEILING, "ULMFiT (Howard & Ruder 2018)", 95.4,
              "Howard and Ruder 2018, Universal Language Model Fine-tuning for Text Classification, ACL (Table 2, "
              "4.6% error)", _PWC.format("its IMDb sentiment leaderboard, ULMFiT accuracy 95.4")),
    Reference("yang2019-xlnet", "imdb", CEILING, "XLNet-large (Yang et al. 2019)", 96.21,
              "Yang, Dai, Yang, Carbonell, Salakhutdinov and Le 2019, XLNet, NeurIPS (Table 3, 3.79% error)",
              _PWC.format("XLNet, IMDb accuracy 96.21")),
    # ---- AG News (Zhang et al. 2015's 120,000/7,600 CSV, 4 classes)
    Reference("zhang2015-bow", "ag_news", "lr", "BoW, multinomial logistic regression (Zhang et al. 2015)", 88.81,
              _ZHANG, "11.19% test error; " + _UNCHECKED),
    Reference("zhang2015-bow-tfidf", "ag_news", "lr", "BoW TF-IDF, multinomial logistic regression (Zhang et al. 2015)",
              89.64, _ZHANG, "10.36% test error; " + _UNCHECKED),
    Reference("zhang2015-ngrams-tfidf", "ag_news", "lr",
              "n-grams TF-IDF (1-5-grams), multinomial logistic regression (Zhang et al. 2015)", 92.36, _ZHANG,
              "7.64% test error; " + _UNCHECKED),
    Reference("joulin2016-fasttext-bigrams", "ag_news", "fasttext", "fastText, bigrams (Joulin et al. 2016)", 92.5,
              "Joulin, Grave, Bojanowski and Mikolov 2017, Bag of Tricks for Efficient Text Classification, EACL "
              "(Table 1)", _PWC.format("Bag of Tricks, AG News error 7.5")),
]}


def for_corpus(corpus: str | None) -> dict[str, Reference]:
    """The references of one corpus (none for a corpus without published figures)."""
    return {key: ref for key, ref in REFERENCES.items() if corpus is not None and ref.corpus == corpus}


def for_row(corpus: str | None, anchor: str | None) -> list[Reference]:
    """A row's references: its family's on its corpus, best-supported first (reproduced before not)."""
    if anchor is None or anchor == CEILING:
        return []
    refs = [r for r in for_corpus(corpus).values() if r.anchor == anchor]
    return sorted(refs, key=lambda r: r.not_reproduced is not None)


def ceiling(corpus: str | None) -> Reference | None:
    """The best figure of the corpus's ceiling family, drawn as a line on the accuracy plot."""
    refs = [r for r in for_corpus(corpus).values() if r.anchor == CEILING]
    return max(refs, key=lambda r: r.accuracy) if refs else None
