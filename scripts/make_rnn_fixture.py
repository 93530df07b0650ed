#!/usr/bin/env python3
"""Writes crates/core/tests/fixtures/pytorch_rnn.json (+ .safetensors), the
reference values the Rust engine must reproduce. Needs torch and safetensors
(in a virtualenv outside the repo); the Rust tests only read the files.

1. For LSTM and GRU: a 2-layer bidirectional nn.<CELL>(3, 4) in float64 over a
   packed batch with lengths 5, 3, 2; loss = sum(output * R). Saves weights,
   inputs, outputs and every gradient.
2. For LSTM and GRU: Embedding(20, 4) -> <CELL>(4, 5) -> mean over time ->
   Linear(5, 3), loss = mean(out ** 2), Adam lr 1e-2, float32, 10 steps over
   4 fixed batches; saves the initial weights, the batches and the 10 losses.
3. The LSTM case's initial weights as safetensors written by PyTorch.

Run: python3 scripts/make_rnn_fixture.py
"""
import json
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "crates/core/tests/fixtures"


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def tensors(named):
    return {k: {"shape": list(v.shape), "data": flat(v)} for k, v in named}


def gradient_case(cell):
    torch.manual_seed(0)
    rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    lengths = [5, 3, 2]
    x = torch.randn(3, 5, 3, dtype=torch.float64, requires_grad=True)
    r = torch.randn(3, 5, 8, dtype=torch.float64)
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True)
    out, _ = rnn(packed)
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
    loss = (out * r).sum()
    loss.backward()
    return {
        "lengths": lengths,
        "x": flat(x),
        "r": flat(r),
        "out": flat(out),
        "loss": loss.item(),
        "weights": tensors(rnn.named_parameters()),
        "grads": {k: flat(v.grad) for k, v in rnn.named_parameters()},
        "dx": flat(x.grad),
    }


class Model(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.embedding = nn.Embedding(20, 4)
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(4, 5, batch_first=True)
        self.proj = nn.Linear(5, 3)

    def forward(self, tok):
        hs, _ = self.rnn(self.embedding(tok))
        return self.proj(hs.mean(1)).pow(2).mean()


def adam_case(cell):
    torch.manual_seed(1)
    model = Model(cell)
    init = tensors(model.state_dict().items())
    batches = [torch.randint(5, 20, (3, 6)) for _ in range(4)]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for i in range(10):
        opt.zero_grad()
        loss = model(batches[i % 4])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"weights": init, "batches": [b.tolist() for b in batches], "lr": 1e-2, "losses": losses}, model


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    fixture = {
        "torch": torch.__version__,
        "gradients": {c: gradient_case(c) for c in ("lstm", "gru")},
        "adam": {},
    }
    for c in ("lstm", "gru"):
        fixture["adam"][c], _ = adam_case(c)
    torch.manual_seed(1)
    save_file({k: v.contiguous() for k, v in Model("lstm").state_dict().items()}, str(OUT / "pytorch_lstm.safetensors"))
    with open(OUT / "pytorch_rnn.json", "w") as f:
        json.dump(fixture, f)
    print("wrote", OUT / "pytorch_rnn.json")


if __name__ == "__main__":
    main()
