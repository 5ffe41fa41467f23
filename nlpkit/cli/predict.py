import click

from nlpkit.cli._common import run_registered, stage_options


@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False), help="Model directory (from `nlpkit train`).")
@click.option("--quantize", type=click.Choice(["int8"]),
              help="Neural kinds: int8 dynamic quantization of the Linear and LSTM/GRU layers (faster on CPU).")
@click.option("--runtime", type=click.Choice(["torch", "onnx"]), default="torch", show_default=True,
              help="Neural kinds: onnx runs the graph `nlpkit export --format onnx` wrote, through onnxruntime.")
@stage_options
def predict(stream, model_dir, quantize, runtime):
    """Add each record's predicted label (`pred`) and class probabilities (`probs`).

    Works with every model kind; records keep their order and other fields.

    \b
      nlpkit predict --model models/lr test.jsonl.gz --format text | sort | uniq -c
      nlpkit predict --model models/bert --quantize int8 test.jsonl.gz
      nlpkit export --format onnx --model models/bert && nlpkit predict --model models/bert --runtime onnx test.jsonl.gz
    """
    from nlpkit.models.inference import check_inference_options

    check_inference_options(model_dir, quantize, runtime)  # a missing model or export fails before any input is read
    run_registered("predict", {"model_dir": model_dir, "quantize": quantize, "runtime": runtime}, stream)
