"""The same training loop as the replay's fused step, in PyTorch on the GPU, for scripts/gpu-check.sh.

One epoch of SGD for the 784-H-10 sigmoid MLP (Keras MSE: the mean over the batch and the 10
outputs; learning rate 0.1; file order; float32), with the gradients written out by hand (the
fused step's arithmetic: no autograd, no optimizer object), the training set on the device
before the clock starts. Two loops:

- eager: one Python iteration a step, each operation a kernel launch;
- graph: one step captured as a CUDA graph (its images picked on the device by a step counter
  the graph advances), replayed once a step; the last, smaller step of the epoch runs eagerly.

Usage: python3 scripts/torch_baseline.py DATA_DIR [--hidden H] [--batch B] [--loops eager,graph]
       [--device cuda]
DATA_DIR holds MNIST's four IDX .gz files. Prints one line per loop:
    torch-<loop> <hidden> <batch> <wall seconds of the epoch> <test accuracy>
after an untimed warm-up epoch of 2,048 images (cuBLAS set-up, graph capture).
"""
import argparse
import gzip
import os
import sys
import time

import torch


def idx(data, name, offset):
    with gzip.open(os.path.join(data, name + ".gz")) as f:
        return torch.frombuffer(bytearray(f.read()[offset:]), dtype=torch.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--hidden", type=int, default=28)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--loops", default="eager,graph")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--lr", type=float, default=0.1)
    a = ap.parse_args()
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_baseline: no CUDA device")
    x = idx(a.data, "train-images-idx3-ubyte", 16).reshape(-1, 784).to(dev).float() / 255
    labels = idx(a.data, "train-labels-idx1-ubyte", 8).to(dev).long()
    xt = idx(a.data, "t10k-images-idx3-ubyte", 16).reshape(-1, 784).to(dev).float() / 255
    yt = idx(a.data, "t10k-labels-idx1-ubyte", 8).to(dev).long()
    t = torch.nn.functional.one_hot(labels, 10).float()
    H, B, lr = a.hidden, a.batch, a.lr

    def fresh():
        g = torch.Generator().manual_seed(0)
        l1, l2 = (6 / (784 + H)) ** 0.5, (6 / (H + 10)) ** 0.5
        w1 = ((torch.rand(784, H, generator=g) * 2 - 1) * l1).to(dev)
        w2 = ((torch.rand(H, 10, generator=g) * 2 - 1) * l2).to(dev)
        return w1, torch.zeros(H, device=dev), w2, torch.zeros(10, device=dev)

    def step(p, xb, tb, labels_b, loss, hits):
        w1, b1, w2, b2 = p
        h = torch.sigmoid(torch.addmm(b1, xb, w1))
        y = torch.sigmoid(torch.addmm(b2, h, w2))
        err = y - tb
        loss.add_((err * err).mean())
        hits.add_((y.argmax(1) == labels_b).sum())
        dy = err * (2.0 / (10 * xb.shape[0])) * y * (1 - y)
        dh = (dy @ w2.T) * h * (1 - h)
        w2.addmm_(h.T, dy, alpha=-lr)
        b2.sub_(dy.sum(0), alpha=lr)
        w1.addmm_(xb.T, dh, alpha=-lr)
        b1.sub_(dh.sum(0), alpha=lr)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def epoch(loop, n):
        p = fresh()
        loss = torch.zeros((), device=dev)
        hits = torch.zeros((), device=dev, dtype=torch.long)
        full = n // B
        replay = None
        if loop == "graph" and full > 0:
            start = torch.zeros((), device=dev, dtype=torch.long)
            offsets = torch.arange(B, device=dev)

            def graph_step():
                rows = start + offsets
                step(p, x.index_select(0, rows), t.index_select(0, rows),
                     labels.index_select(0, rows), loss, hits)
                start.add_(B)

            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                # The allocator must see the step once before capture; undo it after.
                saved = [q.clone() for q in p]
                graph_step()
                for q, s in zip(p, saved):
                    q.copy_(s)
                start.zero_(), loss.zero_(), hits.zero_()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                graph_step()
            replay = graph.replay
        sync()
        began = time.perf_counter()
        if replay is not None:
            for _ in range(full):
                replay()
            tail = range(full * B, n, B)
        else:
            tail = range(0, n, B)
        for s in tail:
            e = min(s + B, n)
            step(p, x[s:e], t[s:e], labels[s:e], loss, hits)
        sync()
        wall = time.perf_counter() - began
        w1, b1, w2, b2 = p
        out = torch.sigmoid(torch.sigmoid(xt @ w1 + b1) @ w2 + b2)
        accuracy = (out.argmax(1) == yt).float().mean().item()
        return wall, accuracy

    for loop in a.loops.split(","):
        if loop not in ("eager", "graph"):
            sys.exit(f"torch_baseline: unknown loop '{loop}'; expected eager or graph")
        if loop == "graph" and dev.type != "cuda":
            print(f"torch-graph {H} {B} skipped: CUDA graphs need a CUDA device", flush=True)
            continue
        epoch(loop, min(2048, len(x)))
        wall, accuracy = epoch(loop, len(x))
        print(f"torch-{loop} {H} {B} {wall:.4f} {accuracy:.4f}", flush=True)


if __name__ == "__main__":
    main()
