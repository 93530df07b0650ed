#!/usr/bin/env python3
"""Writes crates/core/tests/fixtures/sacrebleu.json: hypotheses, references
and the corpus BLEU and chrF that sacreBLEU 2.x computes for them, the values
textrnn's translate::bleu and translate::chrf must reproduce (to 1e-9). The
sentences are written for the test (not taken from any corpus) and cover
punctuation, numbers, quotes, a hypothesis with no 4-gram match, an empty
hypothesis, Chinese with full-width and general punctuation, and several
references per segment.

Run (sacrebleu in a virtualenv outside the repo):
    python3 scripts/make_sacrebleu_fixture.py
"""
import json
from pathlib import Path

import sacrebleu

CASES = {
    "en": {
        "tokenize": "13a",
        "hyps": [
            "I like your family.",
            "Please call me before you go.",
            "We'll buy a new car next month.",
            "It costs $3,000.50, doesn't it?",
            "He said \"no\" -- twice.",
            "",
            "Tom went home early",
            "The 1990-2000 data (see page 12) were lost!",
        ],
        "refs": [
            ["I like your family."],
            ["Please phone me before you come."],
            ["We're getting a new car next month."],
            ["It costs $3,000.50, doesn't it?"],
            ["He said \"no\" twice."],
            ["Nothing here."],
            ["Tom went home early."],
            ["The data for 1990-2000 (see page 12) was lost."],
        ],
    },
    "en_short": {
        "tokenize": "13a",
        "hyps": ["a b c", "d e"],
        "refs": [["a b x"], ["d f"]],
    },
    "en_multi": {
        "tokenize": "13a",
        "hyps": ["the cat sat on the mat", "there is a dog in the garden"],
        "refs": [
            ["the cat is on the mat", "a cat sat on the mat"],
            ["a dog is in the garden", "there's a dog in the garden right now"],
        ],
    },
    "zh": {
        "tokenize": "zh",
        "hyps": [
            "我喜欢你的家庭。",
            "请你在来之前给我打电话。",
            "他说：“好的……”然后走了。",
            "下个月我们买一辆新车",
            "OK，3.5公里。",
            "",
        ],
        "refs": [
            ["我喜欢你的家庭。"],
            ["请你来之前打电话给我。"],
            ["他说“好”，然后就走了。"],
            ["下个月我们会有辆新车。"],
            ["好的，3.5 公里。"],
            ["什么都没有。"],
        ],
    },
}


def main():
    out = {}
    for name, c in CASES.items():
        refs = c["refs"]
        n_refs = max(len(r) for r in refs)
        # sacreBLEU takes reference streams: stream j holds every segment's j-th reference.
        streams = [[r[j] if j < len(r) else None for r in refs] for j in range(n_refs)]
        bleu = sacrebleu.corpus_bleu(c["hyps"], streams, tokenize=c["tokenize"])
        chrf = sacrebleu.corpus_chrf(c["hyps"], streams)
        out[name] = dict(c, bleu=bleu.score, precisions=bleu.precisions, bp=bleu.bp,
                         sys_len=bleu.sys_len, ref_len=bleu.ref_len, chrf=chrf.score,
                         sacrebleu=sacrebleu.__version__)
    path = Path(__file__).resolve().parent.parent / "crates/core/tests/fixtures/sacrebleu.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for name, v in out.items():
        print(name, v["bleu"], v["chrf"])


if __name__ == "__main__":
    main()
