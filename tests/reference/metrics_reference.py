#!/usr/bin/env python3
"""Plain reimplementations of chrF/chrF++ (sacreBLEU 2.x definitions) and of bootstrap resampling
(sacreBLEU's --confidence and --paired-bs procedure, with splitmix64 indices as xgrad draws
them), written from the formulas without xgrad's code. Prints the expected values that
tests/test_metrics.cpp checks:  /usr/bin/python3 tests/reference/metrics_reference.py
"""
import math
from collections import Counter

PUNCT = set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~')


def char_ngrams(s, n):
    s = ''.join(s.split())
    return Counter(s[i:i + n] for i in range(len(s) - n + 1))


def words(s):
    out = []
    for w in s.split():
        if len(w) > 1 and w[-1] in PUNCT:
            out += [w[:-1], w[-1]]
        elif len(w) > 1 and w[0] in PUNCT:
            out += [w[0], w[1:]]
        else:
            out.append(w)
    return out


def word_ngrams(ws, n):
    return Counter(' '.join(ws[i:i + n]) for i in range(len(ws) - n + 1))


def chrf_stats(hyp, ref, char_order=6, word_order=0):
    stats = []
    hs = [char_ngrams(hyp, n) for n in range(1, char_order + 1)]
    rs = [char_ngrams(ref, n) for n in range(1, char_order + 1)]
    hs += [word_ngrams(words(hyp), n) for n in range(1, word_order + 1)]
    rs += [word_ngrams(words(ref), n) for n in range(1, word_order + 1)]
    for h, r in zip(hs, rs):
        match = sum(min(c, r[g]) for g, c in h.items() if g in r)
        stats += [sum(h.values()) if r else 0, sum(r.values()), match]
    return stats


def chrf_score(stats, beta=2.0, eps_smoothing=False):
    factor = beta ** 2
    f_sum, prec_sum, rec_sum, eff = 0.0, 0.0, 0.0, 0
    orders = len(stats) // 3
    for i in range(orders):
        h, r, m = stats[3 * i:3 * i + 3]
        p = m / h if h > 0 else 1e-16
        rc = m / r if r > 0 else 1e-16
        d = factor * p + rc
        f_sum += (1 + factor) * p * rc / d if d > 0 else 1e-16
        if h > 0 and r > 0:
            prec_sum, rec_sum, eff = prec_sum + p, rec_sum + rc, eff + 1
    if eps_smoothing:
        return 100 * f_sum / orders
    if eff == 0:
        return 0.0
    p, rc = prec_sum / eff, rec_sum / eff
    return 100 * (1 + factor) * p * rc / (factor * p + rc) if p + rc else 0.0


def corpus_chrf(hyps, refs, word_order=0, beta=2.0, eps_smoothing=False):
    total = None
    for h, r in zip(hyps, refs):
        s = chrf_stats(h, r, 6, word_order)
        total = s if total is None else [a + b for a, b in zip(total, s)]
    return chrf_score(total, beta, eps_smoothing)


def bleu_stats(hyp, ref):  # tokenize 'none': whitespace words
    h, r = hyp.split(), ref.split()
    row = [0] * 10
    for n in range(1, 5):
        hc = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
        rc = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
        row[n - 1] = sum(min(c, rc[g]) for g, c in hc.items())
        row[4 + n - 1] = sum(hc.values())
    row[8], row[9] = len(h), len(r)
    return row


def bleu_score(s):
    correct, total, sys_len, ref_len = s[0:4], s[4:8], s[8], s[9]
    bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0)
    if not any(correct):
        return 0.0
    precisions, smooth = [0.0] * 4, 1.0
    for n in range(4):
        if total[n] == 0:
            break
        if correct[n] == 0:
            smooth *= 2
            precisions[n] = 100.0 / (smooth * total[n])
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    return bp * math.exp(sum(math.log(p) if p > 0 else -9999999999.0 for p in precisions) / 4)


MASK = (1 << 64) - 1


def indices(n, samples, seed):
    state, out = seed, []
    for _ in range(n * samples):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        out.append((z ^ (z >> 31)) % n)
    return [out[s * n:(s + 1) * n] for s in range(samples)]


def resampled(stats, idx, score):
    return [score([sum(stats[i][j] for i in pick) for j in range(len(stats[0]))]) for pick in idx]


def interval(scores):
    s = sorted(scores)
    lower = len(s) // 40
    return sum(s) / len(s), s[lower], s[len(s) - lower - 1]


# The test set of tests/test_metrics.cpp: 40 sentence pairs made by a fixed rule.
VOCAB = "the a cat dog sees chases small big red house tree bird".split()


def sentence(k, length, shift):
    return ' '.join(VOCAB[(k * 7 + i * 3 + shift * (i % 3 == 0)) % len(VOCAB)] for i in range(length))


def test_set():
    refs = [sentence(k, 4 + k % 9, 0) for k in range(40)]
    sys_a = [sentence(k, 4 + k % 9, 1 if k % 4 else 0) for k in range(40)]
    sys_b = [sentence(k, 4 + (k + 1) % 9, 2 if k % 3 else 0) for k in range(40)]
    return refs, sys_a, sys_b


if __name__ == '__main__':
    cases = [("Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.",
              "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."),
             ("(hi) it's a test, isn't it?", "hi, it is a test -- isn't it?")]
    for h, r in cases:
        print(f"chrF++ {corpus_chrf([h], [r], word_order=2):.10f}  chrF {corpus_chrf([h], [r]):.10f}  {h!r}")
    refs, a, b = test_set()
    print(f"test set chrF++ A {corpus_chrf(a, refs, word_order=2):.10f}")
    for name, hyps in (("A", a), ("B", b)):
        st = [bleu_stats(h, r) for h, r in zip(hyps, refs)]
        mean, lo, hi = interval(resampled(st, indices(40, 1000, 12345), bleu_score))
        print(f"BLEU {name}: {bleu_score([sum(c) for c in zip(*st)]):.10f} bootstrap mean {mean:.10f} lo {lo:.10f} hi {hi:.10f}")
        cs = [chrf_stats(h, r) for h, r in zip(hyps, refs)]
        mean, lo, hi = interval(resampled(cs, indices(40, 1000, 12345), chrf_score))
        print(f"chrF {name}: {chrf_score([sum(c) for c in zip(*cs)]):.10f} bootstrap mean {mean:.10f} lo {lo:.10f} hi {hi:.10f}")
    sa = [bleu_stats(h, r) for h, r in zip(a, refs)]
    sb = [bleu_stats(h, r) for h, r in zip(b, refs)]
    idx = indices(40, 1000, 12345)
    base, sys_ = resampled(sa, idx, bleu_score), resampled(sb, idx, bleu_score)
    diffs = [abs(x - y) for x, y in zip(sys_, base)]
    mean = sum(diffs) / len(diffs)
    observed = abs(bleu_score([sum(c) for c in zip(*sa)]) - bleu_score([sum(c) for c in zip(*sb)]))
    c = sum(1 for d in diffs if d - mean > observed)
    print(f"paired BLEU A vs B: p = {(c + 1) / 1001:.10f}")
