import click

from nlpkit.cli._common import run_counting, stage_options


@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False), help="Model directory (from `nlpkit train`).")
@click.option("--quantize", type=click.Choice(["int8"]),
              help="Neural kinds: int8 dynamic quantization of the Linear and LSTM/GRU layers (faster on CPU).")
@click.option("--runtime", type=click.Choice(["torch", "onnx"]), default="torch", show_default=True,
              help="Neural kinds: onnx runs the graph `nlpkit export --format onnx` wrote, through onnxruntime.")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=None, metavar="P",
              help="Abstain below P: write \"pred\": null where the predicted label's probability is under P, "
                   "and count those on stderr.")
@stage_options
def predict(stream, model_dir, quantize, runtime, min_confidence):
    """Add each record's predicted label (`pred`) and class probabilities (`probs`).

    Works with every model kind; records keep their order and other fields. The
    probabilities are the calibrated ones where the model was calibrated (`train
    --calibrate`, `nlpkit calibrate`); a threshold saved by `nlpkit threshold --save`
    decides `pred` of a two-label model, and each record names it in `threshold`.

    \b
      nlpkit predict --model models/lr test.jsonl.gz --format text | sort | uniq -c
      nlpkit predict --model models/bert --quantize int8 test.jsonl.gz
      nlpkit predict --model models/lr --min-confidence 0.9 test.jsonl.gz > routed.jsonl
      nlpkit export --format onnx --model models/bert && nlpkit predict --model models/bert --runtime onnx test.jsonl.gz
    """
    from nlpkit.models.inference import check_inference_options
    from nlpkit.stages import build_stage

    check_inference_options(model_dir, quantize, runtime)  # a missing model or export fails before any input is read
    stage = build_stage("predict", field=stream.field, jobs=stream.jobs, model_dir=model_dir, quantize=quantize,
                        runtime=runtime, min_confidence=min_confidence)
    abstained = run_counting(stage, stream, "predict", lambda r: "pred" in r and r["pred"] is None)
    if min_confidence is not None:
        click.echo(f"predict: abstained on {abstained:,} record(s) below confidence {min_confidence:g}", err=True)
