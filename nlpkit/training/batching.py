"""Batches for the torch kinds: length bucketing for training, length-sorted batches for inference, padding.

Pure index arithmetic (numpy) except :class:`Collate`, which builds the tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def bucket_batches(lengths: Sequence[int], batch_size: int, seed: int, bucket_batches: int = 50) -> list[list[int]]:
    """Training batches of similar lengths: shuffle, sort chunks of `bucket_batches` batches by
    length, cut them into batches, shuffle the batches. Same seed, same batches."""
    lengths = np.asarray(lengths)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    chunk = batch_size * bucket_batches
    batches = []
    for start in range(0, len(order), chunk):
        idx = order[start : start + chunk]
        idx = idx[np.argsort(lengths[idx], kind="stable")]
        batches += [idx[i : i + batch_size].tolist() for i in range(0, len(idx), batch_size)]
    rng.shuffle(batches)
    return batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Inference batches: indices sorted by length (least padding); callers restore the order."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]


class Examples:
    """A torch Dataset of (token ids, label index) pairs."""

    def __init__(self, ids: list[list[int]], labels: list[int] | None = None):
        self.ids, self.labels = ids, labels

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return self.ids[i], (self.labels[i] if self.labels is not None else -1)


@dataclass
class Collate:
    """Pads a batch of id lists into tensors: input_ids, lengths, attention_mask, labels.

    A plain picklable object (DataLoader workers may need to pickle it).
    """

    pad_id: int = 0
    side: str = "post"  # pre | post | packed (packed pads after; the module packs)

    def __call__(self, batch):
        import torch

        seqs = [ids for ids, _ in batch]
        width = max(1, max(len(s) for s in seqs))
        input_ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, s in enumerate(seqs):
            if not s:
                continue
            cols = slice(width - len(s), width) if self.side == "pre" else slice(0, len(s))
            input_ids[row, cols] = torch.tensor(s, dtype=torch.long)
            mask[row, cols] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": mask,
            "lengths": torch.tensor([max(1, len(s)) for s in seqs], dtype=torch.long),
            "labels": torch.tensor([label for _, label in batch], dtype=torch.long),
        }
