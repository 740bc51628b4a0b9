"""PyTorch reference of the PQFed model, for `pqfed bench` ratios (same architecture, same sizes).

Tokens (numeric value·v_i + b_i; categorical embeddings of one shared table + a position vector per
column), `convLayers` residual Conv1D(k=3, same padding) + ReLU, one pre-LN transformer block (`heads`
heads, d = `dModel`, ReLU feed-forward `ffDim`), mean pool + LN, class head and MOS head (1 + 4·sigmoid),
loss = CE + mosWeight·MSE, Adam: src/model/model.ts, parameter for parameter (the same count). The tfjs
model looks its embeddings up with one oneHot + one matMul for all columns and writes the convolution as
im2col; here nn.Embedding and nn.Conv1d do the same maths.
Inputs are random tensors of the model's shape: `--config` takes the tfjs ModelConfig as JSON
({"numNumeric", "catVocab", "numClasses", "dModel", "heads", "ffDim", "convLayers", "mosWeight"}; `pqfed
bench` passes the one it trains); without it, the TON_IoT shape (8 numeric, 22 categorical features, 10
classes). Prints one JSON object: {"framework", "threads", "params", "results": [{"batch", "samplesPerSec"}]}.
`--device cuda` runs it on the GPU (bench/gpu/device.sh), draining the queue every 10 steps and at the end.
Usage: python3 bench/reference_torch.py [--batches 64,256] [--seconds 10] [--threads N] [--config JSON]
       [--device cpu|cuda]
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
        self.embed = nn.Embedding(sum(cat_vocab), d)  # one shared table (`cat_embed`); each column has an offset
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
    p.add_argument("--config", default="")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = {"numNumeric": 8, "catVocab": [3, 9, 13, 3, 12, 4, 3, 3, 3, 3, 4, 5, 3, 3, 4, 2, 7, 3, 10, 9, 2, 2],
           "numClasses": 10, "dModel": 32, "heads": 2, "ffDim": 64, "convLayers": 2, "mosWeight": 0.5}
    if args.config:
        cfg.update(json.loads(args.config))
    n_num, cat_vocab, n_classes = cfg["numNumeric"], cfg["catVocab"], cfg["numClasses"]

    def make_model():
        return Model(n_num, cat_vocab, n_classes, d=cfg["dModel"], heads=cfg["heads"], ff=cfg["ffDim"],
                     conv_layers=cfg["convLayers"])

    params = sum(p.numel() for p in make_model().parameters())
    results = []
    for b in [int(x) for x in args.batches.split(",")]:
        dev = torch.device(args.device)
        sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
        model = make_model().to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        x_num = torch.randn(b, n_num).to(dev)
        x_cat = torch.stack([torch.randint(0, v, (b,)) for v in cat_vocab], 1).to(dev)
        y = torch.randint(0, n_classes, (b,)).to(dev)
        mos = torch.full((b,), 3.0).to(dev)

        def step():
            opt.zero_grad()
            logits, m = model(x_num, x_cat)
            loss = nn.functional.cross_entropy(logits, y) + cfg["mosWeight"] * nn.functional.mse_loss(m, mos)
            loss.backward()
            opt.step()

        for _ in range(5):
            step()
        sync()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            for _ in range(10 if dev.type == "cuda" else 1):
                step()
                n += 1
            sync()
        results.append({"batch": b, "samplesPerSec": n * b / (time.perf_counter() - t0)})
    where = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    print(json.dumps({"framework": f"pytorch {torch.__version__} eager {where}", "threads": torch.get_num_threads(),
                      "params": params, "results": results}))


if __name__ == "__main__":
    main()
