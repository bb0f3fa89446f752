"""An independent reference for the lab's generation: greedy decoding of the fixtures in float64 numpy.

Written from Hugging Face transformers' semantics (LlamaForCausalLM: RMSNorm, rotate_half RoPE, grouped-query
attention, SiLU-gated MLP, tied lm_head; OPTForCausalLM: pre-LayerNorm, learned positions at offset 2, ReLU, tied
lm_head), reading the safetensors bytes directly. No KV cache: every step runs the whole sequence again, so it checks
the lab's cached decoding as well as its forward pass. Prompt ids come in (the tokenizer is tested on its own).

    python3 tests/reference/greedy.py ../shared/models/stories260K 64 1,365,1074,...

prints the new ids, comma-separated. tests/model/generate.test.ts holds the figures it printed.
"""

import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    kinds = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=kinds[info["dtype"]]).reshape(info["shape"])
        out[name] = arr.astype(np.float64)
    return out


def softmax_causal(scores):
    T = scores.shape[-1]
    mask = np.triu(np.ones((T, T), dtype=bool), 1)
    scores = np.where(mask, -np.inf, scores)
    scores = scores - scores.max(-1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(-1, keepdims=True)


def attention(q, k, v, H, HKV, D):
    T = q.shape[0]
    q = q.reshape(T, H, D).transpose(1, 0, 2)
    k = np.repeat(k.reshape(T, HKV, D).transpose(1, 0, 2), H // HKV, axis=0)
    v = np.repeat(v.reshape(T, HKV, D).transpose(1, 0, 2), H // HKV, axis=0)
    p = softmax_causal(q @ k.transpose(0, 2, 1) / np.sqrt(D))
    return (p @ v).transpose(1, 0, 2).reshape(T, H * D)


def llama_logits(w, cfg, ids):
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    HKV = cfg.get("num_key_value_heads", H)
    D = C // H
    eps = cfg["rms_norm_eps"]
    T = len(ids)
    inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (np.arange(0, D, 2) / D))
    ang = np.outer(np.arange(T), inv)
    cos = np.concatenate([np.cos(ang)] * 2, -1)
    sin = np.concatenate([np.sin(ang)] * 2, -1)

    def rope(x, heads):
        x = x.reshape(T, heads, D)
        half = np.concatenate([-x[..., D // 2 :], x[..., : D // 2]], -1)
        return (x * cos[:, None] + half * sin[:, None]).reshape(T, heads * D)

    def norm(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g

    h = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = norm(h, w[p + "input_layernorm.weight"])
        q = rope(a @ w[p + "self_attn.q_proj.weight"].T, H)
        k = rope(a @ w[p + "self_attn.k_proj.weight"].T, HKV)
        v = a @ w[p + "self_attn.v_proj.weight"].T
        h = h + attention(q, k, v, H, HKV, D) @ w[p + "self_attn.o_proj.weight"].T
        f = norm(h, w[p + "post_attention_layernorm.weight"])
        gate = f @ w[p + "mlp.gate_proj.weight"].T
        up = f @ w[p + "mlp.up_proj.weight"].T
        h = h + (gate / (1 + np.exp(-gate)) * up) @ w[p + "mlp.down_proj.weight"].T
    h = norm(h, w["model.norm.weight"])
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return h[-1] @ head.T


def opt_logits(w, cfg, ids):
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    D = C // H
    T = len(ids)
    p0 = "model.decoder."

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-5) * w[name + ".weight"] + w[name + ".bias"]

    def lin(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    h = w[p0 + "embed_tokens.weight"][ids] + w[p0 + "embed_positions.weight"][np.arange(T) + 2]
    for i in range(cfg["num_hidden_layers"]):
        p = f"{p0}layers.{i}."
        a = ln(h, p + "self_attn_layer_norm")
        q = lin(a, p + "self_attn.q_proj")
        k = lin(a, p + "self_attn.k_proj")
        v = lin(a, p + "self_attn.v_proj")
        h = h + lin(attention(q, k, v, H, H, D), p + "self_attn.out_proj")
        f = ln(h, p + "final_layer_norm")
        h = h + lin(np.maximum(lin(f, p + "fc1"), 0), p + "fc2")
    h = ln(h, p0 + "final_layer_norm")
    return h[-1] @ w[p0 + "embed_tokens.weight"].T


def main():
    folder, steps, prompt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cfg = json.load(open(f"{folder}/config.json"))
    w = read_safetensors(f"{folder}/model.safetensors")
    logits = opt_logits if cfg["model_type"] == "opt" else llama_logits
    ids = [int(t) for t in prompt.split(",")]
    new = []
    for _ in range(steps):
        nxt = int(np.argmax(logits(w, cfg, ids)))
        ids.append(nxt)
        new.append(nxt)
        if nxt == cfg.get("eos_token_id"):
            break
    print(",".join(map(str, new)))


main()
