#!/usr/bin/python3
"""A real English-French parallel corpus from the machine itself: the message catalogues that
Debian packages install for French (/usr/share/locale/fr/LC_MESSAGES/*.mo) pair every English
user-interface message with its French translation (the iso-codes catalogues of language and
region names are left out unless asked for). Short technical text with placeholders
(%s, --options), typographic quotes, accents and French spacing: a long-tailed vocabulary, unlike
the toy task. Writes train/valid/test TSV files (deduplicated by source, split by a seeded shuffle)
and prints how many pairs came from how many catalogues.

Usage: gettext_corpus.py OUT_DIR [--valid N] [--test N] [--max-words N] [--seed S]"""
import argparse
import glob
import gettext
import os
import random
import re


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--valid", type=int, default=1000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--max-words", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--locale-dir", default="/usr/share/locale/fr/LC_MESSAGES")
    ap.add_argument("--include-iso", action="store_true",
                    help="keep the iso-codes catalogues (names of languages and regions, mostly left as they are)")
    a = ap.parse_args()
    catalogues = sorted(p for p in glob.glob(os.path.join(a.locale_dir, "*.mo"))
                        if a.include_iso or not os.path.basename(p).startswith("iso"))
    pairs, used = {}, 0
    for path in catalogues:
        try:
            with open(path, "rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog
        except Exception:  # a damaged or foreign catalogue: skip it
            continue
        used += 1
        for source, target in catalog.items():
            if isinstance(source, tuple):  # plural forms: (msgid, n)
                source = source[0]
            source, target = " ".join(source.split()), " ".join(target.split())
            if not source or not target or not re.search("[A-Za-z]", source):
                continue
            if len(source.split()) > a.max_words or len(target.split()) > a.max_words:
                continue
            pairs.setdefault(source, target)  # the first catalogue's translation of a message
    items = sorted(pairs.items())
    random.Random(a.seed).shuffle(items)
    test, valid, train = items[:a.test], items[a.test:a.test + a.valid], items[a.test + a.valid:]
    os.makedirs(a.out, exist_ok=True)
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        with open(os.path.join(a.out, name + ".tsv"), "w", encoding="utf-8") as f:
            for s, t in part:
                f.write(s + "\t" + t + "\n")
    print(f"gettext_corpus: {len(items)} pairs from {used} of {len(catalogues)} catalogues in {a.locale_dir}: "
          f"{len(train)} train, {len(valid)} valid, {len(test)} test -> {a.out}")


if __name__ == "__main__":
    main()
