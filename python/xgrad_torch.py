"""Load an xgrad-translate training directory into PyTorch (Debian's python3-torch, numpy).

    import xgrad_torch
    loaded = xgrad_torch.load("results/length/bahdanau")   # config.json, *.vocab, model.safetensors
    print(xgrad_torch.translate(loaded, ["the cat sees the dog ."]))

The models are bench/torch_models.py's PyTorch versions of examples/translation/models.cpp (rnn,
bahdanau, and the pre-LN transformer with sinusoidal positions); the weights are renamed to
PyTorch's layout (a transformer's q, k and v projections into in_proj_weight). `translate` decodes
greedily with xgrad's output limit (1.5 x source tokens + 10, within the model's positions), so a
sentence gets the translation `xgrad-translate translate` prints, up to float rounding at near
ties (tests/python_interop_test.py). Other variants (local attention, window, linear or grouped
heads, other position encodings, post-LN) have no PyTorch version here and are refused by name.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import torch_models  # noqa: E402

PAD, UNK, BOS, EOS = 0, 1, 2, 3
_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    """{name: numpy array} and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}")
        tensors[name] = np.frombuffer(data[begin:end], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors, header.get("__metadata__", {})


class Loaded:
    def __init__(self, model, config, src_words, tgt_words):
        self.model, self.config = model, config
        self.src_words, self.tgt_words = src_words, tgt_words
        self.src_ids = {w: i for i, w in enumerate(src_words)}


def _read_vocab(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def _supported(config, directory):
    model = config["model"]
    reasons = []
    if model == "bahdanau" and config["attention_kind"] != "standard":
        reasons.append(f"attention {config['attention_kind']}")
    if model == "transformer":
        if config["attention_kind"] != "standard":
            reasons.append(f"attention {config['attention_kind']}")
        if config["positions"] != "sinusoidal":
            reasons.append(f"positions {config['positions']}")
        if not config["pre_ln"]:
            reasons.append("post-LN")
        if config.get("tie_embeddings", "none") != "none":
            reasons.append(f"tied embeddings ({config['tie_embeddings']})")
    if config.get("tokenizer", "word") != "word":
        reasons.append(f"tokenizer {config['tokenizer']} (this module splits on whitespace)")
    if reasons:
        raise ValueError(f"{directory}: a {model} with {', '.join(reasons)} has no PyTorch version in bench/torch_models.py")


def _transformer_state(w):
    """xgrad's transformer names -> nn.Transformer's."""
    out = {}
    for name, value in w.items():
        parts = name.split(".")
        if parts[0] in ("encoder", "decoder") and parts[1].startswith("layers_"):
            stack, layer, rest = parts[0], parts[1][len("layers_"):], parts[2:]
            prefix = f"transformer.{stack}.layers.{layer}."
            if rest[0] in ("self_attn", "cross_attn"):
                attn = prefix + ("self_attn" if rest[0] == "self_attn" else "multihead_attn")
                if rest[1] == "out_proj":
                    out[f"{attn}.out_proj.{rest[2]}"] = value
                continue  # q, k, v: packed below
            if rest[0] == "ff":
                out[prefix + ".".join(rest[1:])] = value
            else:
                out[prefix + ".".join(rest)] = value
        elif parts[0] in ("encoder", "decoder") and parts[1] == "final_norm":
            out[f"transformer.{parts[0]}.norm.{parts[2]}"] = value
        else:
            out[name] = value
    for stack in ("encoder", "decoder"):
        layer = 0
        while f"{stack}.layers_{layer}.self_attn.q_proj.weight" in w:
            for src, dst in (("self_attn", "self_attn"), ("cross_attn", "multihead_attn")):
                base = f"{stack}.layers_{layer}.{src}"
                if f"{base}.q_proj.weight" not in w:
                    continue
                for kind in ("weight", "bias"):
                    out[f"transformer.{stack}.layers.{layer}.{dst}.in_proj_{kind}"] = np.concatenate(
                        [w[f"{base}.{p}_proj.{kind}"] for p in ("q", "k", "v")], 0)
            layer += 1
    return out


def load(directory):
    """The training directory's model (eval mode, float32) and vocabularies."""
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    _supported(config, directory)
    weights, _ = read_safetensors(os.path.join(directory, "model.safetensors"))
    kind, V_src, V_tgt = config["model"], config["src_vocab"], config["tgt_vocab"]
    if kind == "rnn":
        model = torch_models.RnnSeq2Seq(V_src, config["embedding"], config["hidden"], tgt_vocab=V_tgt)
        state = dict(weights)
    elif kind == "bahdanau":
        model = torch_models.BahdanauSeq2Seq(V_src, config["embedding"], config["hidden"], config["attention"], tgt_vocab=V_tgt)
        state = {n.replace("attention.", "", 1) if n.startswith("attention.") else n: v for n, v in weights.items()}
    elif kind == "transformer":
        model = torch_models.TransformerSeq2Seq(V_src, config["d_model"], config["heads"], config["encoder_layers"],
                                                config["ff"], 0.0, tgt_vocab=V_tgt, decoder_layers=config["decoder_layers"],
                                                max_positions=config["max_positions"])
        state = _transformer_state(weights)
        # xgrad saves its sinusoid table (computed in double, then rounded): it must be the one PyTorch computes.
        pe = state.pop("positions.pe")
        if pe.shape != tuple(model.pe.shape) or np.abs(pe - model.pe.numpy()).max() > 1e-4:  # float32 sin of large angles
            raise ValueError(f"{directory}: positions.pe {pe.shape} differs from the sinusoid table {tuple(model.pe.shape)}")
        state["pe"] = pe
    else:
        raise ValueError(f"{directory}: unknown model {kind}")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unused = sorted(set(state) - set(expected))
    if missing or unused:
        raise ValueError(f"{directory}: weights do not map onto the PyTorch model (missing {missing[:5]}, unused {unused[:5]})")
    for name, value in state.items():
        if tuple(value.shape) != tuple(expected[name].shape):
            raise ValueError(f"{directory}: {name} has shape {value.shape}, the PyTorch model {tuple(expected[name].shape)}")
    model.load_state_dict({n: torch.from_numpy(np.array(v, dtype=np.float32)) for n, v in state.items()})
    model.eval()
    return Loaded(model, config, _read_vocab(os.path.join(directory, "src.vocab")), _read_vocab(os.path.join(directory, "tgt.vocab")))


def translate(loaded, sentences, max_len_a=1.5, max_len_b=10):
    """Greedy translations (whitespace-tokenised input, detokenised by joining with spaces)."""
    longest = loaded.config["max_positions"] if loaded.config["model"] == "transformer" else math.inf
    out = []
    with torch.no_grad():
        for sentence in sentences:
            words = sentence.split()
            src = torch.tensor([[loaded.src_ids.get(w, UNK) for w in words]], dtype=torch.long)
            limit = min(int(max_len_a * len(words)) + max_len_b, longest)
            state, prev, tokens = loaded.model.start(src), torch.tensor([BOS]), []
            for t in range(limit):
                best = int(loaded.model.step(state, prev).argmax(-1)[0])
                if t + 1 >= limit or best == EOS:
                    break
                tokens.append(best)
                prev = torch.tensor([best])
            out.append(" ".join(loaded.tgt_words[i] for i in tokens))
    return out
