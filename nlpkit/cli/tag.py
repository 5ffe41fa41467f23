import click

from nlpkit.cli._common import stage_options
from nlpkit.cli._linguistic import run_spacy_stage, spacy_options


@click.command()
@click.option("--engine", type=click.Choice(["spacy", "nltk"]), default="spacy", show_default=True,
              help="spacy: the pipeline's tagger; nltk: NLTK's averaged perceptron (Penn tags, UPOS by NLTK's universal mapping).")
@spacy_options
@stage_options
def tag(stream, engine, model, retokenize):
    """Add part-of-speech tags: `pos` (Penn Treebank) and `upos` (Universal POS), aligned with `tokens`.

    Records with `tokens` are tagged on exactly those tokens; others are tokenized
    by the engine first (and get `tokens`). --jobs N runs N spaCy worker processes.

    \b
      echo 'I saw her duck' | nlpkit tag --format text
      PRP VBD PRP$ NN
    """
    from nlpkit.linguistic.tag import TagStage

    stage = TagStage(engine, model=model, field=stream.field, retokenize=retokenize, n_process=stream.jobs)
    if engine == "nltk":
        from nlpkit.cli._common import run_stage

        run_stage(stage, stream)  # NLTK has no worker pool of its own: the runner's --jobs applies
    else:
        run_spacy_stage(stage, stream)
