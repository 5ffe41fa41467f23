"""Language models on tiny models and hand-made corpora: perplexity, the causal mask,
decoding, resume, the classifiers fine-tuned from an LM, and the commands' errors.

One torch thread, a few hundred tokens: the file takes seconds. Exactness is checked
(bit-for-bit resume, identical decodings), not quality.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nlpkit.lm import model as lm_model  # noqa: E402
from nlpkit.lm.decoding import Decoding, generate  # noqa: E402
from nlpkit.lm.model import LanguageModel  # noqa: E402
from nlpkit.models import load_model, model_class, save_model  # noqa: E402
from tests.conftest import parse_jsonl, write_jsonl  # noqa: E402
from tests.test_neural import LABELS, RECORDS, Interrupted, one_thread  # noqa: E402,F401  (one_thread: autouse)

# every word has one successor, so a model that learns the corpus is certain of every next token
SENTENCE = "one two three four five six seven eight"
CORPUS = [{"text": SENTENCE}] * 16
TINY_LSTM = dict(arch="lstm", dim=16, hidden=32, layers=1, context=8, dropout=0.0, emb_dropout=0.0, min_count=1,
                 epochs=30, lr=1e-2, batch_size=4, warmup=0.0, schedule="constant", seed=0, threads=1, device="cpu")
TINY_GPT = {**TINY_LSTM, "arch": "transformer", "heads": 2, "layers": 2, "positions": "sinusoidal", "epochs": 60}


@pytest.fixture(scope="module")
def lstm_lm():
    return LanguageModel(**TINY_LSTM).fit(CORPUS)


def _ppl(model, records):
    scores = model.score(records)
    return math.exp(sum(s for s, _ in scores) / sum(n for _, n in scores))


# --------------------------------------------------------------------------- perplexity


@pytest.mark.parametrize("params", [TINY_LSTM, TINY_GPT], ids=["lstm", "transformer"])
def test_overfitting_a_tiny_corpus_drives_perplexity_near_1(params, lstm_lm):
    model = lstm_lm if params is TINY_LSTM else LanguageModel(**params).fit(CORPUS)
    assert model.history_[0]["train_loss"] > 1.5
    assert _ppl(model, CORPUS[:2]) < 1.1
    assert model.score([{"text": SENTENCE}])[0][1] == 9  # eight words and <eos>


def test_a_uniform_model_scores_the_vocabulary_size():
    model = LanguageModel(**{**TINY_LSTM, "epochs": 1, "tie_weights": False}).fit(CORPUS)
    with torch.no_grad():
        model.module_.head.proj.weight.zero_()
        model.module_.head.proj.bias.zero_()
    assert len(model.tokenizer_) == 11  # <pad> <unk> <eos> and eight words
    assert _ppl(model, CORPUS[:3] + [{"text": "two unknown words"}]) == pytest.approx(11, rel=1e-6)


def test_adaptive_softmax_gives_a_distribution_and_trains():
    model = LanguageModel(**{**TINY_LSTM, "adaptive_softmax": True, "cutoffs": [6], "epochs": 40}).fit(CORPUS)
    states = model.module_.encoder(torch.tensor([[2, 3, 4]]))
    total = model.module_.head.log_probs(states).exp().sum(-1)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-5)
    assert _ppl(model, CORPUS[:2]) < 1.5


def test_the_causal_mask_hides_future_tokens():
    model = LanguageModel(**{**TINY_GPT, "epochs": 1, "dropout": 0.1}).fit(CORPUS)
    module = model.module_.eval()
    ids = torch.tensor([[2, 3, 4, 5, 6, 7, 8, 9]])
    changed = ids.clone()
    changed[0, 5] = 10
    with torch.no_grad():
        a, b = model.module_.head.log_probs(module(ids)), model.module_.head.log_probs(module(changed))
    assert torch.equal(a[0, :5], b[0, :5])  # positions before the change see none of it
    assert not torch.allclose(a[0, 5:], b[0, 5:])


# --------------------------------------------------------------------------- decoding


def _prompts(model):
    return [model.encode_prompt({"text": t}) for t in ("one two", "five", "three four five")]


def test_greedy_continues_the_learned_sentence(lstm_lm):
    [ids] = generate(lstm_lm, [lstm_lm.encode_prompt({"text": "one two"})], Decoding("greedy", max_new_tokens=10))
    assert lstm_lm.tokenizer_.decode(ids) == "three four five six seven eight"  # then <eos> ends it


def test_greedy_equals_top_k_1_and_beam_width_1():
    model = LanguageModel(**{**TINY_LSTM, "epochs": 2}).fit(CORPUS)  # barely trained: many plausible tokens
    prompts = _prompts(model)
    greedy = generate(model, prompts, Decoding("greedy", max_new_tokens=12))
    for seed in (0, 1):
        assert generate(model, prompts, Decoding("sample", top_k=1, max_new_tokens=12, seed=seed)) == greedy
    assert generate(model, prompts, Decoding("beam", beam_width=1, max_new_tokens=12)) == greedy
    assert generate(model, prompts, Decoding("sample", temperature=0, max_new_tokens=12)) == greedy
    assert generate(model, prompts, Decoding("beam", beam_width=3, max_new_tokens=12))  # runs, wider


def test_same_seed_same_sample_other_seed_other_sample():
    model = LanguageModel(**{**TINY_LSTM, "epochs": 2}).fit(CORPUS)
    prompts = _prompts(model)

    def sample(seed, **options):
        return generate(model, prompts, Decoding("sample", temperature=1.5, max_new_tokens=20, seed=seed, **options))

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)
    assert sample(7, top_p=0.5) == sample(7, top_p=0.5)


# --------------------------------------------------------------------------- training: resume, files


def _train_lm(run_dir, monkeypatch, stop_at_step=None, resume=None):
    def after_step(state):
        if state.step == stop_at_step:
            raise Interrupted

    monkeypatch.setattr(lm_model, "after_step", after_step)
    params = {**TINY_LSTM, "epochs": 3, "dropout": 0.2, "emb_dropout": 0.1, "warmup": 0.2, "schedule": "cosine",
              "save_every": 2, "run_dir": str(run_dir), "resume": resume}
    return LanguageModel(**params).fit(CORPUS[:12], valid=CORPUS[12:])


def test_resume_mid_epoch_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    whole = _train_lm(tmp_path / "whole", monkeypatch)
    with pytest.raises(Interrupted):
        _train_lm(tmp_path / "cut", monkeypatch, stop_at_step=5)  # 4 batches an epoch: mid-epoch 2
    resumed = _train_lm(tmp_path / "cut", monkeypatch, resume="latest")
    for name, tensor in whole.module_.state_dict().items():
        assert torch.equal(tensor, resumed.module_.state_dict()[name]), name
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("seconds", "tokens_per_s")} for r in rows]  # noqa: E731
    assert strip(resumed.history_) == strip(whole.history_)
    assert all("valid_perplexity" in row for row in whole.history_)


def test_the_trained_token_count_is_each_records_words_and_its_eos():
    records = [{"text": "one two three"}, {"text": "four five"}, {"text": "six"}]
    model = LanguageModel(**{**TINY_LSTM, "epochs": 1}).fit(records)
    assert model.train_tokens_ == (3 + 1) + (2 + 1) + (1 + 1)  # what the bench's LM reports as "tokens"


def test_save_and_load_give_the_same_scores(tmp_path, lstm_lm):
    lstm_lm.save(tmp_path / "lm")
    assert {p.name for p in (tmp_path / "lm").iterdir()} == {"nlpkit.json", "lm.json", "weights.safetensors", "vocab.json"}
    manifest = json.loads((tmp_path / "lm" / "nlpkit.json").read_text())
    assert manifest["kind"] == "lm" and manifest["vocab_size"] == 11 and "device" not in manifest["params"]
    loaded = LanguageModel.load(tmp_path / "lm", device="cpu")
    assert loaded.score(CORPUS[:2]) == lstm_lm.score(CORPUS[:2])


def test_wordpiece_vocabulary():
    model = LanguageModel(**{**TINY_LSTM, "tokenizer": "wordpiece", "epochs": 1, "dim": 8, "hidden": 8}).fit(CORPUS[:4])
    assert len(model.tokenizer_) == 30522
    assert model.tokenizer_.encode({"text": "Unbelievable<br />film"}) == model.tokenizer_.encode({"text": "unbelievable film"})
    [ids] = generate(model, [model.encode_prompt({"text": "one"})], Decoding("greedy", max_new_tokens=3))
    assert isinstance(model.tokenizer_.decode(ids), str)


# --------------------------------------------------------------------------- classifiers from an LM


@pytest.mark.parametrize("kind, params, pool_embeddings", [("lm-lstm", TINY_LSTM, False), ("lm-lstm", TINY_LSTM, True),
                                                            ("lm-transformer", {**TINY_GPT, "context": 12}, False)])
def test_lm_classifier_trains_saves_and_loads_with_the_same_predictions(tmp_path, kind, params, pool_embeddings):
    pretrained = LanguageModel(**{**params, "epochs": 3}).fit(RECORDS)
    pretrained.save(tmp_path / "lm")
    # one batch of all eight: the head's batch norm then sees in training the statistics it keeps for prediction
    model = model_class(kind)(lm=str(tmp_path / "lm"), epochs=80, lr=2e-2, batch_size=8, dropout=0.0, threads=1,
                              gradual_unfreezing=False, slanted_triangular=False, seed=1,
                              pool_embeddings=pool_embeddings)
    model.fit(RECORDS, LABELS)
    assert model.predict(RECORDS) == LABELS
    save_model(model, tmp_path / "clf")
    reloaded = load_model(tmp_path / "clf")
    assert np.array_equal(reloaded.predict_proba(RECORDS), model.predict_proba(RECORDS))


def test_gradual_unfreezing_trains_the_head_first(tmp_path):
    LanguageModel(**{**TINY_LSTM, "epochs": 1}).fit(RECORDS).save(tmp_path / "lm")
    model = model_class("lm-lstm")(lm=str(tmp_path / "lm"), epochs=1, threads=1, gradual_unfreezing=True)
    before = {k: v.clone() for k, v in LanguageModel.load(tmp_path / "lm", device="cpu").module_.encoder.state_dict().items()}
    model.fit(RECORDS, LABELS)
    after = model.module_.encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # one epoch: only the head moved
    groups = model._make_optimizer(model.module_).param_groups
    assert [g["lr"] for g in groups] == pytest.approx([2e-3 / 2.6**2, 2e-3 / 2.6, 2e-3])  # embedding, LSTM, head


def test_freeze_embeddings_keeps_the_lms_word_vectors_while_the_rest_trains(tmp_path):
    LanguageModel(**{**TINY_LSTM, "epochs": 1}).fit(RECORDS).save(tmp_path / "lm")
    before = LanguageModel.load(tmp_path / "lm", device="cpu").module_.encoder.state_dict()
    model = model_class("lm-lstm")(lm=str(tmp_path / "lm"), epochs=2, threads=1, gradual_unfreezing=False,
                                   freeze_embeddings=True, pool_embeddings=True).fit(RECORDS, LABELS)
    after = model.module_.encoder.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert "embedding.weight" in before and "embedding.weight" not in moved
    assert moved and all(k.startswith("rnns.") for k in moved)


# --------------------------------------------------------------------------- the commands


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    where = tmp_path_factory.mktemp("lm") / "lm"
    LanguageModel(**TINY_LSTM).fit(CORPUS).save(where)
    return where


def test_train_perplexity_generate_through_the_cli(invoke, tmp_path, lm_dir):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": i, **r} for i, r in enumerate(CORPUS)])
    out = tmp_path / "lm"
    result = invoke("lm", "train", "--arch", "lstm", "--dim", "8", "--hidden", "8", "--epochs", "2", "--min-count", "1",
                    "--context", "8", "--threads", "1", "--device", "cpu", "-o", out, corpus)
    assert result.exit_code == 0, result.stderr
    assert {"nlpkit.json", "weights.safetensors", "vocab.json", "model-best", "model-last", "metrics.jsonl"} <= {p.name for p in out.iterdir()}
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all("valid_perplexity" in r and r["tokens_per_s"] > 0 for r in rows)

    figures = json.loads(invoke("lm", "perplexity", "--model", lm_dir, corpus, "--json").stdout)
    assert figures["tokens"] == 16 * 9 and figures["records"] == 16 and figures["vocab_size"] == 11
    assert figures["perplexity"] < 1.1 and figures["cross_entropy"] == pytest.approx(math.log(figures["perplexity"]))
    per_record = parse_jsonl(invoke("lm", "perplexity", "--model", lm_dir, "--per-record", corpus).stdout)
    assert [r["id"] for r in per_record] == list(range(16)) and all(r["perplexity"] < 1.1 and r["lm_tokens"] == 9 for r in per_record)

    prompts = write_jsonl(tmp_path / "prompts.jsonl", [{"id": "a", "text": "one two"}, {"id": "b", "text": "five six"}])
    generated = parse_jsonl(invoke("lm", "generate", "--model", lm_dir, prompts).stdout)
    assert generated == [{"id": "a", "text": "one two", "generated": "three four five six seven eight"},
                         {"id": "b", "text": "five six", "generated": "seven eight"}]
    one = invoke("lm", "generate", "--model", lm_dir, "--prompt", "three", "--max-new-tokens", "2")
    assert parse_jsonl(one.stdout) == [{"prompt": "three", "generated": "four five"}]


def test_a_prompt_longer_than_the_context_is_truncated_and_says_so(invoke, lm_dir):
    result = invoke("lm", "generate", "--model", lm_dir, "--prompt", "one two three four five six seven eight one two", "--max-new-tokens", "1")
    assert result.exit_code == 0, result.stderr
    [record] = parse_jsonl(result.stdout)
    assert record["prompt_truncated"] == 3  # <eos> + 10 words, context 8
    assert record["generated"] == "three"
    assert "1 prompt(s) longer than the model's context kept their last tokens" in result.stderr


def test_temperature_0_is_greedy_and_a_negative_one_a_usage_error(invoke, lm_dir):
    greedy = invoke("lm", "generate", "--model", lm_dir, "--prompt", "four", "--strategy", "greedy").stdout
    assert invoke("lm", "generate", "--model", lm_dir, "--prompt", "four", "--strategy", "sample", "--temperature", "0").stdout == greedy
    result = invoke("lm", "generate", "--model", lm_dir, "--prompt", "four", "--temperature", "-1")
    assert result.exit_code == 2 and "--temperature" in result.stderr


def test_bad_input_one_line_and_exit_code(invoke, tmp_path, lm_dir):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = invoke("lm", "train", "-o", tmp_path / "m", empty)
    assert result.exit_code == 1 and result.stderr.strip() == f"Error: {empty}: no records: a language model needs text to train on"
    blank = write_jsonl(tmp_path / "blank.jsonl", [{"text": ""}, {"text": "   "}])
    result = invoke("lm", "train", "-o", tmp_path / "m", "--valid-fraction", "0", blank)
    assert result.exit_code == 1 and result.stderr.strip() == "Error: no tokens to train on: the corpus is empty"
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "one two"}\n{"text": \n')
    result = invoke("lm", "train", "-o", tmp_path / "m", broken)
    assert result.exit_code == 1 and result.stderr.startswith(f"Error: {broken}:2:") and len(result.stderr.strip().splitlines()) == 1
    result = invoke("lm", "perplexity", "--model", tmp_path, broken)
    assert result.exit_code == 1 and "not a model directory" in result.stderr
    gpt = invoke("lm", "train", "--arch", "transformer", "--dim", "10", "--heads", "4", "-o", tmp_path / "g", broken)
    assert gpt.exit_code == 2 and "--dim 10 must be a multiple of --heads 4" in gpt.stderr


def test_kneser_ney_trigram_equals_nltk_and_the_unigram_is_add_one():
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import padded_everygram_pipeline

    from nlpkit.lm.ngram import KneserNeyTrigram, UnigramLM

    train = [s.split() for s in ("the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the end")]
    test = [s.split() for s in ("the cat sat on the log", "a dog sat", "the mat")]
    reference = KneserNeyInterpolated(3)
    reference.fit(*padded_everygram_pipeline(3, train))
    ours = KneserNeyTrigram().fit(train)
    for sentence in test:
        padded = ["<s>", "<s>", *sentence, "</s>"]
        for a, b, w in zip(padded, padded[1:], padded[2:]):
            assert ours.prob(w, a, b) == pytest.approx(reference.score(w, [a, b]), rel=1e-12), (a, b, w)
    unigram = UnigramLM().fit(train, vocabulary=[])
    nll, n = unigram.nll(["cat", "zebra"])
    denominator = sum(len(s) + 1 for s in train) + len({w for s in train for w in s}) + 1  # tokens + vocabulary (END too)
    # cat twice, zebra never, the end of a record four times: add one to each
    assert n == 3 and nll == pytest.approx(-math.log(3 / denominator) - math.log(1 / denominator) - math.log(5 / denominator))


def test_a_time_budget_ends_the_run_after_the_step_past_it():
    model = LanguageModel(**{**TINY_LSTM, "epochs": 5, "time_budget": 1e-9}).fit(CORPUS, valid=CORPUS[:2])
    assert len(model.history_) == 1 and model.history_[0]["step"] == 1 and "valid_perplexity" in model.history_[0]


def test_the_head_takes_a_training_batch_of_one():
    from nlpkit.models.lm_classifier import LMClassifierModule

    shape = {"arch": "lstm", "vocab_size": 11, "dim": 4, "hidden": 4, "layers": 1, "dropout": 0.0, "emb_dropout": 0.0,
             "tie_weights": True, "adaptive_softmax": False, "pad_id": 0}
    module = LMClassifierModule(shape, n_labels=2, concat_pooling=True, head_hidden=3, dropout=0.0).train()
    logits = module(torch.tensor([[2, 5, 6]]), torch.tensor([3]), torch.tensor([[1, 1, 1]]))
    assert logits.shape == (1, 2) and torch.isfinite(logits).all()


def test_padding_and_batch_mates_change_no_pooled_feature():
    """The last state is the last real token's, and max and mean (of the states and of the embeddings) skip the pads."""
    from nlpkit.models.lm_classifier import LMClassifierModule

    shape = {"arch": "lstm", "vocab_size": 11, "dim": 4, "hidden": 5, "layers": 2, "dropout": 0.0, "emb_dropout": 0.0,
             "tie_weights": False, "adaptive_softmax": False, "pad_id": 0}
    torch.manual_seed(0)
    module = LMClassifierModule(shape, n_labels=2, concat_pooling=True, head_hidden=3, dropout=0.0,
                                pool_embeddings=True).eval()
    with torch.no_grad():  # pads embedded as large values: any pooling that read them would move
        module.encoder.embedding.weight[0] = 50.0
    alone = module(torch.tensor([[2, 5, 6]]), torch.tensor([3]), torch.tensor([[1, 1, 1]]))
    padded = module(torch.tensor([[2, 5, 6, 0, 0], [2, 7, 8, 9, 3]]), torch.tensor([3, 5]),
                    torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]))
    assert torch.allclose(alone[0], padded[0], atol=1e-6)


def test_the_lm_embedding_starts_from_word_vectors(tmp_path):
    from nlpkit.embeddings.vectors import keyed_vectors, save_vectors

    words = SENTENCE.split()
    vectors = np.random.default_rng(0).normal(0.0, 0.1, (len(words), 6)).astype(np.float32)
    save_vectors(keyed_vectors(words, vectors), tmp_path / "vectors")
    model = LanguageModel(**{**TINY_LSTM, "epochs": 1, "vectors": str(tmp_path / "vectors")})
    model._build(CORPUS, "text")
    assert model.shape_["dim"] == 6 and model.vectors_found_ == len(words)
    embedding = model.module_.encoder.embedding.weight.detach().numpy()
    rows = [model.tokenizer_.vocab.stoi[w] for w in words]
    scale = embedding[rows] / vectors  # one factor for every entry: the vectors' directions, at the N(0, 1) scale
    assert np.allclose(scale, scale[0, 0], rtol=1e-4) and 5 < scale[0, 0] < 20
    with pytest.raises(lm_model.LMUsageError, match="word vocabulary"):
        LanguageModel(**{**TINY_LSTM, "tokenizer": "wordpiece", "vectors": str(tmp_path / "vectors")})._load_vectors()


def test_corpus_perplexity_to_a_file(invoke, tmp_path, lm_dir):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", CORPUS[:2])
    result = invoke("lm", "perplexity", "--model", lm_dir, "--json", "-o", tmp_path / "ppl.json", corpus)
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads((tmp_path / "ppl.json").read_text())["tokens"] == 18


def test_lm_lstm_through_train_and_predict(invoke, tmp_path):
    LanguageModel(**{**TINY_LSTM, "epochs": 3}).fit(RECORDS).save(tmp_path / "lm")
    data = write_jsonl(tmp_path / "train.jsonl", [{"id": i, "text": r["text"], "label": y} for i, (r, y) in enumerate(zip(RECORDS, LABELS))])
    out = tmp_path / "clf"
    result = invoke("train", "--model", "lm-lstm", "--lm", tmp_path / "lm", "--train", data, "-o", out, "--valid-fraction", "0",
                    "--epochs", "80", "--lr", "0.02", "--batch-size", "8", "--dropout", "0", "--threads", "1", "--seed", "1",
                    "--no-gradual-unfreezing", "--no-slanted-triangular", "--no-concat-pooling", "--no-discriminative-lr")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((out / "nlpkit.json").read_text())
    assert manifest["kind"] == "lm-lstm" and manifest["params"]["concat_pooling"] is False
    assert {"weights.safetensors", "vocab.json", "lm-classifier.json", "model-best", "metrics.jsonl"} <= {p.name for p in out.iterdir()}
    rows = parse_jsonl(invoke("predict", "--model", out, data).stdout)
    assert [r["pred"] for r in rows] == LABELS and [r["id"] for r in rows] == list(range(8))
    result = invoke("train", "--model", "lm-lstm", "--train", data, "-o", tmp_path / "x", "--valid-fraction", "0")
    assert result.exit_code == 1 and "--model lm-lstm needs --lm DIR" in result.stderr


def test_a_damaged_lm_directory_is_refused(tmp_path, lstm_lm):
    lstm_lm.save(tmp_path / "lm")
    weights = tmp_path / "lm" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8])
    from nlpkit.errors import NlpkitError

    with pytest.raises(NlpkitError, match="weights.safetensors: damaged: its sha256 does not match"):
        LanguageModel.load(tmp_path / "lm", device="cpu")


def test_off_a_terminal_training_says_how_far_it_is_now_and_then(monkeypatch, capsys):
    """-v into a log (nohup, CI, a bench step's logs/NAME.log) draws no bar: plain lines instead."""
    from nlpkit.training import loop

    monkeypatch.setattr(loop, "LINE_EVERY_S", 0.0)  # a line every batch, not every minute
    model = LanguageModel(**{**TINY_LSTM, "epochs": 2})
    model.show_progress = True
    model.fit(CORPUS)
    lines = capsys.readouterr().err.splitlines()
    batch = re.compile(r"lm lstm: epoch (\d)/2, batch (\d)/5 \((\d+)%\), loss \d+\.\d{4}, [\d,]+\.\d tokens/s, \d+ s left$")
    said = [batch.match(line) for line in lines]
    assert [(m[1], m[2], m[3]) for m in said if m] == [(e, str(b), str(20 * b)) for e in "12" for b in range(1, 6)]
    assert [line.split(",")[:2] for line, m in zip(lines, said) if not m] == [
        ["lm lstm: epoch 1", " step 5"], ["lm lstm: epoch 2", " step 10"]]  # and the line each epoch ends with
    assert lines[5].startswith("lm lstm: epoch 1, step 5, train_loss ")
