//! Normalizers and the alignment from normalized text back to the original.
//!
//! The text is processed in small groups: a starter character and the
//! combining marks that follow it. Each group is normalized on its own, so
//! NFKC composes `e` + U+0301 into `é`, and every output character remembers
//! the byte range of the group it came from. (Normalizing group by group
//! equals whole-string NFKC except for rare compositions across starters,
//! such as conjoining Hangul jamo; it is the same function at training and
//! prediction time, which is what matters.)

use serde::{Deserialize, Serialize};
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

/// One normalization step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Normalizer {
    /// Unicode NFKC: compatibility forms folded (ligatures, circled digits,
    /// full-width ASCII, half-width katakana), then composed.
    Nfkc,
    /// Full-width ASCII (U+FF01..U+FF5E) and the ideographic space to ASCII,
    /// and the CJK full stop and comma (`。` `、`) to `.` and `,`; useful on
    /// its own when NFKC is off.
    FullwidthToHalfwidth,
    /// Lower-case letters of cased scripts (Latin, Greek, Cyrillic...).
    Lowercase,
}

impl Normalizer {
    fn apply(&self, input: &str, out: &mut String) {
        match self {
            Normalizer::Nfkc => out.extend(input.nfkc()),
            Normalizer::FullwidthToHalfwidth => {
                out.extend(input.chars().map(fullwidth_to_halfwidth))
            }
            Normalizer::Lowercase => {
                for c in input.chars() {
                    if c.is_uppercase() {
                        out.extend(c.to_lowercase());
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }
}

fn fullwidth_to_halfwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        '\u{3000}' => ' ',
        '。' => '.',
        '、' => ',',
        _ => c,
    }
}

/// A normalized text with, for each of its characters, the byte range of the
/// original text it came from.
#[derive(Clone, Debug)]
pub struct Normalized {
    /// The normalized text.
    pub text: String,
    /// For each char of `text`: (byte offset in `text`, original start, original end).
    align: Vec<(usize, usize, usize)>,
    original_len: usize,
}

impl Normalized {
    /// Normalize `original` through `steps`.
    pub fn new(original: &str, steps: &[Normalizer]) -> Self {
        let mut text = String::with_capacity(original.len());
        let mut align = Vec::with_capacity(original.len());
        let mut group_start = 0;
        let mut a = String::new();
        let mut b = String::new();
        let mut flush = |start: usize,
                         end: usize,
                         text: &mut String,
                         align: &mut Vec<(usize, usize, usize)>| {
            if start == end {
                return;
            }
            a.clear();
            a.push_str(&original[start..end]);
            for step in steps {
                b.clear();
                step.apply(&a, &mut b);
                std::mem::swap(&mut a, &mut b);
            }
            for c in a.chars() {
                align.push((text.len(), start, end));
                text.push(c);
            }
        };
        for (i, c) in original.char_indices() {
            if i > group_start && canonical_combining_class(c) == 0 {
                flush(group_start, i, &mut text, &mut align);
                group_start = i;
            }
        }
        flush(group_start, original.len(), &mut text, &mut align);
        Normalized {
            text,
            align,
            original_len: original.len(),
        }
    }

    /// The original byte range covering normalized bytes `start..end`
    /// (both on char boundaries of the normalized text).
    pub fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        if start >= end {
            let o = self.original_offset(start);
            return (o, o);
        }
        let first = self.align.partition_point(|&(n, _, _)| n < start);
        let last = self.align.partition_point(|&(n, _, _)| n < end) - 1;
        (self.align[first].1, self.align[last].2)
    }

    fn original_offset(&self, at: usize) -> usize {
        let i = self.align.partition_point(|&(n, _, _)| n < at);
        self.align.get(i).map_or(self.original_len, |x| x.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Normalizer; 3] = [
        Normalizer::Nfkc,
        Normalizer::FullwidthToHalfwidth,
        Normalizer::Lowercase,
    ];

    #[test]
    fn nfkc_fullwidth_and_case() {
        let n = Normalized::new("ＡＢＣ１２３　Ｈｅｌｌｏ！ﬁ", &ALL);
        assert_eq!(n.text, "abc123 hello!fi");
        let n = Normalized::new("Cafe\u{301}。", &ALL);
        assert_eq!(n.text, "café.");
        let (s, e) = n.original_range(3, "café".len());
        assert_eq!(&"Cafe\u{301}。"[s..e], "e\u{301}");
    }

    #[test]
    fn fullwidth_alone_without_nfkc() {
        let n = Normalized::new("ＡＢ，好。", &[Normalizer::FullwidthToHalfwidth]);
        assert_eq!(n.text, "AB,好.");
    }
}
