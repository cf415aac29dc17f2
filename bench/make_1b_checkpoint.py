#!/usr/bin/python3
# Usage: /usr/bin/python3 bench/make_1b_checkpoint.py DIR   (~2.5 GB; never commit it)
# A 1B-class Llama checkpoint with random BF16 weights (not committed): hidden 2048,
# 16 layers, heads 32 / kv 8, intermediate 8192, vocab 128,256, tied; two shards.
import json, os, struct, torch
torch.manual_seed(0); torch.set_num_threads(1)
import sys
D = sys.argv[1] if len(sys.argv) > 1 else "/tmp/jreg-1b/ckpt"; os.makedirs(D, exist_ok=True)
C, L, H, G, F, V = 2048, 16, 32, 8, 8192, 128256
kv = G * (C // H)
cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": V, "hidden_size": C, "num_hidden_layers": L,
       "num_attention_heads": H, "num_key_value_heads": G, "intermediate_size": F, "hidden_act": "silu",
       "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
       "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
       "tie_word_embeddings": True, "torch_dtype": "bfloat16"}
json.dump(cfg, open(f"{D}/config.json", "w"), indent=2)
shapes = {"model.embed_tokens.weight": [V, C], "model.norm.weight": [C]}
for l in range(L):
    p = f"model.layers.{l}."
    shapes.update({p + "input_layernorm.weight": [C], p + "post_attention_layernorm.weight": [C],
        p + "self_attn.q_proj.weight": [C, C], p + "self_attn.k_proj.weight": [kv, C], p + "self_attn.v_proj.weight": [kv, C],
        p + "self_attn.o_proj.weight": [C, C], p + "mlp.gate_proj.weight": [F, C], p + "mlp.up_proj.weight": [F, C], p + "mlp.down_proj.weight": [C, F]})
names = sorted(shapes); half = len(names) // 2
wm = {}
for i, part in enumerate([names[:half], names[half:]]):
    file = f"model-{i+1:05d}-of-00002.safetensors"
    header, off = {}, 0
    for n in part:
        b = 2
        for d in shapes[n]: b *= d
        header[n] = {"dtype": "BF16", "shape": shapes[n], "data_offsets": [off, off + b]}; off += b; wm[n] = file
    h = json.dumps(header).encode(); h += b" " * ((8 - len(h) % 8) % 8)
    with open(f"{D}/{file}", "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for n in part:
            numel = 1
            for d in shapes[n]: numel *= d
            std = 1.0 if n.endswith("norm.weight") else 0.02
            rows = shapes[n][0]; step = max(1, (1 << 22) // (numel // rows))
            for r in range(0, rows, step):
                cnt = min(step, rows - r) * (numel // rows)
                t = torch.randn(cnt) * std
                if n.endswith("norm.weight"): t = 1 + 0.1 * t
                f.write(t.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
json.dump({"metadata": {}, "weight_map": wm}, open(f"{D}/model.safetensors.index.json", "w"))
print("done")
