//! Corpus BLEU as sacreBLEU computes it (version 2.x defaults: 4-gram
//! precisions clipped by the references, the "exp" smoothing of
//! mteval-v13a, brevity penalty against the closest reference length),
//! with its `13a` tokenization for English and other space-separated
//! output and its `zh` tokenization for Chinese output.
//!
//! Written from sacreBLEU's documented behaviour, including its quirks:
//! the `zh` tokenizer's table of "Chinese" ranges compares five-digit code
//! points as two-character strings in Python, so what it treats as one
//! Chinese character per token is U+2001-U+2A6D (general punctuation such
//! as `“ ” … —` included) and U+2F81-U+2FA1 rather than the supplementary
//! planes. Tests hold values sacreBLEU printed for a committed fixture.

use std::collections::HashMap;

/// How references and hypotheses are split into tokens before counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BleuTokenizer {
    /// mteval-v13a: punctuation split off, periods and commas kept inside
    /// numbers. sacreBLEU's default, for English output.
    Mteval13a,
    /// Every Chinese character its own token, the rest as `13a`; for
    /// Chinese output.
    Zh,
}

impl BleuTokenizer {
    /// The tokenizer sacreBLEU users pick for output in language `lang`
    /// (`zh` for Chinese, `13a` for everything else).
    pub fn for_language(lang: &str) -> BleuTokenizer {
        if lang.eq_ignore_ascii_case("zh") {
            BleuTokenizer::Zh
        } else {
            BleuTokenizer::Mteval13a
        }
    }

    /// sacreBLEU's name for it.
    pub fn name(self) -> &'static str {
        match self {
            BleuTokenizer::Mteval13a => "13a",
            BleuTokenizer::Zh => "zh",
        }
    }

    /// The tokens of one segment.
    pub fn tokenize(self, line: &str) -> Vec<String> {
        // sacreBLEU's BLEU strips trailing whitespace before tokenizing.
        let line = line.trim_end();
        let spaced = match self {
            BleuTokenizer::Mteval13a => {
                let mut l = line
                    .replace("<skipped>", "")
                    .replace("-\n", "")
                    .replace('\n', " ");
                if l.contains('&') {
                    l = l
                        .replace("&quot;", "\"")
                        .replace("&amp;", "&")
                        .replace("&lt;", "<")
                        .replace("&gt;", ">");
                }
                format!(" {l} ")
            }
            BleuTokenizer::Zh => {
                let mut out = String::with_capacity(line.len() * 2);
                for c in line.trim().chars() {
                    if is_zh_char(c) {
                        out.push(' ');
                        out.push(c);
                        out.push(' ');
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        };
        mteval_split(&spaced)
    }
}

/// sacreBLEU's `zh` table of ranges, read as Python compares them (see the
/// module doc for the two five-digit entries).
fn is_zh_char(c: char) -> bool {
    const RANGES: [(u32, u32); 22] = [
        (0x3400, 0x4db5),
        (0x4e00, 0x9fa5),
        (0x9fa6, 0x9fbb),
        (0xf900, 0xfa2d),
        (0xfa30, 0xfa6a),
        (0xfa70, 0xfad9),
        (0x2001, 0x2a6d),
        (0x2f81, 0x2fa1),
        (0xff00, 0xffef),
        (0x2e80, 0x2eff),
        (0x3000, 0x303f),
        (0x31c0, 0x31ef),
        (0x2f00, 0x2fdf),
        (0x2ff0, 0x2fff),
        (0x3100, 0x312f),
        (0x31a0, 0x31bf),
        (0xfe10, 0xfe1f),
        (0xfe30, 0xfe4f),
        (0x2600, 0x26ff),
        (0x2700, 0x27bf),
        (0x3200, 0x32ff),
        (0x3300, 0x33ff),
    ];
    let c = c as u32;
    RANGES.iter().any(|&(a, b)| (a..=b).contains(&c))
}

/// The four substitutions of mteval-v13a's regular-expression tokenizer,
/// then a split on whitespace.
fn mteval_split(line: &str) -> Vec<String> {
    let digit = |c: char| c.is_ascii_digit();
    let period_comma = |c: char| c == '.' || c == ',';
    // 1. Punctuation and symbols of ASCII (not ' , - . or alphanumerics)
    //    become their own tokens.
    let mut s = String::with_capacity(line.len() * 2);
    for c in line.chars() {
        let sym = matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/');
        if sym {
            s.push(' ');
            s.push(c);
            s.push(' ');
        } else {
            s.push(c);
        }
    }
    // 2. A period or comma after a non-digit; 3. before a non-digit;
    // 4. a dash after a digit. Each is a left-to-right, non-overlapping
    // substitution of a two-character pattern, as Python's re.sub makes it.
    let s = substitute(
        &s,
        |a| !digit(a),
        period_comma,
        |a, b, o| o.extend([a, ' ', b, ' ']),
    );
    let s = substitute(
        &s,
        period_comma,
        |b| !digit(b),
        |a, b, o| o.extend([' ', a, ' ', b]),
    );
    let s = substitute(
        &s,
        digit,
        |b| b == '-',
        |a, b, o| o.extend([a, ' ', b, ' ']),
    );
    s.split_whitespace().map(str::to_string).collect()
}

/// Replace every non-overlapping pair `(a, b)` with `first(a) && second(b)`,
/// scanning left to right, by what `emit` writes.
fn substitute(
    s: &str,
    first: impl Fn(char) -> bool,
    second: impl Fn(char) -> bool,
    emit: impl Fn(char, char, &mut String),
) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        if i + 1 < chars.len() && first(chars[i]) && second(chars[i + 1]) {
            emit(chars[i], chars[i + 1], &mut out);
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Highest n-gram order.
const ORDER: usize = 4;

/// Corpus BLEU with its parts, as sacreBLEU reports them.
#[derive(Clone, Debug, PartialEq)]
pub struct Bleu {
    /// BLEU, 0-100.
    pub score: f64,
    /// n-gram precisions in percent (smoothed where nothing matched).
    pub precisions: [f64; ORDER],
    /// Brevity penalty.
    pub bp: f64,
    /// Hypothesis tokens.
    pub sys_len: usize,
    /// Reference tokens (the closest reference's, per segment).
    pub ref_len: usize,
}

/// Corpus BLEU of `hyps` against `refs` (one list of references per
/// hypothesis, in the same order).
pub fn corpus_bleu(hyps: &[String], refs: &[Vec<String>], tok: BleuTokenizer) -> Bleu {
    assert_eq!(hyps.len(), refs.len(), "one reference list per hypothesis");
    let mut correct = [0usize; ORDER];
    let mut total = [0usize; ORDER];
    let (mut sys_len, mut ref_len) = (0, 0);
    for (h, rs) in hyps.iter().zip(refs) {
        let h = tok.tokenize(h);
        let mut clip: HashMap<&[String], usize> = HashMap::new();
        let rs: Vec<Vec<String>> = rs.iter().map(|r| tok.tokenize(r)).collect();
        for r in &rs {
            let mut own: HashMap<&[String], usize> = HashMap::new();
            for n in 1..=ORDER {
                for g in r.windows(n) {
                    *own.entry(g).or_default() += 1;
                }
            }
            for (g, c) in own {
                let e = clip.entry(g).or_default();
                *e = (*e).max(c);
            }
        }
        let mut counts: HashMap<&[String], usize> = HashMap::new();
        for n in 1..=ORDER {
            for g in h.windows(n) {
                *counts.entry(g).or_default() += 1;
            }
        }
        for (g, c) in counts {
            total[g.len() - 1] += c;
            correct[g.len() - 1] += c.min(clip.get(g).copied().unwrap_or(0));
        }
        sys_len += h.len();
        ref_len += closest_len(h.len(), rs.iter().map(Vec::len));
    }
    bleu_from_counts(&correct, &total, sys_len, ref_len)
}

/// The reference length closest to `hyp`; the shorter one on a tie.
fn closest_len(hyp: usize, refs: impl Iterator<Item = usize>) -> usize {
    refs.min_by_key(|&r| (r.abs_diff(hyp), r)).unwrap_or(0)
}

/// BLEU from n-gram counts (sacreBLEU's `compute_bleu` with "exp" smoothing).
fn bleu_from_counts(
    correct: &[usize; ORDER],
    total: &[usize; ORDER],
    sys_len: usize,
    ref_len: usize,
) -> Bleu {
    let bp = if sys_len >= ref_len {
        1.0
    } else if sys_len > 0 {
        (1.0 - ref_len as f64 / sys_len as f64).exp()
    } else {
        0.0
    };
    let mut precisions = [0.0; ORDER];
    let mut out = Bleu {
        score: 0.0,
        precisions,
        bp,
        sys_len,
        ref_len,
    };
    if correct.iter().all(|&c| c == 0) {
        return out;
    }
    let mut smooth = 1.0;
    for n in 0..ORDER {
        if total[n] == 0 {
            break;
        }
        precisions[n] = if correct[n] == 0 {
            smooth *= 2.0;
            100.0 / (smooth * total[n] as f64)
        } else {
            100.0 * correct[n] as f64 / total[n] as f64
        };
    }
    // sacreBLEU's log of a zero precision is -9999999999.
    let log = |p: f64| if p == 0.0 { -9_999_999_999.0 } else { p.ln() };
    let mean = precisions.iter().map(|&p| log(p)).sum::<f64>() / ORDER as f64;
    out.score = bp * mean.exp();
    out.precisions = precisions;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(t: BleuTokenizer, s: &str) -> String {
        t.tokenize(s).join(" ")
    }

    #[test]
    fn mteval_13a_splits_as_sacrebleu() {
        let t = BleuTokenizer::Mteval13a;
        assert_eq!(toks(t, "Hello, world!"), "Hello , world !");
        assert_eq!(
            toks(t, "It costs $3,000.50 today."),
            "It costs $ 3,000.50 today ."
        );
        assert_eq!(toks(t, "don't 1-2 a-b"), "don't 1 - 2 a-b");
        assert_eq!(toks(t, "a.. b"), "a . . b");
        assert_eq!(toks(t, "&quot;x&quot; &amp; y"), "\" x \" & y");
    }

    #[test]
    fn zh_splits_characters_and_general_punctuation() {
        let t = BleuTokenizer::Zh;
        assert_eq!(toks(t, "我喜欢你。"), "我 喜 欢 你 。");
        assert_eq!(toks(t, "他说“好”…OK, 2.5"), "他 说 “ 好 ” … OK , 2.5");
    }
}
