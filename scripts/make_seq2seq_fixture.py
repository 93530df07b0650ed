#!/usr/bin/env python3
"""Writes crates/core/tests/fixtures/pytorch_seq2seq.json: a tiny attention
encoder-decoder built the way ../shared/bench/pytorch_seq2seq.py builds its
model (bidirectional GRU encoder over packed sources, tanh bridge to the
decoder's initial state, GRU decoder, Luong "general" attention with masked
softmax, tanh(W_c [context; h]), output layer, cross-entropy with label
smoothing 0.1 over the real target tokens), in float64 with dropout off.
Saves its weights under textrnn's parameter names, a batch of three pairs of
uneven lengths, the teacher-forced loss, every parameter's gradient, and the
log-probabilities of one decoding step from <bos>. The Rust test
(tests/pytorch_fixture.rs) rebuilds the model from the weights and must
reproduce all of them. Needs torch (in a virtualenv outside the repo).

Run: python3 scripts/make_seq2seq_fixture.py
"""
import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD, BOS, EOS = 0, 3, 4  # textrnn's special ids
torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
VS, VT, E, H, DH = 9, 8, 3, 3, 4

src_emb = nn.Embedding(VS, E, padding_idx=PAD)
tgt_emb = nn.Embedding(VT, E, padding_idx=PAD)
encoder = nn.GRU(E, H, batch_first=True, bidirectional=True)
bridge = nn.Linear(2 * H, DH)
decoder = nn.GRU(E, DH, batch_first=True)
attn = nn.Linear(2 * H, DH, bias=False)
combine = nn.Linear(2 * H + DH, DH, bias=False)
out = nn.Linear(DH, VT)
params = {
    "encoder.embedding.weight": src_emb.weight,
    "encoder.rnn.weight_ih_l0": encoder.weight_ih_l0, "encoder.rnn.weight_hh_l0": encoder.weight_hh_l0,
    "encoder.rnn.bias_ih_l0": encoder.bias_ih_l0, "encoder.rnn.bias_hh_l0": encoder.bias_hh_l0,
    "encoder.rnn.weight_ih_l0_reverse": encoder.weight_ih_l0_reverse,
    "encoder.rnn.weight_hh_l0_reverse": encoder.weight_hh_l0_reverse,
    "encoder.rnn.bias_ih_l0_reverse": encoder.bias_ih_l0_reverse,
    "encoder.rnn.bias_hh_l0_reverse": encoder.bias_hh_l0_reverse,
    "bridge.weight": bridge.weight, "bridge.bias": bridge.bias,
    "tgt_emb.weight": tgt_emb.weight,
    "decoder.weight_ih_l0": decoder.weight_ih_l0, "decoder.weight_hh_l0": decoder.weight_hh_l0,
    "decoder.bias_ih_l0": decoder.bias_ih_l0, "decoder.bias_hh_l0": decoder.bias_hh_l0,
    "attn.weight": attn.weight, "combine.weight": combine.weight,
    "out.weight": out.weight, "out.bias": out.bias,
}

pairs = [([5, 6, 7, 8, EOS], [5]), ([8, 1, EOS], [6, 7, 5, 6]), ([7, EOS], [7, 7])]


def pad(seqs):
    lengths = torch.tensor([len(s) for s in seqs])
    x = torch.full((len(seqs), int(lengths.max())), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = torch.tensor(s)
    return x, lengths


src, src_len = pad([p[0] for p in pairs])
tgt, _ = pad([[BOS] + p[1] + [EOS] for p in pairs])


def encode():
    packed = pack_padded_sequence(src_emb(src), src_len, batch_first=True, enforce_sorted=False)
    o, h = encoder(packed)
    memory, _ = pad_packed_sequence(o, batch_first=True, total_length=src.size(1))
    h0 = torch.tanh(bridge(torch.cat([h[0], h[1]], -1)))
    return memory, attn(memory), src != PAD, h0


def attend(h, memory, keys, mask):
    scores = torch.bmm(h, keys.transpose(1, 2)).masked_fill(~mask[:, None, :], float("-inf"))
    context = torch.bmm(scores.softmax(-1), memory)
    return torch.tanh(combine(torch.cat([context, h], -1)))


memory, keys, mask, h0 = encode()
dec, _ = decoder(tgt_emb(tgt[:, :-1]), h0[None])
gold = tgt[:, 1:]
keep = gold != PAD
logits = out(attend(dec, memory, keys, mask)[keep])
loss = F.cross_entropy(logits, gold[keep], label_smoothing=0.1)
loss.backward()

with torch.no_grad():
    memory, keys, mask, h0 = encode()
    h1 = decoder(tgt_emb(torch.full((len(pairs), 1), BOS)), h0[None])[1][0]
    step = out(attend(h1[:, None], memory, keys, mask)[:, 0]).log_softmax(-1)

fixture = {
    "config": {"src_vocab": VS, "tgt_vocab": VT, "embed": E, "hidden": H, "dec_hidden": DH},
    "pairs": pairs,
    "label_smoothing": 0.1,
    "weights": {k: v.detach().flatten().tolist() for k, v in params.items()},
    "loss": loss.item(),
    "grads": {k: v.grad.flatten().tolist() for k, v in params.items()},
    "step_logp": step.tolist(),
    "torch": torch.__version__,
}
path = Path(__file__).resolve().parent.parent / "crates/core/tests/fixtures/pytorch_seq2seq.json"
path.write_text(json.dumps(fixture) + "\n")
print("loss", loss.item(), "->", path)
