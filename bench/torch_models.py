"""PyTorch 1.13 references of the three xgrad translation models (examples/translation/models.cpp),
with the same architecture, sizes and initialisation scheme, for the side-by-side benchmark."""
import math

import torch
from torch import nn


class RnnSeq2Seq(nn.Module):
    """GRU encoder-decoder; the decoder input is [embedding; c], c the encoder's final state."""

    def __init__(self, vocab, emb=128, hidden=256, tgt_vocab=None):
        super().__init__()
        tgt_vocab = tgt_vocab or vocab
        self.src_embedding = nn.Embedding(vocab, emb, padding_idx=0)
        self.tgt_embedding = nn.Embedding(tgt_vocab, emb, padding_idx=0)
        self.encoder = nn.GRU(emb, hidden, batch_first=True)
        self.decoder = nn.GRUCell(emb + hidden, hidden)
        self.output = nn.Linear(hidden, tgt_vocab)

    def start(self, src):
        _, h = self.encoder(self.src_embedding(src))
        return {"c": h[0], "h": h[0]}

    def forward(self, src, tgt_in):
        state = self.start(src)
        c, h = state["c"], state["h"]
        e = self.tgt_embedding(tgt_in)
        states = []
        for t in range(tgt_in.shape[1]):
            h = self.decoder(torch.cat([e[:, t], c], 1), h)
            states.append(h)
        return self.output(torch.stack(states, 1))

    def step(self, state, prev):
        state["h"] = self.decoder(torch.cat([self.tgt_embedding(prev), state["c"]], 1), state["h"])
        return torch.log_softmax(self.output(state["h"]), -1)


class BahdanauSeq2Seq(nn.Module):
    """Bidirectional GRU encoder, additive attention, GRU decoder, deep output."""

    def __init__(self, vocab, emb=128, hidden=256, attention=256, tgt_vocab=None):
        super().__init__()
        enc = hidden // 2
        tgt_vocab = tgt_vocab or vocab
        self.src_embedding = nn.Embedding(vocab, emb, padding_idx=0)
        self.tgt_embedding = nn.Embedding(tgt_vocab, emb, padding_idx=0)
        self.encoder = nn.GRU(emb, enc, batch_first=True, bidirectional=True)
        self.init = nn.Linear(enc, hidden)
        self.query_layer = nn.Linear(hidden, attention, bias=False)
        self.key_layer = nn.Linear(2 * enc, attention, bias=False)
        self.energy_layer = nn.Linear(attention, 1, bias=False)
        self.decoder = nn.GRUCell(emb + 2 * enc, hidden)
        self.deep_output = nn.Linear(hidden + 2 * enc + emb, hidden)
        self.output = nn.Linear(hidden, tgt_vocab)

    def start(self, src):
        ann, h = self.encoder(self.src_embedding(src))
        return {"ann": ann, "keys": self.key_layer(ann), "s": torch.tanh(self.init(h[1]))}

    def attend(self, state):
        scores = self.energy_layer(torch.tanh(self.query_layer(state["s"])[:, None] + state["keys"])).squeeze(2)
        w = torch.softmax(scores, -1)
        return torch.bmm(w[:, None], state["ann"]).squeeze(1)

    def forward(self, src, tgt_in):
        state = self.start(src)
        e = self.tgt_embedding(tgt_in)
        states, contexts = [], []
        for t in range(tgt_in.shape[1]):
            ctx = self.attend(state)
            state["s"] = self.decoder(torch.cat([e[:, t], ctx], 1), state["s"])
            states.append(state["s"])
            contexts.append(ctx)
        feats = torch.cat([torch.stack(states, 1), torch.stack(contexts, 1), e], 2)
        return self.output(torch.tanh(self.deep_output(feats)))

    def step(self, state, prev):
        e = self.tgt_embedding(prev)
        ctx = self.attend(state)
        state["s"] = self.decoder(torch.cat([e, ctx], 1), state["s"])
        return torch.log_softmax(self.output(torch.tanh(self.deep_output(torch.cat([state["s"], ctx, e], 1)))), -1)


class TransformerSeq2Seq(nn.Module):
    """Pre-LN encoder-decoder, d 128, 4 heads, 2+2 layers, ff 512; embeddings N(0, d^-1/2) times sqrt(d)."""

    def __init__(self, vocab, d=128, heads=4, layers=2, ff=512, dropout=0.0, tgt_vocab=None, decoder_layers=None,
                 max_positions=512):
        super().__init__()
        self.d, self.num_heads = d, heads
        tgt_vocab = tgt_vocab or vocab
        self.src_embedding = nn.Embedding(vocab, d, padding_idx=0)
        self.tgt_embedding = nn.Embedding(tgt_vocab, d, padding_idx=0)
        with torch.no_grad():
            for table in (self.src_embedding, self.tgt_embedding):
                table.weight.normal_(0, d ** -0.5)
                table.weight[0].zero_()
        pe = torch.zeros(max_positions, d)
        pos = torch.arange(max_positions, dtype=torch.float32)[:, None]
        div = torch.pow(10000.0, torch.arange(0, d, 2, dtype=torch.float32) / d)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos / div), torch.cos(pos / div)
        self.register_buffer("pe", pe)
        self.transformer = nn.Transformer(d, heads, layers, decoder_layers or layers, ff, dropout, batch_first=True,
                                          norm_first=True)
        self.output = nn.Linear(d, tgt_vocab)

    def embed(self, table, ids):
        return table(ids) * math.sqrt(self.d) + self.pe[: ids.shape[1]]

    def forward(self, src, tgt_in):
        mask = self.transformer.generate_square_subsequent_mask(tgt_in.shape[1])
        y = self.transformer(self.embed(self.src_embedding, src), self.embed(self.tgt_embedding, tgt_in), tgt_mask=mask)
        return self.output(y)

    def start(self, src):
        return {"memory": self.transformer.encoder(self.embed(self.src_embedding, src)), "prefix": None}

    def step(self, state, prev):
        # Re-reads the whole prefix every step, as nn.Transformer users do (and as xgrad does).
        prefix = prev[:, None] if state["prefix"] is None else torch.cat([state["prefix"], prev[:, None]], 1)
        state["prefix"] = prefix
        mask = self.transformer.generate_square_subsequent_mask(prefix.shape[1])
        y = self.transformer.decoder(self.embed(self.tgt_embedding, prefix), state["memory"], tgt_mask=mask)
        return torch.log_softmax(self.output(y[:, -1]), -1)


    def start_cached(self, src):
        """Incremental decoding with cached keys and values, written out over nn.Transformer's own
        weights: each step projects only the new position (what a careful PyTorch user would do)."""
        memory = self.transformer.encoder(self.embed(self.src_embedding, src))
        cross = []
        for layer in self.transformer.decoder.layers:
            w, b = layer.multihead_attn.in_proj_weight, layer.multihead_attn.in_proj_bias
            d = self.d
            k = torch.nn.functional.linear(memory, w[d:2 * d], b[d:2 * d])
            v = torch.nn.functional.linear(memory, w[2 * d:], b[2 * d:])
            cross.append((self.heads(k), self.heads(v)))
        return {"cross": cross, "self": [None] * len(cross), "pos": 0}

    def heads(self, x):  # (B, T, D) -> (B, H, T, D/H)
        B, T, D = x.shape
        return x.view(B, T, self.num_heads, D // self.num_heads).transpose(1, 2)

    def attend(self, q, k, v, out_proj):
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1)
        B, H, T, dh = q.shape
        return out_proj((w @ v).transpose(1, 2).reshape(B, T, H * dh))

    def step_cached(self, state, prev):
        d, pos = self.d, state["pos"]
        x = self.tgt_embedding(prev[:, None]) * math.sqrt(d) + self.pe[pos:pos + 1]
        state["pos"] += 1
        for i, layer in enumerate(self.transformer.decoder.layers):
            h = layer.norm1(x)
            q, k, v = torch.nn.functional.linear(h, layer.self_attn.in_proj_weight, layer.self_attn.in_proj_bias).chunk(3, -1)
            q, k, v = self.heads(q), self.heads(k), self.heads(v)
            if state["self"][i] is not None:
                k, v = torch.cat([state["self"][i][0], k], 2), torch.cat([state["self"][i][1], v], 2)
            state["self"][i] = (k, v)
            x = x + self.attend(q, k, v, layer.self_attn.out_proj)
            h = layer.norm2(x)
            w, b = layer.multihead_attn.in_proj_weight, layer.multihead_attn.in_proj_bias
            q = self.heads(torch.nn.functional.linear(h, w[:d], b[:d]))
            x = x + self.attend(q, *state["cross"][i], layer.multihead_attn.out_proj)
            x = x + layer.linear2(torch.relu(layer.linear1(layer.norm3(x))))
        return torch.log_softmax(self.output(self.transformer.decoder.norm(x)[:, -1]), -1)


# Benchmark sizes: "toy" (the toy task's models) and "real" (a base transformer, GRUs of 512, a
# subword vocabulary of 8,000). bench/xgrad_worker.cpp builds the same.
SIZES = {
    "toy": {"vocab": 64, "batch": 64, "length": 30,
            "rnn": {}, "bahdanau": {}, "transformer": {}},
    "real": {"vocab": 8000, "batch": 64, "length": 32,
             "rnn": {"emb": 256, "hidden": 512},
             "bahdanau": {"emb": 256, "hidden": 512, "attention": 512},
             "transformer": {"d": 512, "heads": 8, "layers": 6, "ff": 2048}},
}


def make_model(name, vocab=64, size="toy"):
    kwargs = SIZES[size][name]
    return {"rnn": RnnSeq2Seq, "bahdanau": BahdanauSeq2Seq, "transformer": TransformerSeq2Seq}[name](vocab, **kwargs)
