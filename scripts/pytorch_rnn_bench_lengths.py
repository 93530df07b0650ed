"""PyTorch reference for `textrnn bench --lengths FILE`: the model of
../shared/bench/pytorch_rnn_bench.py (Embedding(20000, 128) -> LSTM/GRU(128, H)
-> mean over each sequence's real tokens -> Linear(H, 64); loss = mean(out**2);
Adam 1e-3; float32), but each row's length is drawn from FILE (one integer per
line, capped at T) and the RNN runs on pack_padded_sequence, as a PyTorch user
would for variable-length text.

usage: python pytorch_rnn_bench_lengths.py lstm|gru H B T LENGTHS_FILE
env:   THREADS (default 2), STEPS (50), WARM (3), MAXSEC (25)
"""
import json
import os
import random
import resource
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(int(os.environ.get("THREADS", 2)))
try:
    torch.set_num_interop_threads(1)
except Exception:
    pass

V, E, P = 20000, 128, 64
cell, H, B, T, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
STEPS = int(os.environ.get("STEPS", 50))
WARM = int(os.environ.get("WARM", 3))
MAXSEC = float(os.environ.get("MAXSEC", 25))
torch.manual_seed(0)
rng = random.Random(0)
pool = [max(1, min(T, int(l))) for l in open(path) if l.strip()]


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, E)
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(E, H, batch_first=True)
        self.proj = nn.Linear(H, P)

    def forward(self, tok, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(self.emb(tok), lengths, batch_first=True, enforce_sorted=True)
        out, _ = self.rnn(packed)
        hs, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        mean = hs.sum(1) / lengths.unsqueeze(1).to(hs.dtype)
        return self.proj(mean).pow(2).mean()


def make_batch():
    lengths = sorted((rng.choice(pool) for _ in range(B)), reverse=True)
    tok = torch.randint(5, V, (B, max(lengths)))
    return tok, torch.tensor(lengths), sum(lengths)


model = Model()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
batches = [make_batch() for _ in range(4)]


def step(i):
    tok, lengths, _ = batches[i % 4]
    opt.zero_grad(set_to_none=True)
    loss = model(tok, lengths)
    loss.backward()
    opt.step()
    return loss.item()


for i in range(WARM):
    loss0 = step(i)
t0 = time.perf_counter()
n = tok_n = 0
while n < STEPS:
    loss = step(n)
    tok_n += batches[n % 4][2]
    n += 1
    if time.perf_counter() - t0 > MAXSEC:
        break
train_s = time.perf_counter() - t0

model.eval()
ni = itok = 0
with torch.inference_mode():
    for i in range(WARM):
        model(*batches[i % 4][:2]).item()
    t0 = time.perf_counter()
    while ni < STEPS:
        model(*batches[ni % 4][:2]).item()
        itok += batches[ni % 4][2]
        ni += 1
        if time.perf_counter() - t0 > MAXSEC:
            break
    infer_s = time.perf_counter() - t0

print("RESULT " + json.dumps(dict(
    impl="pytorch", cell=cell, H=H, B=B, T=T, threads=torch.get_num_threads(), lengths=path,
    train_steps=n, train_tok_s=round(tok_n / train_s),
    infer_steps=ni, infer_tok_s=round(itok / infer_s),
    peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    loss0=loss0, loss=loss, torch=torch.__version__)))
