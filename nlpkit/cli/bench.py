import click

from nlpkit.cli import LazyGroup

# subcommand -> "module:attribute", one file each (imported only when used)
BENCHMARKS = {
    "imdb": "nlpkit.cli.bench_imdb:imdb",
    "ud": "nlpkit.cli.bench_ud:ud",
    "ner": "nlpkit.cli.bench_ner:ner",
    "corpus": "nlpkit.cli.bench_corpus:corpus",
    "speed": "nlpkit.cli.bench_speed:speed",
    "retrieval": "nlpkit.cli.bench_retrieval:retrieval",
}


@click.group(cls=LazyGroup, lazy_commands=BENCHMARKS)
def bench():
    """Benchmarks of the whole ladder on a corpus, with a report."""
