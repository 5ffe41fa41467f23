import click

from nlpkit.cli._common import run_registered, stage_options
from nlpkit.cli._linguistic import spacy_options


@click.command()
@click.option("--labels", default=None, metavar="LABEL,...", help="Keep only these entity labels, e.g. PERSON,ORG,GPE.")
@spacy_options
@stage_options
def ner(stream, **options):
    """Add named entities: `ents`, each {text, label, start, end} in tokens (start_char/end_char when the text is known).

    \b
      echo 'Apple is looking at buying U.K. startup for $1 billion' | nlpkit ner --labels GPE
      {"id":"stdin:1",...,"ents":[{"text":"U.K.","label":"GPE","start":5,"end":6,"start_char":27,"end_char":31}]}
    """
    run_registered("ner", options, stream)
