"""Decoding: continue prompts token by token with greedy search, sampling or beam search.

Every strategy asks the model for log P(next | the last ``context`` tokens) and
picks from it; ``<pad>`` is never picked, and ``<eos>`` ends a continuation.

- ``greedy``: the most probable token (``topk(1)``, the same operation as sampling
  with top-k 1, so the two agree exactly).
- ``sample``: from softmax(log P / temperature), restricted to the ``top_k`` most
  probable tokens and/or the smallest set whose probability reaches ``top_p``
  (nucleus sampling, Holtzman et al. 2020). A torch generator seeded with
  ``seed`` draws: the same seed gives the same text. ``temperature`` 0 is the
  limit of ever sharper distributions: greedy.
- ``beam``: the ``beam_width`` best continuations by total log-probability; a
  beam that emits ``<eos>`` is finished. Width 1 is greedy.

Greedy and sampling run prompts of the same length as one batch on the device.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from nlpkit.params import param

STRATEGIES = ("greedy", "sample", "beam")
# sampling temperatures: 0 (greedy) or within this range. Below it log P / T overflows float32 to -inf
# (and softmax gives NaN); above it every token is already about equally likely (log P / T near 0)
TEMPERATURE_RANGE = (0.01, 100.0)


def temperature_problem(temperature: float) -> str | None:
    """Why a temperature cannot be used (inf, NaN, 1e308, 1e-300, ...), or None: it is 0 or within TEMPERATURE_RANGE."""
    low, high = TEMPERATURE_RANGE
    if temperature == 0 or (math.isfinite(temperature) and low <= temperature <= high):
        return None
    return f"temperature must be 0 (greedy) or between {low:g} and {high:g}, not {temperature!r}"


def parse_temperature(text: str) -> float:
    """--temperature from a command line or a pipeline segment (ValueError with the reason)."""
    try:
        temperature = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid float") from None
    problem = temperature_problem(temperature)
    if problem:
        raise ValueError(problem)
    return temperature


@dataclass
class Decoding:
    """How `lm generate` picks tokens: the declaration its command, pipelines and the library share."""

    strategy: str = param("greedy", choices=STRATEGIES, show_default=True, help="How the next token is chosen.")
    temperature: float = param(1.0, parse=parse_temperature, type_name="FLOAT", show_default=True,
                               help="Sampling temperature: <1 sharper, >1 more diverse; 0 is greedy, else "
                                    f"{TEMPERATURE_RANGE[0]:g} to {TEMPERATURE_RANGE[1]:g}.")
    top_k: int = param(0, min=0, show_default=True, help="Sample from the k most probable tokens only (0: all; 1 is greedy).")
    # below 0.001 no token is left to sample from in float32
    top_p: float = param(1.0, min=0.001, max=1, show_default=True,
                         help="Sample from the smallest set of tokens whose probability reaches p.")
    beam_width: int = param(4, min=1, show_default=True, help="Beams (beam; 1 is greedy).")
    max_new_tokens: int = param(30, min=0, show_default=True, help="Tokens to add at most (fewer when <eos> comes first).")
    seed: int = param(0, min=0, max=2**63 - 1, show_default=True, help="Sampling seed: the same seed gives the same text.")

    def check(self) -> None:
        from nlpkit.lm.model import LMUsageError

        if self.strategy not in STRATEGIES:
            raise LMUsageError(f"strategy must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}")
        problem = temperature_problem(self.temperature)
        if problem:
            raise LMUsageError(problem)
        if not 0 < self.top_p <= 1:
            raise LMUsageError("top-p must be in (0, 1]")
        if self.top_k < 0 or self.beam_width < 1 or self.max_new_tokens < 0:
            raise LMUsageError("top-k must be >= 0, beam-width >= 1, max-new-tokens >= 0")


def fit_context(prompt: list[int], context: int) -> tuple[list[int], bool]:
    """The prompt's last `context` tokens, and whether it was cut."""
    return (prompt[-context:], True) if len(prompt) > context else (prompt, False)


def generate(model, prompts: list[list[int]], decoding: Decoding, batch_size: int = 32) -> list[list[int]]:
    """The new token ids after each prompt (its <eos> not included)."""
    import torch

    decoding.check()
    generator = torch.Generator().manual_seed(decoding.seed)
    if decoding.strategy == "beam":
        return [_beam(model, prompt, decoding) for prompt in prompts]
    out: list[list[int]] = [[] for _ in prompts]
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, prompt in enumerate(prompts):
        by_length[len(prompt)].append(i)
    for length in sorted(by_length):
        rows = by_length[length]
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            for i, ids in zip(chunk, _continue(model, [prompts[i] for i in chunk], decoding, generator)):
                out[i] = ids
    return out


def _continue(model, prompts: list[list[int]], decoding: Decoding, generator) -> list[list[int]]:
    """Greedy or sampled continuations of equal-length prompts, as one batch."""
    import torch

    context, eos, device = model.shape_["context"], model.tokenizer_.eos_id, model.device_
    ids = torch.tensor(prompts, dtype=torch.long, device=device)
    done = torch.zeros(len(prompts), dtype=torch.bool)
    new: list[list[int]] = [[] for _ in prompts]
    module = model.module_.eval()
    with torch.inference_mode():
        for _ in range(decoding.max_new_tokens):
            log_probs = _allowed(module.next_log_probs(ids[:, -context:]).float().cpu(), model)
            picked = _pick(log_probs, decoding, generator)
            for row, token in enumerate(picked.tolist()):
                if not done[row]:
                    if token == eos:
                        done[row] = True
                    else:
                        new[row].append(token)
            if bool(done.all()):
                break
            ids = torch.cat([ids, picked.to(device).unsqueeze(1)], dim=1)
    return new


def _allowed(log_probs, model):
    log_probs[:, model.tokenizer_.pad_id] = float("-inf")
    return log_probs


def _pick(log_probs, decoding: Decoding, generator):
    """One token per row."""
    import torch

    if decoding.strategy == "greedy" or decoding.temperature == 0:
        return log_probs.topk(1, dim=-1).indices.squeeze(-1)
    scores = log_probs / decoding.temperature
    if decoding.top_k:
        kth = scores.topk(min(decoding.top_k, scores.size(-1)), dim=-1).values[:, -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if decoding.top_p < 1.0:
        sorted_scores, order = scores.sort(dim=-1, descending=True)
        probs = sorted_scores.softmax(-1)
        before = probs.cumsum(-1) - probs  # probability of the tokens ranked above each one
        drop_sorted = before >= decoding.top_p  # the first token always stays
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        scores = scores.masked_fill(drop, float("-inf"))
    return torch.multinomial(scores.softmax(-1), 1, generator=generator).squeeze(-1)


def _beam(model, prompt: list[int], decoding: Decoding) -> list[int]:
    import torch

    context, eos, device = model.shape_["context"], model.tokenizer_.eos_id, model.device_
    width = decoding.beam_width
    alive: list[tuple[float, list[int]]] = [(0.0, [])]
    finished: list[tuple[float, list[int]]] = []
    module = model.module_.eval()
    with torch.inference_mode():
        for _ in range(decoding.max_new_tokens):
            batch = torch.tensor([(prompt + new)[-context:] for _, new in alive], dtype=torch.long, device=device)
            log_probs = _allowed(module.next_log_probs(batch).float().cpu(), model)
            totals = torch.tensor([score for score, _ in alive]).unsqueeze(1) + log_probs
            best = totals.flatten().topk(min(width, totals.numel()))
            candidates = []
            for value, index in zip(best.values.tolist(), best.indices.tolist()):
                beam, token = divmod(index, log_probs.size(1))
                candidates.append((value, alive[beam][1], token))
            alive = []
            for value, new, token in candidates:
                (finished.append((value, new)) if token == eos else alive.append((value, new + [token])))
            if len(finished) >= width or not alive:
                break
    pool = finished + alive
    return max(pool, key=lambda beam: beam[0])[1] if pool else []
