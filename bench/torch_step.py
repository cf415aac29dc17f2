"""PyTorch float32 CPU training step on a given config, the peer of bench/train.bench.mjs.

Reuses the independent reference model of test/fixtures/make_fixtures.py (plain
torch, HF LlamaForCausalLM semantics) in float32 with torch.optim.AdamW, so the
engine is compared with the same computation done by PyTorch + OpenBLAS.
Prints one JSON object: {"threads", "alpha", "seconds_per_step", "tokens_per_second"}.
Run with Debian's torch: /usr/bin/python3 bench/torch_step.py --threads 2 --alpha 3
On a GPU: --device cuda (float32, TF32 matmuls off so that it is the same f32
arithmetic as the WebGPU backend; bench/gpu.sh runs it).
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures"))
import make_fixtures as ref  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--alpha", type=float, default=0.0)
parser.add_argument("--steps", type=int, default=4)
parser.add_argument("--warmup", type=int, default=1)
parser.add_argument("--batch", type=int, default=8)
parser.add_argument("--seq", type=int, default=256)
parser.add_argument("--vocab", type=int, default=4096)
parser.add_argument("--hidden", type=int, default=256)
parser.add_argument("--layers", type=int, default=6)
parser.add_argument("--heads", type=int, default=4)
parser.add_argument("--kv-heads", type=int, default=4)
parser.add_argument("--intermediate", type=int, default=688)
parser.add_argument("--device", default="cpu", help="cpu or cuda")
args = parser.parse_args()
device = torch.device(args.device)
if device.type == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

torch.set_num_threads(args.threads)
c = {
    "vocab": args.vocab, "hidden": args.hidden, "layers": args.layers, "heads": args.heads,
    "kv_heads": args.kv_heads, "head_dim": args.hidden // args.heads, "intermediate": args.intermediate,
    "rope_theta": 10000.0, "rms_eps": 1e-5, "max_pos": args.seq, "tied": False,
}
gen = torch.Generator().manual_seed(0)
P = {n: t.to(device).clone().requires_grad_(True) for n, t in ref.make_weights(c, gen).items()}
decay = [t for t in P.values() if t.dim() == 2]
no_decay = [t for t in P.values() if t.dim() == 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
tokens = torch.randint(0, c["vocab"], (args.batch, args.seq + 1), generator=gen).to(device)
inputs, targets = tokens[:, :-1], tokens[:, 1:]
# The reference model builds masks and RoPE tables with factory calls: make them on the device too.
if device.type != "cpu":
    if not hasattr(torch, "set_default_device"):
        sys.exit("--device %s needs PyTorch >= 2.0 (torch.set_default_device)" % args.device)
    torch.set_default_device(device)


def step():
    opt.zero_grad(set_to_none=True)
    loss, _, _ = ref.loss_fn(P, c, inputs, targets, args.alpha)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(P.values()), 1.0)
    opt.step()


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


for _ in range(args.warmup):
    step()
sync()
t0 = time.perf_counter()
for _ in range(args.steps):
    step()
sync()
dt = (time.perf_counter() - t0) / args.steps
print(json.dumps({"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                  "threads": args.threads, "alpha": args.alpha, "seconds_per_step": dt,
                  "tokens_per_second": args.batch * args.seq / dt}))
