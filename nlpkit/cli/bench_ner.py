import click

from nlpkit.cli._bench_linguistic import engine_options, run


@click.command()
@engine_options("bench-out/ner")
def ner(data, split, engines, limit, out, force):
    """Named entities against Universal NER English-EWT (or a CoNLL-2003 file given with --data):
    per-type, micro and macro F1 (exact span and type) and words/s, each engine's labels mapped onto the gold's.

    Writes OUT/results.json, OUT/report.md and a self-contained OUT/report.html (plots, per-type F1).
    Each engine runs in its own process; one finished in OUT is kept unless --force.

    \b
    Engines: spacy-sm, spacy-md (when installed), nltk (ne_chunk, when its data is installed)
      nlpkit bench ner --data conll2003/eng.testb
    """
    from nlpkit.bench.ner import BENCHMARK

    run(BENCHMARK, data, split, engines, limit, out, force)
