#!/usr/bin/env bash
# WebGPU backend on an NVIDIA GPU (H100/H200 class), against PyTorch on the same GPU.
# Records, with the GPU named: tokens/s for bench-tiny and for the ~100M config
# (hidden 768, 12 layers, 12 heads, intermediate 2048, seq 1024, batch 8), matmul
# GFLOP/s against the GPU's f32 peak, and the same training step in PyTorch eager
# f32 (bench/torch_step.py --device cuda) as a ratio. Budget: under 8 minutes.
#   bash bench/gpu.sh            the real run (prints a table; JSON in $RESULTS, default /tmp/jreg-gpu-results.json)
#   bash bench/gpu.sh --quick    tiny sizes on any adapter (lavapipe), to test the script
# Needs: Node ≥ 20 with this repository built (npm ci && npm run build), PyTorch
# with CUDA (python3), and a Vulkan loader: Dawn (npm "webgpu") drives the GPU
# through Vulkan. The NVIDIA driver ships the Vulkan ICD; the loader (libvulkan1)
# is installed below when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
quick=""
[ "${1:-}" = "--quick" ] && quick="--quick"
# a Python that has torch (PYTHON=… to choose; Debian's /usr/bin/python3 as a fallback)
PY="${PYTHON:-python3}"
"$PY" -c "import torch" 2>/dev/null || PY=/usr/bin/python3
out="${RESULTS:-${TMPDIR:-/tmp}/jreg-gpu-results${quick:+-quick}.json}"

if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing the Vulkan loader (libvulkan1)…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvulkan1 >/dev/null
  else
    echo "no Vulkan loader: install it (Debian/Ubuntu: sudo apt-get install libvulkan1) and rerun" >&2
    exit 1
  fi
fi
if [ -z "$quick" ] && ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
  echo "warning: no NVIDIA Vulkan ICD found (nvidia_icd.json); Dawn may pick a software adapter." >&2
  echo "  The driver's Vulkan part is in the 'libnvidia-gl-<version>' package on Ubuntu." >&2
fi
[ -f dist/backend/webgpu/webgpu-backend.js ] || npm run build >/dev/null

gpu_name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)"
# f32 (non-tensor-core) peak in GFLOP/s: H100 SXM 67 TFLOP/s, H100 PCIe 51, H200 67.
case "$gpu_name" in
  *H200*) peak=67000 ;;
  *H100*PCIe*) peak=51000 ;;
  *H100*) peak=67000 ;;
  *) peak="" ;;
esac
echo "GPU: ${gpu_name:-none reported by nvidia-smi}${peak:+ (f32 peak ${peak} GFLOP/s)}"

# 1. WebGPU: kernels, gpu.js peer, bench-tiny and ~100M training (one process)
timeout 300 node bench/gpu.bench.mjs $quick --100m --json "$out" ${peak:+--peak $peak} 2>&1 | grep -v "artificially reduced"

# 2. PyTorch eager f32 on the same GPU (or the CPU with --quick), same configs
if [ -n "$quick" ]; then
  device=cpu
  torch_tiny=$(timeout 120 "$PY" bench/torch_step.py --device cpu --alpha 3 --steps 1 --layers 2 --vocab 512 --batch 1 --seq 32)
else
  device=cuda
  torch_tiny=$(timeout 120 "$PY" bench/torch_step.py --device cuda --alpha 3 --steps 10)
fi
if [ -n "$quick" ]; then
  torch_100m=$(timeout 120 "$PY" bench/torch_step.py --device "$device" --alpha 3 --steps 1 --warmup 0 \
    --vocab 16384 --hidden 768 --layers 2 --heads 12 --kv-heads 12 --intermediate 2048 --batch 1 --seq 64)
else
  torch_100m=$(timeout 180 "$PY" bench/torch_step.py --device "$device" --alpha 3 --steps 5 \
    --vocab 16384 --hidden 768 --layers 12 --heads 12 --kv-heads 12 --intermediate 2048 --batch 8 --seq 1024)
fi

node -e '
const fs = require("fs");
const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const torch = [JSON.parse(process.argv[2]), JSON.parse(process.argv[3])];
r.torch = torch;
console.log(`\n| ${r.adapter} | ours tokens/s | PyTorch eager f32 (${torch[0].device}) tokens/s | ours / PyTorch |`);
console.log("|---|---:|---:|---:|");
r.training.forEach((t, i) => console.log(`| ${t.name} B=${t.batch} T=${t.seq} | ${t.tokensPerSecond.toFixed(0)} | ${torch[i].tokens_per_second.toFixed(0)} | ${(t.tokensPerSecond / torch[i].tokens_per_second).toFixed(2)} |`));
const mm = r.kernels.filter((k) => k.name.startsWith("matmul"));
for (const k of mm) console.log(`| ${k.name} | ${k.gflops.toFixed(0)} GFLOP/s${k.percentOfPeak ? ` = ${k.percentOfPeak.toFixed(0)} % of f32 peak` : ""} | | |`);
fs.writeFileSync(process.argv[1], JSON.stringify(r, null, 2));
' "$out" "$torch_tiny" "$torch_100m"
echo "results: $out"
