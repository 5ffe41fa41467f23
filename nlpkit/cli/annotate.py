import click

from nlpkit.cli._common import stage_options
from nlpkit.cli._linguistic import run_spacy_stage, spacy_options


@click.command()
@click.option("--layers", default="pos,lemma,ner,deps", show_default=True, metavar="LAYER,...",
              help="Any of pos, lemma, ner, deps: computed in one spaCy pass.")
@spacy_options
@stage_options
def annotate(stream, layers, model, retokenize):
    """Add several linguistic layers in one spaCy pass: `pos`/`upos`, `lemma`, `ents`, `deps`.

    \b
      nlpkit annotate --layers pos,ner reviews.jsonl -j 2 > annotated.jsonl
    """
    from nlpkit.linguistic.annotate import AnnotateStage, parse_layers

    try:
        chosen = parse_layers(layers)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--layers") from None
    run_spacy_stage(AnnotateStage(chosen, model=model, field=stream.field, retokenize=retokenize, n_process=stream.jobs), stream)
