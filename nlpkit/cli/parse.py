import click

from nlpkit.cli._common import stage_options
from nlpkit.cli._linguistic import run_spacy_stage, spacy_options


@click.command()
@spacy_options
@stage_options
def parse(stream, model, retokenize):
    """Add a dependency parse: `deps` ({head, dep} per token; head is a 0-based token index, a root
    points at itself), `lemma`, and the tags the lemmatizer uses (`pos`, `upos`).

    --format conllu writes CoNLL-U, one block per sentence:

    \b
      nlpkit parse --input-format conllu gold.conllu --format conllu > pred.conllu
      nlpkit evaluate-conllu --gold gold.conllu --pred pred.conllu
    """
    from nlpkit.linguistic.parse import ParseStage

    run_spacy_stage(ParseStage(model=model, field=stream.field, retokenize=retokenize, n_process=stream.jobs), stream)
