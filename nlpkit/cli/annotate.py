import click

from nlpkit.cli._common import run_registered, stage_options
from nlpkit.cli._linguistic import spacy_options


@click.command()
@click.option("--layers", default="pos,lemma,ner,deps", show_default=True, metavar="LAYER,...",
              help="Any of pos, lemma, ner, deps: computed in one spaCy pass.")
@spacy_options
@stage_options
def annotate(stream, **options):
    """Add several linguistic layers in one spaCy pass: `pos`/`upos`, `lemma`, `ents`, `deps`.

    \b
      nlpkit annotate --layers pos,ner reviews.jsonl -j 2 > annotated.jsonl
    """
    run_registered("annotate", options, stream)
