"""The prepared GPU check of the language models: ``python -m nlpkit.bench.gpu.lm_check --pack DIR --out FILE [--dry-run]``.

The second GPU check (the language models; the first, ``gpu_check``, is BERT and the BiLSTM),
over the same pack (``make gpu-pack``) and the same helpers (:mod:`nlpkit.bench.gpu.run`):

1. the CUDA checks;
2. an LSTM LM (``LanguageModel`` arch lstm over the pack's WordPiece ids, through
   :class:`~nlpkit.lm.tokenizer.PretokenizedWordPiece`) pretrained on CUDA with bf16
   autocast at AWD-LSTM / ULMFiT's size (3 layers, 1150 hidden, 400-d embeddings tied to
   the output layer; 30,522 WordPiece ids, a full softmax) on the training split's
   25,000 reviews (head+tail to 254 ids, as the pack has them) plus the pack's
   unlabelled reviews (15,000, whole), 500 of these 40,000 held out for the validation
   perplexity; never the test split. Budget: 2 epochs of windows of 70 ids, batches of
   128 (about 9.8 million ids an epoch), cut by a 200-second guard (``time_budget``)
   if the GPU is slower than estimated (docs/language-models.md);
3. the ``lm-lstm`` classifier (ULMFiT's recipe, the kind's defaults: concat pooling,
   discriminative rates, gradual unfreezing, slanted triangular) fine-tuned from that LM
   on all 25,000 training reviews (max_len 256, 4 epochs, batch 64) and tested on all 25,000;

and writes one results JSON: the LM's validation perplexity per epoch, tokens/s,
steps/s, peak GPU memory and time; the classifier's accuracy, steps/s, tokens/s,
peak GPU memory and time. ``--dry-run`` runs the same code on the CPU over a tiny
subset at a tiny size (for the test that keeps it working).
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

from nlpkit.bench.gpu.run import Check, load_pack, load_unlabelled_ids, peak_gpu_mb, reset_gpu, run_model, subset, sync
from nlpkit.models.lm_classifier import LMLSTMClassifier

# the LM at full size (AWD-LSTM's 3 x 1150 with 400-d tied embeddings, as ULMFiT pretrained), and its budget
LM_FULL = {"arch": "lstm", "tokenizer": "wordpiece", "dim": 400, "hidden": 1150, "layers": 3, "context": 70,
           "tie_weights": True, "adaptive_softmax": False, "dropout": 0.1, "emb_dropout": 0.05,
           "epochs": 2, "batch_size": 128, "lr": 2e-3, "warmup": 0.05, "schedule": "cosine", "time_budget": 200.0}
LM_DRY = {**LM_FULL, "dim": 16, "hidden": 32, "context": 16, "epochs": 1, "batch_size": 8, "time_budget": 60.0}
LM_VALID = {"full": 500, "dry": 8}  # reviews of the LM's corpus held out for its validation perplexity
CLASSIFIER_FULL = {"max_len": 256, "truncate": "head+tail", "epochs": 4, "batch_size": 64}
CLASSIFIER_DRY = {**CLASSIFIER_FULL, "max_len": 64, "epochs": 1, "batch_size": 16}
DRY_REVIEWS = 64  # of train and of test; and at most this many unlabelled ones


class PretokenizedLMLSTM(LMLSTMClassifier):
    """The lm-lstm kind over the pack's ids (records ``{"ids": [...]}``): the LM's vocabulary, nothing to tokenize."""

    def _build(self, records, labels) -> None:
        from nlpkit.lm.tokenizer import PretokenizedWordPiece

        super()._build(records, labels)
        self.tokenizer_ = PretokenizedWordPiece(self.tokenizer_.tokenizer)


def pretrain(settings: dict, train: list[list[int]], valid: list[list[int]], tokenizer_file: Path, device,
             directory: Path) -> dict:
    """The LM fitted on `train` (reviews of ids), scored on `valid`, saved in `directory`; its figures."""
    from nlpkit.lm.model import LanguageModel
    from nlpkit.lm.tokenizer import PretokenizedWordPiece

    model = LanguageModel(**settings, device=str(device), seed=0)
    reset_gpu(device)
    started = time.perf_counter()
    model.fit([{"ids": x} for x in train], valid=[{"ids": x} for x in valid],
              tokenizer=PretokenizedWordPiece.from_file(tokenizer_file))
    sync(device)
    seconds = time.perf_counter() - started
    model.save(directory)
    history = model.history_
    stream = sum(len(x) + 1 for x in train)  # <eos> after each review
    windows = (stream - 1) // settings["context"]  # the full windows of the stream: all an epoch trains on
    planned = math.ceil(windows / settings["batch_size"]) * settings["epochs"]
    steps = history[-1]["step"]
    tokens = round(sum(row["tokens_per_s"] * row["seconds"] for row in history))
    best = history[model.best_epoch_ - 1]
    return {
        "params": {k: v for k, v in model.get_params().items() if k != "run_dir"},
        "parameters": sum(p.numel() for p in model.module_.parameters()),
        "vocab_size": model.vocab_size_,
        "n_train_reviews": len(train),
        "n_valid_reviews": len(valid),
        "corpus_tokens": stream,
        "tokens_per_epoch": windows * settings["context"],
        "epochs_run": len(history),
        "optimizer_steps": steps,
        "planned_steps": planned,
        "stopped_by_time_budget": steps < planned,
        "tokens_trained": tokens,
        "train_seconds": round(seconds, 3),
        "tokens_per_second": round(tokens / seconds, 1),
        "steps_per_second": round(steps / seconds, 2),
        "valid_perplexity": round(best["valid_perplexity"], 2),
        "valid_perplexity_per_epoch": [round(row["valid_perplexity"], 2) for row in history],
        "peak_gpu_mb": peak_gpu_mb(device),
    }


def main(argv: list[str] | None = None) -> int:
    check = Check("gpu_lm_check", __doc__.split("\n\n")[0], argv)
    args, device, results = check.args, check.device, check.results
    dry = args.dry_run
    pack = load_pack(args.pack)
    limit = DRY_REVIEWS if dry else None
    train = subset(*pack["splits"]["train"], limit)
    test = subset(*pack["splits"]["test"], limit)
    unsup = load_unlabelled_ids(args.pack)[:limit]
    check.say(f"device {device}; {len(train[1]):,} train, {len(test[1]):,} test, {len(unsup):,} unlabelled reviews")
    check.cuda_checks()

    from nlpkit.lm.corpus import split_corpus

    corpus = train[0] + unsup  # never test
    n_valid = LM_VALID["dry" if dry else "full"]
    lm_train, lm_valid = split_corpus(corpus, n_valid / len(corpus), seed=0)
    with tempfile.TemporaryDirectory() as directory:
        lm_dir = Path(directory) / "lm"
        results["lm"] = pretrain(LM_DRY if dry else LM_FULL, lm_train, lm_valid, args.pack / "minilm" / "tokenizer.json",
                                 device, lm_dir)
        lm = results["lm"]
        check.say(f"lm: validation perplexity {lm['valid_perplexity']} after {lm['tokens_trained']:,} tokens in "
                  f"{lm['train_seconds']} s ({lm['tokens_per_second']:,} tokens/s)")
        if device.type == "cuda":
            import torch

            torch.cuda.empty_cache()
        settings = CLASSIFIER_DRY if dry else CLASSIFIER_FULL
        classifier = PretokenizedLMLSTM(lm=str(lm_dir), **settings, device=str(device), seed=0)
        part = run_model("lm-lstm", classifier, train, test, device, lambda ids: [{"ids": x} for x in ids])
    # ids the classifier read: <eos> and at most max_len - 1 of each review, every epoch
    tokens = sum(1 + min(len(x), settings["max_len"] - 1) for x in train[0]) * settings["epochs"]
    part["tokens_per_second"] = round(tokens / part["train_seconds"], 1)
    results["lm_lstm"] = part
    check.say(f"lm-lstm: accuracy {part['accuracy']:.4f} in {part['train_seconds']} s")
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
