#!/usr/bin/env python3
"""Bahdanau et al.'s Figure 2 from two `compare` runs: BLEU by source length for the same models
trained on shorter and on longer sentences (e.g. at most 30 and at most 50 tokens), one SVG
line chart, the 95% bootstrap interval of every point as a vertical bar.
Usage: length_curves.py RUN_DIR... --models rnn bahdanau --out chart.svg"""
import argparse
import json
from xml.sax.saxutils import escape

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="compare output directories (compare.json)")
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    series = []  # (label, trained_max_len, buckets)
    for run in args.runs:
        data = json.load(open(f"{run}/compare.json"))
        for m in data["models"]:
            if m["model"] in args.models:
                series.append((f"{m['model']}, trained on <= {data['trained_max_len']} tokens", data["trained_max_len"],
                               m["buckets"], m["model"]))
    if not series:
        raise SystemExit(f"none of {args.models} in {args.runs}")
    labels = [f"{b['lo']}-{b['hi']}" for b in series[0][2]]
    w, h, left, right, top, bottom = 820, 420, 60, 300, 40, 60
    pw, ph = w - left - right, h - top - bottom
    x = lambda i: left + pw * (i + 0.5) / len(labels)
    y = lambda v: top + ph * (1 - v / 100.0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14">BLEU by source length, trained on short and on longer sentences</text>']
    for v in range(0, 101, 20):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v)}" y2="{y(v)}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y(v) + 4}" text-anchor="end">{v}</text>')
    for i, lab in enumerate(labels):
        out.append(f'<text x="{x(i)}" y="{top + ph + 18}" text-anchor="middle">{lab}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{h - 18}" text-anchor="middle">source length (tokens)</text>')
    models = sorted({s[3] for s in series}, key=args.models.index)
    for k, (label, trained, buckets, model) in enumerate(series):
        colour = COLOURS[models.index(model) % len(COLOURS)]
        dash = "" if trained == min(s[1] for s in series) else ' stroke-dasharray="6 4"'
        pts = [(x(i), y(b["bleu"])) for i, b in enumerate(buckets)]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="'
                   + " ".join(f"{px:.1f},{py:.1f}" for px, py in pts) + '"/>')
        for i, b in enumerate(buckets):
            lo, hi = b["bleu_ci"]
            out.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(lo):.1f}" y2="{y(hi):.1f}" stroke="{colour}"/>')
            # a filled marker inside the trained range, an open one past it
            fill = colour if b["hi"] <= trained else "white"
            out.append(f'<circle cx="{x(i):.1f}" cy="{y(b["bleu"]):.1f}" r="3.5" fill="{fill}" stroke="{colour}"/>')
        ly = top + 14 + 20 * k
        out.append(f'<line x1="{left + pw + 15}" x2="{left + pw + 45}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{left + pw + 52}" y="{ly + 4}">{escape(label)}</text>')
    ly = top + 14 + 20 * len(series) + 10
    out.append(f'<text x="{left + pw + 15}" y="{ly}" fill="#555">filled: lengths seen in training</text>')
    out.append("</svg>")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
