"""PyTorch reference of the PQFed model, for `pqfed bench` ratios (same architecture, same sizes).

Tokens (numeric value·v_i + b_i; categorical embeddings), 2 residual Conv1D(k=3) + ReLU, one pre-LN
transformer block (2 heads, d=32, ReLU FF 64), mean pool + LN, class head and MOS head (1 + 4·sigmoid),
loss = CE + 0.5·MSE, Adam. Inputs are random tensors of the TON_IoT shape (8 numeric, 22 categorical
features, 10 classes). Prints one JSON object: {"framework", "threads", "results": [{"batch", "samplesPerSec"}]}.
Usage: python3 bench/reference_torch.py [--batches 64,256] [--seconds 10]
"""
import argparse
import json
import time

import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, n_num, cat_vocab, n_classes, d=32, heads=2, ff=64, conv_layers=2):
        super().__init__()
        self.num_scale = nn.Parameter(torch.randn(n_num, d) / d**0.5)
        self.num_bias = nn.Parameter(torch.randn(n_num, d) * 0.02)
        self.embed = nn.Embedding(sum(cat_vocab), d)
        self.cat_pos = nn.Parameter(torch.randn(len(cat_vocab), d) * 0.02)
        offsets = torch.tensor([0] + list(torch.tensor(cat_vocab).cumsum(0)[:-1]))
        self.register_buffer("offsets", offsets)
        self.convs = nn.ModuleList(nn.Conv1d(d, d, 3, padding=1) for _ in range(conv_layers))
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, d))
        self.lnf = nn.LayerNorm(d)
        self.cls = nn.Linear(d, n_classes)
        self.mos = nn.Linear(d, 1)

    def forward(self, x_num, x_cat):
        h = torch.cat([x_num.unsqueeze(2) * self.num_scale + self.num_bias,
                       self.embed(x_cat + self.offsets) + self.cat_pos], dim=1)
        for conv in self.convs:
            h = h + torch.relu(conv(h.transpose(1, 2))).transpose(1, 2)
        a = self.ln1(h)
        h = h + self.attn(a, a, a, need_weights=False)[0]
        h = h + self.ff(self.ln2(h))
        z = self.lnf(h.mean(1))
        return self.cls(z), 1 + 4 * torch.sigmoid(self.mos(z)).squeeze(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batches", default="64,256")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cat_vocab = [3, 9, 13, 3, 12, 4, 3, 3, 3, 3, 4, 5, 3, 3, 4, 2, 7, 3, 10, 9, 2, 2]
    results = []
    for b in [int(x) for x in args.batches.split(",")]:
        model = Model(8, cat_vocab, 10)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        x_num = torch.randn(b, 8)
        x_cat = torch.stack([torch.randint(0, v, (b,)) for v in cat_vocab], 1)
        y = torch.randint(0, 10, (b,))
        mos = torch.full((b,), 3.0)

        def step():
            opt.zero_grad()
            logits, m = model(x_num, x_cat)
            loss = nn.functional.cross_entropy(logits, y) + 0.5 * nn.functional.mse_loss(m, mos)
            loss.backward()
            opt.step()

        for _ in range(5):
            step()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            step()
            n += 1
        results.append({"batch": b, "samplesPerSec": n * b / (time.perf_counter() - t0)})
    print(json.dumps({"framework": f"pytorch {torch.__version__} eager cpu", "threads": torch.get_num_threads(),
                      "results": results}))


if __name__ == "__main__":
    main()
