import click

from nlpkit.cli._bench_linguistic import engine_options, run


@click.command()
@engine_options("bench-out/ud")
def ud(data, split, engines, limit, out, force):
    """Tagging, lemmas and parses against UD English-EWT: UPOS, XPOS, lemma accuracy, UAS and LAS on the
    gold words; token, sentence and the same scores by CoNLL 2018 alignment from the raw text; words/s.

    Writes OUT/results.json, OUT/report.md and a self-contained OUT/report.html (plots), beside
    UDPipe 2's and Stanza's published EWT scores. Each engine runs in its own process; one finished
    in OUT is kept unless --force.

    \b
    Engines: spacy-sm, spacy-md (when installed), nltk
      nlpkit bench ud --engines spacy-sm,nltk --limit 500
    """
    from nlpkit.bench.ud import BENCHMARK

    run(BENCHMARK, data, split, engines, limit, out, force)
