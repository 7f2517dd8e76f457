#!/usr/bin/python3
"""torch_mlp.py: the ES-DFM paper's MLP in PyTorch, for comparison with
bench_mlp (models/mlp.c) on the same machine.

Same network and optimiser as the C learner: 8 integer fields one-hot
(1488 bins), 9 categorical fields with 8-wide embeddings (2000 rows),
Dense-LeakyReLU(0.2)-BatchNorm(eps 1e-3, Keras momentum 0.99) layers
256-256-128, one logit; BCE; Adam (lr 1e-3, eps 1e-7) dense over every
parameter, L2 1e-6 ||W||^2 on the hidden kernels (weight decay 2e-6).
The one-hot part of the first layer is an EmbeddingBag summing rows of
W_1, as the C code does, so both do the same arithmetic.

Prints key=value lines like bench_mlp: samples_per_s_b1024,
samples_per_s_b76, gemm_gflops_b*, sgemm_gflops_1024 (torch.mm on
1024^3), params.  One thread (torch.set_num_threads(1)).
Usage: torch_mlp.py [seconds per batch size, default 3].
Exits 0 with "skipped=torch not installed" if torch is absent.
"""
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("skipped=torch not installed")
    sys.exit(0)

INT_BINS = [64, 16, 128, 64, 128, 64, 512, 512]
CAT_BUCKETS = [512, 128, 256, 256, 64, 256, 256, 16, 256]
HIDDEN = [256, 256, 128]
EMB = 8


class PaperMLP(nn.Module):
    """u W_1 = sum of the picked one-hot rows + embeddings @ W_1e."""

    def __init__(self):
        super().__init__()
        n_onehot, n_emb = sum(INT_BINS), sum(CAT_BUCKETS)
        self.onehot = nn.EmbeddingBag(n_onehot, HIDDEN[0], mode="sum")
        self.emb = nn.Embedding(n_emb, EMB)
        self.first = nn.Linear(len(CAT_BUCKETS) * EMB, HIDDEN[0])
        nn.init.uniform_(self.emb.weight, -0.05, 0.05)
        width = n_onehot + len(CAT_BUCKETS) * EMB
        limit = (6.0 / (width + HIDDEN[0])) ** 0.5
        nn.init.uniform_(self.onehot.weight, -limit, limit)
        nn.init.uniform_(self.first.weight, -limit, limit)
        nn.init.zeros_(self.first.bias)
        self.bn = nn.ModuleList()
        self.dense = nn.ModuleList()
        for i, h in enumerate(HIDDEN):
            if i > 0:
                lin = nn.Linear(HIDDEN[i - 1], h)
                nn.init.xavier_uniform_(lin.weight)
                nn.init.zeros_(lin.bias)
                self.dense.append(lin)
            self.bn.append(nn.BatchNorm1d(h, eps=1e-3, momentum=0.01))
        self.out = nn.Linear(HIDDEN[-1], 1)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.act = nn.LeakyReLU(0.2)

    def kernels(self):
        """The hidden kernels, which carry the L2 term."""
        return [self.onehot.weight, self.first.weight] + [
            d.weight for d in self.dense]

    def forward(self, xi, xc):
        e = self.emb(xc).flatten(1)
        h = self.onehot(xi) + self.first(e)
        h = self.bn[0](self.act(h))
        for lin, bn in zip(self.dense, self.bn[1:]):
            h = bn(self.act(lin(h)))
        return self.out(h).squeeze(1)


def make_data(n, gen):
    """Random encoded rows: global one-hot columns, embedding rows."""
    xi, off = [], 0
    for b in INT_BINS:
        xi.append(torch.randint(0, b, (n,), generator=gen) + off)
        off += b
    xc, off = [], 0
    for b in CAT_BUCKETS:
        xc.append(torch.randint(0, b, (n,), generator=gen) + off)
        off += b
    y = (torch.rand(n, generator=gen) < 0.125).float()
    return torch.stack(xi, 1), torch.stack(xc, 1), y


def time_training(batch, seconds, data):
    torch.manual_seed(1)
    model = PaperMLP()
    kern = model.kernels()
    ids = {id(p) for p in kern}
    rest = [p for p in model.parameters() if id(p) not in ids]
    opt = torch.optim.Adam(
        [{"params": kern, "weight_decay": 2e-6},
         {"params": rest, "weight_decay": 0.0}], lr=1e-3, eps=1e-7)
    loss_fn = nn.BCEWithLogitsLoss()
    xi, xc, y = data
    pool = y.shape[0]

    def step(r):
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(xi[r:r + batch], xc[r:r + batch]),
                       y[r:r + batch])
        loss.backward()
        opt.step()

    r, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds / 3:
        step(r)
        r = 0 if r + 2 * batch > pool else r + batch
    done, t0 = 0, time.perf_counter()
    while True:
        step(r)
        r = 0 if r + 2 * batch > pool else r + batch
        done += batch
        t = time.perf_counter()
        if t - t0 >= seconds:
            break
    n_params = sum(p.numel() for p in model.parameters())
    return done / (t - t0), n_params


def time_sgemm(n, seconds):
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.mm(a, b)
    reps, t0 = 0, time.perf_counter()
    while True:
        torch.mm(a, b)
        reps += 1
        t = time.perf_counter()
        if t - t0 >= seconds:
            return 2.0 * n ** 3 * reps / (t - t0) * 1e-9


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(99)
    data = make_data(65536, gen)
    gemm_per_row = 6.0 * (72 * 256 + 256 * 256 + 256 * 128)
    print(f"torch_version={torch.__version__}")
    for batch in (1024, 76):
        sps, n_params = time_training(batch, seconds, data)
        if batch == 1024:
            print(f"params={n_params}")
        print(f"samples_per_s_b{batch}={sps:.0f}")
        print(f"gemm_gflops_b{batch}={sps * gemm_per_row * 1e-9:.1f}")
    print(f"sgemm_gflops_1024={time_sgemm(1024, seconds / 3):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
