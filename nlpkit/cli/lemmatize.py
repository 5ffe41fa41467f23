import click

from nlpkit.cli._common import engine_option, run_registered, stage_options


@click.command()
@engine_option(["wordnet", "spacy"], "wordnet", help="wordnet: NLTK's WordNet lemmatizer with POS mapping; spacy: spaCy's lemmatizer.")
@click.option("--pos", type=click.Choice(["n", "v", "a", "r"]), default=None, help="Force one WordNet POS (default: the record's `pos`, else NLTK's tagger).")
@click.option("--model", default=None, help="spaCy pipeline name or path (engine spacy).")
@stage_options
def lemmatize(stream, **options):
    """Replace `tokens` with their lemmas, using each token's part of speech.

    \b
      echo "the cats ran" | nlpkit lemmatize --format text
      the cat run
    """
    run_registered("lemmatize", options, stream)
