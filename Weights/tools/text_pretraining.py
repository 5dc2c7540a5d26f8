"""Attribute pre-training of the lcm-shapes text encoder (the `text` stage of train_default_model.py).

Before the teacher trains it jointly with the UNet, the CLIPTextModel learns to say what a caption asks for:
linear heads on the mean of last_hidden_state over all 77 positions (the UNet cross-attends to all of them)
predict the background colour, and which colours, shapes, colour+shape, colour+size and colour+position
combinations the caption names. The heads are thrown away afterwards; they only make the embeddings of
different captions linearly distinguishable from the teacher's first step."""

import numpy as np
import torch
import torch.nn.functional as F

from shapes_data import COLOR_NAMES, POSITIONS, SHAPES, SIZES, caption, parse_caption

BINARY = {"color": len(COLOR_NAMES), "shape": len(SHAPES), "color_shape": len(COLOR_NAMES) * len(SHAPES),
          "color_size": len(COLOR_NAMES) * len(SIZES), "color_position": len(COLOR_NAMES) * len(POSITIONS)}


def attribute_targets(captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Background class [B] and multi-label targets [B, sum(BINARY)] of shapes captions."""
    offsets = dict(zip(BINARY, np.cumsum([0] + list(BINARY.values()))))
    background = torch.empty(len(captions), dtype=torch.long)
    labels = torch.zeros(len(captions), sum(BINARY.values()))
    for row, text in enumerate(captions):
        truth = parse_caption(text)
        background[row] = COLOR_NAMES.index(truth["background"])
        for obj in truth["objects"]:
            color = COLOR_NAMES.index(obj["color"])
            shape = SHAPES.index(obj["shape"])
            labels[row, offsets["color"] + color] = 1
            labels[row, offsets["shape"] + shape] = 1
            labels[row, offsets["color_shape"] + color * len(SHAPES) + shape] = 1
            if obj["size"]:
                labels[row, offsets["color_size"] + color * len(SIZES) + SIZES.index(obj["size"])] = 1
            if obj["position"]:
                labels[row, offsets["color_position"] + color * len(POSITIONS) + POSITIONS.index(obj["position"])] = 1
    return background, labels


class AttributeHeads(torch.nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.background = torch.nn.Linear(hidden, len(COLOR_NAMES))
        self.binary = torch.nn.Linear(hidden, sum(BINARY.values()))

    def loss(self, hidden_states: torch.Tensor, background: torch.Tensor, labels: torch.Tensor):
        """Loss, background accuracy, and the fraction of captions whose colour+shape pairs are all read right."""
        pooled = hidden_states.mean(dim=1)
        background_logits, binary_logits = self.background(pooled), self.binary(pooled)
        loss = F.cross_entropy(background_logits, background) + \
            F.binary_cross_entropy_with_logits(binary_logits, labels) * labels.shape[1] / 8
        background_ok = (background_logits.argmax(1) == background).float().mean().item()
        pairs = slice(BINARY["color"] + BINARY["shape"], BINARY["color"] + BINARY["shape"] + BINARY["color_shape"])
        pairs_ok = ((binary_logits[:, pairs] > 0) == (labels[:, pairs] > 0.5)).all(1).float().mean().item()
        return loss, background_ok, pairs_ok


def caption_batch(scenes: list[dict], rng: np.random.Generator, batch: int) -> list[str]:
    return [caption(scenes[i], rng) for i in rng.integers(0, len(scenes), batch)]
