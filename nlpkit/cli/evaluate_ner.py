import json

import click


@click.command("evaluate-ner")
@click.option("--gold", required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="Gold entities: IOB1/IOB2/BIOES tagged tokens (CoNLL-2003 and Universal NER files too) or JSONL.")
@click.option("--pred", required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="Predicted entities, the same sentences and tokens, in any of those formats ('-': stdin).")
@click.option("--map", "mapping", metavar="LABEL=GOLD,...",
              help="Map predicted labels onto the gold's, e.g. PERSON=PER,GPE=LOC,FAC=LOC.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def evaluate_ner(gold, pred, mapping, as_json):
    """Entity-level precision, recall and F1 of PRED against GOLD: exact span and type, per type,
    micro and macro, as conlleval and seqeval (default mode) count them.

    Predicted labels the gold never uses (after --map) are listed and left out.

    \b
      nlpkit ner dev.iob2 > pred.jsonl      # --input-format iob: one record per sentence
      nlpkit evaluate-ner --gold dev.iob2 --pred pred.jsonl --map PERSON=PER,GPE=LOC,FAC=LOC
    """
    from nlpkit.linguistic.ner_eval import evaluate_ner as score, parse_mapping, scores_table, summary_line

    scores = score(gold, pred, parse_mapping(mapping))
    if as_json:
        click.echo(json.dumps(scores, indent=2))
        return
    from nlpkit.cli._console import stdout_console

    console = stdout_console(min_width=80)
    console.print(summary_line(scores))
    console.print(scores_table(scores))
    if scores["ignored"]:
        ignored = ", ".join(f"{label} {count:,}" for label, count in scores["ignored"].items())
        console.print(f"ignored predicted labels absent from the gold: {ignored}")
