"""PyTorch float32 CPU training step on bench-tiny, the peer of bench/train.bench.mjs.

Reuses the independent reference model of test/fixtures/make_fixtures.py (plain
torch, HF LlamaForCausalLM semantics) in float32 with torch.optim.AdamW, so the
engine is compared with the same computation done by PyTorch + OpenBLAS.

One-shot: prints one JSON object {"threads", "alpha", "seconds_per_step", "tokens_per_second", "peak_rss_bytes"}:
    /usr/bin/python3 bench/torch_step.py --threads 2 --alpha 3
Server (how train.bench.mjs interleaves it with the engine): --serve reads one
JSON command per line on stdin and answers one JSON line each:
    {"cmd": "step", "alpha": 3, "seq": 256} -> {"ms": ..., "attention_ms": ...}
    {"cmd": "memory"}                       -> {"peak_rss_bytes": ...}
Each (alpha, seq) gets its own model and optimizer, warmed by one untimed step;
batch × seq is 2048 tokens for every seq (unless --batch is given).
On a GPU: --device cuda (float32, TF32 matmuls off so that it is the same f32
arithmetic as the WebGPU backend; bench/gpu.sh runs it).
"""

import argparse
import json
import os
import resource
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
parser.add_argument("--batch", type=int, default=0)
parser.add_argument("--seq", type=int, default=256)
parser.add_argument("--vocab", type=int, default=4096)
parser.add_argument("--hidden", type=int, default=256)
parser.add_argument("--layers", type=int, default=6)
parser.add_argument("--heads", type=int, default=4)
parser.add_argument("--kv-heads", type=int, default=4)
parser.add_argument("--intermediate", type=int, default=688)
parser.add_argument("--serve", action="store_true")
parser.add_argument("--device", default="cpu", help="cpu or cuda")
args = parser.parse_args()
device = torch.device(args.device)
if device.type == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
# The reference model builds masks and RoPE tables with factory calls: make them on the device too.
if device.type != "cpu":
    if not hasattr(torch, "set_default_device"):
        sys.exit("--device %s needs PyTorch >= 2.0 (torch.set_default_device)" % args.device)
    torch.set_default_device(device)

torch.set_num_threads(args.threads)
TOKENS = 2048


class Session:
    def __init__(self, alpha, seq):
        self.alpha = alpha
        self.c = {
            "vocab": args.vocab, "hidden": args.hidden, "layers": args.layers, "heads": args.heads,
            "kv_heads": args.kv_heads, "head_dim": args.hidden // args.heads, "intermediate": args.intermediate,
            "rope_theta": 10000.0, "rms_eps": 1e-5, "max_pos": seq, "tied": False,
        }
        gen = torch.Generator().manual_seed(0)
        self.P = {n: t.to(device).clone().requires_grad_(True) for n, t in ref.make_weights(self.c, gen).items()}
        decay = [t for t in self.P.values() if t.dim() == 2]
        no_decay = [t for t in self.P.values() if t.dim() == 1]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                     lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
        batch = args.batch or max(1, TOKENS // seq)
        self.tokens_per_step = batch * seq
        tokens = torch.randint(0, self.c["vocab"], (batch, seq + 1), generator=gen)
        tokens = tokens.to(device)
        self.inputs, self.targets = tokens[:, :-1], tokens[:, 1:]

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss, _, _ = ref.loss_fn(self.P, self.c, self.inputs, self.targets, self.alpha)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(self.P.values()), 1.0)
        self.opt.step()


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


if args.serve:
    sessions = {}
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["cmd"] == "step":
            key = (float(msg["alpha"]), int(msg["seq"]))
            if key not in sessions:
                sessions[key] = Session(*key)
                sessions[key].step()
            sync()
            t0 = time.perf_counter()
            sessions[key].step()
            sync()
            reply = {"ms": (time.perf_counter() - t0) * 1000, "threads": torch.get_num_threads()}
        elif msg["cmd"] == "memory":
            reply = {"peak_rss_bytes": peak_rss_bytes()}
        elif msg["cmd"] == "quit":
            print(json.dumps({"ok": True}), flush=True)
            break
        else:
            reply = {"error": "unknown command " + str(msg["cmd"])}
        print(json.dumps(reply), flush=True)
else:
    s = Session(args.alpha, args.seq)
    for _ in range(args.warmup):
        s.step()
    sync()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        s.step()
    sync()
    dt = (time.perf_counter() - t0) / args.steps
    print(json.dumps({"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "threads": args.threads, "alpha": args.alpha, "seconds_per_step": dt,
                      "tokens_per_second": s.tokens_per_step / dt, "peak_rss_bytes": peak_rss_bytes()}))
