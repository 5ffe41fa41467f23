"""WordNet's morphy as NLTK computes it, read straight from NLTK's WordNet files.

``nltk.corpus.reader.wordnet.WordNetCorpusReader.morphy(form, pos)`` returns the first
analysis of its ``_morphy``: the form's exception list when WordNet has one for it (else
the form with each of the part of speech's suffix rules applied once), the form itself
first, keeping those that are lemmas of that part of speech in WordNet's index files.
:class:`Morphy` does the same from the same files (``index.*`` and ``*.exc`` of NLTK's
``wordnet`` package) without NLTK's reader: importing NLTK and building the reader
costs about 3 s of CPU per process, reading the two columns morphy needs about 0.2 s.
The tests compare it with NLTK's on every exception form and a sample of WordNet's lemmas.
"""

from __future__ import annotations

FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
# NLTK's WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS (WordNet's morphy rules), in its order
SUBSTITUTIONS = {
    "n": [("s", ""), ("ses", "s"), ("ves", "f"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
          ("men", "man"), ("ies", "y")],
    "v": [("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")],
    "a": [("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
    "r": [],
}


class Morphy:
    """``morphy(form, pos)``: WordNet's base form of `form` as part of speech `pos` (n, v, a, r), or None."""

    def __init__(self, lemmas: dict[str, set[str]], exceptions: dict[str, dict[str, list[str]]]):
        self.lemmas = lemmas
        self.exceptions = exceptions

    @classmethod
    def from_nltk_data(cls) -> Morphy:
        from nlpkit.resources import read_nltk_data

        lemmas: dict[str, set[str]] = {}
        exceptions: dict[str, dict[str, list[str]]] = {}
        for pos, name in FILES.items():
            for line in read_nltk_data("wordnet", f"index.{name}").decode("utf-8").split("\n"):
                if line.startswith(" ") or not line.strip():  # the licence header
                    continue
                lemma, line_pos = line.split(None, 2)[:2]
                lemmas.setdefault(line_pos, set()).add(lemma)
            exceptions[pos] = {terms[0]: terms[1:] for terms in
                               (line.split() for line in read_nltk_data("wordnet", f"{name}.exc").decode("utf-8").split("\n"))
                               if terms}
        return cls(lemmas, exceptions)

    def __call__(self, form: str, pos: str) -> str | None:
        lemmas = self.lemmas.get(pos, set())
        forms = self.exceptions[pos].get(form)
        if forms is None:
            forms = [form[:-len(old)] + new for old, new in SUBSTITUTIONS[pos] if form.endswith(old)]
        for candidate in [form, *forms]:
            if candidate in lemmas:
                return candidate
        return None
