#!/usr/bin/env python3
"""compare's report.html and explain's attention explorer, loaded in a real headless chromium.

  browser_test.py test XGRAD_TRANSLATE WORK_DIR      (ctest: trains tiny models, writes and checks pages)
  browser_test.py screenshot --report R --explorer E --out DIR   (checks real pages, saves PNGs for docs)

Each page: no script or console errors; the expected number of layers, heads, rows and charts in
the DOM; hovering a word or clicking a head or a step changes what is highlighted or explained;
the explorer's recomputed softmax matches the model's weights; a screenshot is not blank.
Exits 77 (ctest: skipped) only when no chromium and chromedriver are installed.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import webdriver  # noqa: E402

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def page_data(path):
    text = open(path, encoding="utf-8").read()
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S).group(1).replace("<\\/", "</"))


def settle(b, ready):
    b.wait_for(f"window.{ready} === true")
    errors = b.run("return window.xgradErrors;") + b.console_errors()
    return errors


def check_screenshot(b, path, what):
    png = b.screenshot(path)
    colours = b.colour_count(png)
    check(colours > 20, f"{what}: the screenshot is not blank ({colours} colours sampled, {len(png)} bytes)")


def check_transformer_explorer(b, path, shot=None):
    data = page_data(path)
    b.open(path)
    errors = settle(b, "explorerReady")
    check(not errors, f"explorer {os.path.basename(path)}: no script or console errors {errors}")
    groups = data["groups"]
    print(f"info {os.path.basename(path)}: {os.path.getsize(path) / 1e6:.2f} MB, drawn {b.run('return window.explorerReadyMs;'):.0f} ms "
          "after navigation started (measured, not asserted: no timed checks in the test suite)")
    check(b.run("return document.querySelectorAll('#groups button').length;") == len(groups), "explorer: one tab per attention group")
    for n, g in enumerate(groups):
        b.click(f"#groups button:nth-child({n + 1})")
        layers, heads = len(g["layers"]), len(g["layers"][0]["heads"])
        thumbs = b.run("return document.querySelectorAll('#thumbs canvas.thumb').length;")
        check(thumbs == layers * heads, f"explorer {g['id']}: {thumbs} thumbnails for {layers} layers x {heads} heads")
        check(b.run("return document.querySelectorAll('#controls button.layer').length;") == layers, f"explorer {g['id']}: a button per layer")
        check(b.run("return document.querySelectorAll('#head-view text.tok-q').length;") == len(g["queries"]),
              f"explorer {g['id']}: one query word per position ({len(g['queries'])})")
    b.click("#groups button:nth-child(1)")
    # Hover: the lines of the hovered word light up, and another word lights up others.
    b.hover("#head-view text.tok-q[data-n='0']")
    first = b.run("return Array.from(document.querySelectorAll('#head-view line.hl')).map(l => l.getAttribute('data-j') + ':' + l.getAttribute('data-head')).join(',');")
    focused = b.run("return document.getElementById('head-view').classList.contains('focus');")
    b.hover("#head-view text.tok-q[data-n='1']")
    second = b.run("return Array.from(document.querySelectorAll('#head-view line.hl')).map(l => l.getAttribute('data-i')).join(',');")
    check(focused and first != "" and second != "" and set(second.split(",")) == {"1"},
          "explorer: hovering a query word highlights its own lines only")
    b.hover("#head-view text.tok-k[data-n='0']")
    keys = b.run("return Array.from(document.querySelectorAll('#head-view line.hl')).map(l => l.getAttribute('data-j'));")
    check(len(keys) > 0 and set(keys) == {"0"}, "explorer: hovering a key word highlights what attends to it")
    # Click a thumbnail (last layer, last head): the head view shows that head alone, the computation follows.
    layers, heads = len(groups[0]["layers"]), len(groups[0]["layers"][0]["heads"])
    b.click(f"#thumbs canvas.thumb[data-layer='{layers - 1}'][data-head='{heads - 1}']")
    title = b.run("return document.getElementById('computation-title').textContent;")
    check(f"layer {layers}, head {heads}," in title, f"explorer: clicking a thumbnail explains that head ('{title}')")
    shown_heads = b.run("return Array.from(new Set(Array.from(document.querySelectorAll('#head-view line')).map(l => l.getAttribute('data-head'))));")
    check(shown_heads == [str(heads - 1)], f"explorer: the head view then draws head {heads} alone ({shown_heads})")
    check(b.run("return document.querySelector('#thumbs canvas.thumb.selected').getAttribute('data-head');") == str(heads - 1),
          "explorer: the chosen thumbnail is marked")
    # Click a query word: the computation follows it; its softmax equals the model's weights.
    b.click("#head-view text.tok-q[data-n='2']")
    title = b.run("return document.getElementById('computation-title').textContent;")
    check("query 3 " in title, f"explorer: clicking a query word explains it ('{title}')")
    for n in range(len(groups)):
        b.click(f"#groups button:nth-child({n + 1})")
        rows = b.run("""return Array.from(document.querySelectorAll('#computation-table tr')).slice(1)
                        .map(r => [r.children[6].textContent, r.children[7].textContent]);""")
        worst = max(abs(float(a) - float(m)) for a, m in rows)
        check(len(rows) == len(groups[n]["keys"]) and worst <= 0.003,
              f"explorer {groups[n]['id']}: softmax(q K^T/sqrt(d) + bias) recomputed in the page matches the model's weights "
              f"(largest difference {worst:.4f} over {len(rows)} keys)")
    b.click("#groups button:nth-child(1)")
    if shot:
        check_screenshot(b, shot, "explorer")


def check_recurrent_explorer(b, path, shot=None):
    data = page_data(path)
    b.open(path)
    errors = settle(b, "explorerReady")
    check(not errors, f"explorer {os.path.basename(path)}: no script or console errors {errors}")
    steps, local = len(data["steps"]), "centre" in data["steps"][0]
    check(b.run("return document.querySelectorAll('#rnn-map g.row').length;") == steps, f"explorer (recurrent): one row per decoding step ({steps})")
    check(b.run("return document.querySelectorAll('#rnn-map g.row')[0].querySelectorAll('rect.cellr').length;") == len(data["source"]),
          "explorer (recurrent): one cell per source word")
    if local:
        check(b.run("return document.querySelectorAll('#rnn-map circle.centre').length;") == steps, "explorer (local-p): a centre per step")
    b.hover("#rnn-map g.row[data-step='1'] rect.cellr")
    check(b.run("return document.querySelector('#rnn-map g.row.hl').getAttribute('data-step');") == "1", "explorer (recurrent): hovering a row marks it")
    b.click(f"#rnn-map g.row[data-step='{steps - 1}'] rect.cellr")
    title = b.run("return document.getElementById('computation-title').textContent;")
    check(f"step {steps} " in title, f"explorer (recurrent): clicking a row explains that step ('{title}')")
    if shot:
        check_screenshot(b, shot, "explorer (recurrent)")


def check_rnn_explorer(b, path):
    b.open(path)
    errors = settle(b, "explorerReady")
    check(not errors and b.run("return document.getElementById('no-attention') !== null;"),
          "explorer (rnn): no errors, and the page says the model has no attention")


def check_report(b, path, models, shot=None):
    b.open(path)
    errors = settle(b, "reportReady")
    check(not errors, f"report: no script or console errors {errors}")
    check(b.run("return document.querySelectorAll('#summary tr').length;") == len(models) + 1, f"report: a summary row per model ({len(models)})")
    names = b.run("return Array.from(document.querySelectorAll('#summary tr td:first-child')).map(td => td.textContent);")
    check(names == models, f"report: the models in order ({names})")
    for figure in ["bleu-chart", "loss-chart"]:
        check(b.run(f"return document.querySelector('#{figure} svg') !== null;"), f"report: the {figure} is inline SVG")
    buckets = b.run("return document.querySelectorAll('#buckets tr')[0].children.length - 1;")
    details = b.run("return document.querySelectorAll('details.bucket').length;")
    check(buckets > 0 and details == buckets, f"report: test sentences for each of the {buckets} length buckets")
    check(b.run("return document.querySelectorAll('td.diff ins, td.diff del').length;") > 0, "report: words that differ from the reference are marked")
    check(b.run("return document.querySelectorAll('a[href^=\"http\"], script[src], link[href]').length;") == 0, "report: nothing fetched from a network")
    b.click("#summary tr:nth-child(2) td:first-child")
    picked = b.run("return document.querySelectorAll('tr.picked').length;")
    check(picked >= 2, f"report: clicking a model's name highlights its rows everywhere ({picked} rows)")
    b.click("#summary tr:nth-child(2) td:first-child")
    if shot:
        check_screenshot(b, shot, "report")


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)


def make_pages(binary, work):
    """Tiny models and their pages: a report, a 3-layer transformer's explorer for a 60-word
    sentence, and the Bahdanau, local-p and rnn explorers."""
    os.makedirs(work, exist_ok=True)
    os.chdir(work)
    common = ["--train", "toy/train.tsv", "--valid", "toy/valid.tsv", "--valid-every", "10", "--valid-sentences", "5", "--threads", "1"]
    run([binary, "toy", "--out", "toy", "--train-size", "300", "--valid-size", "20", "--test-per-bucket", "3", "--max-len", "70",
         "--train-max-len", "20"])
    run([binary, "compare", "--steps", "10", "--models", "rnn", "bahdanau", "transformer", "--test", "toy/test.tsv",
         "--test-alignment", "toy/test.align", "--out", "cmp"] + common)
    run([binary, "train", "--model", "transformer", "--encoder-layers", "3", "--decoder-layers", "3", "--positions", "alibi",
         "--steps", "10", "--out", "t3", "--overwrite"] + common)
    run([binary, "train", "--model", "bahdanau-local", "--steps", "10", "--out", "local", "--overwrite"] + common)
    pairs = [line.rstrip("\n").split("\t") for line in open("toy/test.tsv", encoding="utf-8")]
    source, target = min(pairs, key=lambda p: abs(len(p[0].split()) - 60))
    run([binary, "explain", "--checkpoint", "t3", "--out", "transformer.html", "--target", target, source])
    short = pairs[0][0]
    run([binary, "explain", "--checkpoint", "cmp/bahdanau", "--out", "bahdanau.html", short])
    run([binary, "explain", "--checkpoint", "local", "--out", "local.html", short])
    run([binary, "explain", "--checkpoint", "cmp/rnn", "--out", "rnn.html", short])
    return len(source.split()), len(target.split())


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("test")
    t.add_argument("binary")
    t.add_argument("work")
    s = sub.add_parser("screenshot")
    s.add_argument("--report", required=True)
    s.add_argument("--explorer", required=True)
    s.add_argument("--out", required=True)
    args = parser.parse_args()
    found = webdriver.find_browser()
    if not found:
        print("SKIP: no chromium and chromedriver on this machine (scripts/install-deps.sh installs Debian's chromium and "
              "chromium-driver; it could not)")
        return 77
    if args.mode == "test":
        binary = os.path.abspath(args.binary)
        words = make_pages(binary, os.path.abspath(args.work))
        size = os.path.getsize("transformer.html")
        check(size < 2_000_000, f"explorer: a {words[0]}-word source and {words[1]}-word translation through a 3-layer "
                                f"transformer make a page of {size / 1e6:.2f} MB (< 2 MB)")
        with open("broken.html", "w") as f:  # the error checks themselves must be able to fail
            f.write("<!DOCTYPE html><html><body><script>" + open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                    "examples", "translation", "web", "common.js")).read() + "</script><script>window.explorerReady = true;"
                    "undefinedFunction();</script></body></html>")
        with webdriver.Browser(*found) as b:
            b.open("broken.html")
            check(len(settle(b, "explorerReady")) > 0, "a page with a script error is caught (the checks below can fail)")
            check_report(b, "cmp/report.html", ["rnn", "bahdanau", "transformer"], shot="report.png")
            check_transformer_explorer(b, "transformer.html", shot="transformer.png")
            check_recurrent_explorer(b, "bahdanau.html", shot="bahdanau.png")
            check_recurrent_explorer(b, "local.html")
            check_rnn_explorer(b, "rnn.html")
    else:
        os.makedirs(args.out, exist_ok=True)
        models = [tr.split("<td class=\"left\">")[1].split("<")[0]
                  for tr in re.findall(r"<tr(?: class=\"best\")?><td class=\"left\">[^<]*<", open(args.report).read().split('id="summary"')[1].split("</table>")[0])]
        with webdriver.Browser(*found, width=1300, height=1500) as b:
            check_report(b, args.report, models, shot=os.path.join(args.out, "report.png"))
            check_transformer_explorer(b, args.explorer)
            b.click("#groups button:nth-child(3)")  # the README's view: cross-attention, last layer, one head
            layers = len(page_data(args.explorer)["groups"][2]["layers"])
            b.click(f"#thumbs canvas.thumb[data-layer='{layers - 1}'][data-head='1']")
            b.click("#head-view text.tok-q[data-n='4']")
            check_screenshot(b, os.path.join(args.out, "explorer.png"), "explorer")
    print(f"{len(failures)} of the checks failed" if failures else "every check passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
