import json

import click


@click.command("evaluate-conllu")
@click.option("--gold", required=True, type=click.Path(exists=True, dir_okay=False), help="Gold CoNLL-U file.")
@click.option("--pred", required=True, type=click.Path(exists=True, dir_okay=False), help="Predicted CoNLL-U file (same words).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def evaluate_conllu(gold, pred, as_json):
    """Score PRED against GOLD: UPOS, XPOS, lemma accuracy, UAS and LAS, on gold tokenization
    (the CoNLL 2018 shared task metrics when every word aligns).

    \b
      nlpkit parse --input-format conllu gold.conllu --format conllu > pred.conllu
      nlpkit evaluate-conllu --gold gold.conllu --pred pred.conllu
    """
    from nlpkit.linguistic.evaluate import evaluate_conllu as score, format_table

    scores = score(gold, pred)
    if as_json:
        click.echo(json.dumps(scores, indent=2))
    else:
        click.echo(f"{scores['words']:,} words")
        click.echo(format_table(scores))
