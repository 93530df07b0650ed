#!/usr/bin/env python3
"""Leave-one-corpus-out tables for the fitted thresholds (docs/defaults.md#loco).

Reads the JSON lines of scripts/loco_runs.sh: per corpus and seed, a run
with the shipped defaults and runs with one threshold's decision flipped.
Each threshold turns a statistic of the corpus (or of the run) into a yes /
no decision, so its score at any value is known from those two runs: the
default run where the value decides as the default did, the flipped run
where it decides the other way.

For each corpus left out, the value is chosen on the other eight (the
best mean score, score = (ACC + NMI) / 2 averaged over seeds; among tied
values the middle of the widest tied stretch, an open stretch taking its
end: "always" or "never"), and the left-out corpus is scored with it,
against its score with the value chosen on all nine and with the shipped
value.

usage: python3 scripts/loco.py rows.jsonl
"""
import json
import math
import sys
from collections import defaultdict

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs = defaultdict(dict)  # (corpus, seed) -> arm -> row
for r in rows:
    runs[(r["corpus"], r["seed"])][r["arm"]] = r
corpora = list(dict.fromkeys(r["corpus"] for r in rows))


def score(r):
    return 50 * (r["acc"] + r["nmi"])


def drop(r):
    return r["kmeans_balance"] - r["graph_balance"]


def trusted(d):
    return d["agreement"] is not None and d["agreement"] >= d["trust"]


def match_fired(d):
    return d.get("dropped_trusted_match") is not None


# Each knob: (name, shipped value, arm, stat(default row) or None when the
# knob does not apply to the run, decides(stat, value) -> bool, the
# default's own decision, (low end, high end) of the value, log scale?).
KNOBS = [
    ("graph trust", 0.76, "trust",
     lambda d: d["agreement"],
     lambda s, v: s >= v, trusted, (0.0, 1.01), False),
    ("min k-means match", 0.68, "fallback",
     lambda d: (d["dropped_trusted_match"] if match_fired(d) else d["match"]) if trusted(d) else None,
     lambda s, v: s >= v, lambda d: not match_fired(d), (0.0, 1.0), False),
    ("max balance drop", 0.25, "fallback",
     lambda d: drop(d) if d["agreement"] is not None and not match_fired(d) else None,
     lambda s, v: s <= v, lambda d: bool(d["used"]), (-1.0, 1.0), False),
    # 0.15 over all texts in docs/measurements/loco-2026-12-07.jsonl; since
    # then the share is counted in 1,000 texts and the threshold is 0.4.
    ("sparse share", 0.15, "sparse",
     lambda d: d["rare_word_share"] if d.get("mostly_chinese") else None,
     lambda s, v: s > v, lambda d: bool(d["sparse_chinese"]), (0.0, 1.0), False),
]


def corpus_score(corpus, knob, value):
    """Mean score over seeds of `corpus` with the knob at `value`."""
    _, _, arm, stat, decides, default, _, _ = knob
    out = []
    for (c, _), arms in runs.items():
        if c != corpus or "default" not in arms:
            continue
        d = arms["default"]
        s = stat(d)
        if s is None or decides(s, value) == default(d):
            out.append(score(d))
        elif arm in arms:
            out.append(score(arms[arm]))
        # (a run whose flipped arm is missing, as in an unfinished file, is left out)
    return sum(out) / len(out) if out else None


def stats(names, knob):
    vals = set()
    for (c, _), arms in runs.items():
        if c in names and "default" in arms:
            s = knob[3](arms["default"])
            if s is not None:
                vals.add(s)
    return sorted(vals)


def choose(names, knob):
    """The value chosen on `names` and the stretch it stands for."""
    lo, hi = knob[6]
    v = stats(names, knob)
    if not v:
        return knob[1], (lo, hi)
    # Candidate values between consecutive statistics, and the two ends;
    # a candidate stands for the stretch (left stat, right stat).
    cands = [(lo, (lo, v[0]))]
    cands += [((a + b) / 2, (a, b)) for a, b in zip(v, v[1:])]
    cands += [(hi, (v[-1], hi))]

    def mean(value):
        s = [corpus_score(c, knob, value) for c in names]
        s = [x for x in s if x is not None]
        return sum(s) / len(s)

    scored = [(mean(x), x, st) for x, st in cands]
    best = max(m for m, _, _ in scored)
    tied = [i for i, (m, _, _) in enumerate(scored) if m >= best - 1e-9]
    # Widest run of consecutive tied candidates (by the span of statistics).
    runs_, cur = [], [tied[0]]
    for i in tied[1:]:
        if i == cur[-1] + 1:
            cur.append(i)
        else:
            runs_.append(cur)
            cur = [i]
    runs_.append(cur)
    span = lambda r: scored[r[-1]][2][1] - scored[r[0]][2][0]
    r = max(runs_, key=span)
    a, b = scored[r[0]][2][0], scored[r[-1]][2][1]
    if r[0] == 0 and r[-1] == len(scored) - 1:
        value = knob[1]  # no corpus decides: keep the shipped value
    elif r[0] == 0:
        value = lo
    elif r[-1] == len(scored) - 1:
        value = hi
    else:
        value = (a + b) / 2
    return value, (a, b)


def fmt(x):
    return "never" if x is None else f"{x:.2f}"


def table(knob):
    name, shipped = knob[0], knob[1]
    print(f"\n### {name} (shipped {shipped})\n")
    applies = [c for c in corpora if stats([c], knob)]
    print("statistic per corpus (per seed): " + "; ".join(
        f"{c} " + " ".join(f"{knob[3](runs[(c, s)]['default']):.3f}"
                            for (cc, s) in sorted(runs) if cc == c
                            and knob[3](runs[(c, s)]['default']) is not None)
        for c in applies))
    every, _ = choose(corpora, knob)
    print(f"\nchosen on all nine: {every:.3f}\n")
    print("| left out | chosen on the other eight | its score with that | with the all-nine value | with the shipped value | with the other decision |")
    print("|---|---|---|---|---|---|")
    for c in applies:
        others = [o for o in corpora if o != c]
        v, _ = choose(others, knob)
        flipped = [score(a[knob[2]]) for (cc, _), a in runs.items() if cc == c and knob[2] in a]
        fl = sum(flipped) / len(flipped) if flipped else float("nan")
        print(f"| {c} | {v:.3f} | {corpus_score(c, knob, v):.1f} | {corpus_score(c, knob, every):.1f} "
              f"| {corpus_score(c, knob, shipped):.1f} | {fl:.1f} |")


def lead_table():
    """Lead terms: on for openings in [lo, hi], two ends chosen together."""
    print("\n### lead terms: FEW_OPENINGS (shipped 3 - 20)\n")
    per = {}
    for (c, s), a in runs.items():
        if "default" in a and "lead" in a:
            d = a["default"]
            on = d["lead"] == 1
            per.setdefault(c, {"openings": d["openings"], "on": [], "off": []})
            per[c]["on"].append(score(d if on else a["lead"]))
            per[c]["off"].append(score(a["lead"] if on else d))
    m = lambda x: sum(x) / len(x)
    print("| corpus | openings | score lead 1 | lead 0 |\n|---|---|---|---|")
    for c, p in per.items():
        print(f"| {c} | {p['openings']:.1f} | {m(p['on']):.1f} | {m(p['off']):.1f} |")
    def s(c, r):
        p = per[c]
        return m(p["on"]) if r and r[0] <= p["openings"] <= r[1] else m(p["off"])

    def choose_range(train):
        """Lead on for a block of the training corpora (by openings) or none,
        the ends halfway (geometrically) to the training corpora outside;
        ties go to the fewest corpora switched on."""
        v = sorted(per[c]["openings"] for c in train)

        def bounds(i, j):
            lo = 0.0 if i == 0 else math.sqrt(v[i - 1] * v[i])
            hi = math.inf if j == len(v) - 1 else math.sqrt(v[j] * v[j + 1])
            return lo, hi

        best, pick = m([s(c, None) for c in train]), None
        for n in range(1, len(v) + 1):
            for i in range(len(v) - n + 1):
                r = bounds(i, i + n - 1)
                x = m([s(c, r) for c in train])
                if x > best + 1e-9:
                    best, pick = x, r
        return pick

    show = lambda r: "never" if r is None else f"{r[0]:.1f} - {r[1]:.1f}"
    every = choose_range(list(per))
    print(f"\nchosen on all nine: {show(every)}\n")
    print("| left out | range chosen on the other eight | its score with that | with the all-nine range | with the shipped 3 - 20 |")
    print("|---|---|---|---|---|")
    for c in per:
        r = choose_range([o for o in per if o != c])
        print(f"| {c} | {show(r)} | {s(c, r):.1f} | {s(c, every):.1f} | {s(c, (3.0, 20.0)):.1f} |")


for k in KNOBS:
    table(k)
lead_table()
