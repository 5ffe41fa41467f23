import click

from nlpkit.cli._common import run_stage, stage_options


@click.command()
@click.option("--engine", type=click.Choice(["wordnet", "spacy"]), default="wordnet", show_default=True)
@click.option("--pos", type=click.Choice(["n", "v", "a", "r"]), default=None, help="Force one WordNet POS (default: the record's `pos`, else NLTK's tagger).")
@click.option("--model", default=None, help="spaCy pipeline name or path (engine spacy).")
@stage_options
def lemmatize(stream, engine, pos, model):
    """Replace `tokens` with their lemmas, using each token's part of speech.

    \b
      echo "the cats ran" | nlpkit lemmatize --format text
      the cat run
    """
    from nlpkit.text.lemmatize import LemmatizeStage

    run_stage(LemmatizeStage(engine=engine, pos=pos, field=stream.field, model=model), stream)
