//! Segmentation per script, on normalized text.
//!
//! The normalized text is cut into URL spans and the rest; the rest into runs
//! of Han characters and runs of everything else. Han runs are cut into words
//! by jieba-rs (its dictionary is loaded once per process) or into single
//! characters. Other runs are cut at Unicode word boundaries (UAX #29), which
//! keeps `don't`, `3.14` and `e-mail`-style pieces sensible for Latin, Greek,
//! Cyrillic, Hangul and kana. Each piece is then a word, a number, an emoji or
//! punctuation, and the [`Segmenter`]'s policies decide what to emit for each.

use std::sync::OnceLock;

use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use super::Normalized;

/// A token and where it came from in the original text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The token string (normalized text, or a placeholder such as `<url>`).
    pub text: String,
    /// Byte range in the original (unnormalized) text.
    pub start: usize,
    /// End of that range.
    pub end: usize,
    /// What kind of piece it is.
    pub kind: TokenKind,
}

/// The kind of a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A word of a non-Han script.
    Word,
    /// A Chinese word or character.
    Han,
    /// A number (digits, possibly with `.` `,` inside).
    Number,
    /// A URL.
    Url,
    /// An emoji.
    Emoji,
    /// Punctuation or a symbol.
    Punct,
}

/// How Chinese (Han) runs are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChineseMode {
    /// Words from jieba's default dictionary; `hmm` also finds unknown words.
    Words {
        /// Use jieba's HMM for words missing from the dictionary.
        hmm: bool,
    },
    /// Every Han character is a token.
    Chars,
}

/// What to emit for a class of pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// The piece itself.
    Keep,
    /// One placeholder token for the class: `<num>`, `<url>`, `<emoji>`, `<punct>`.
    Placeholder,
    /// Nothing.
    Drop,
}

/// The per-script segmenter and its policies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "per_script")]
pub struct Segmenter {
    /// Chinese by words or characters.
    pub chinese: ChineseMode,
    /// Numbers: kept by default (years, versions and prices carry meaning).
    pub digits: Policy,
    /// Punctuation and symbols: kept by default (`?` and `!` carry meaning
    /// for an RNN; TF-IDF filters them itself).
    pub punctuation: Policy,
    /// URLs: one `<url>` placeholder by default (their text is rarely shared).
    pub urls: Policy,
    /// Emoji: kept by default (they carry sentiment).
    pub emoji: Policy,
}

impl Default for Segmenter {
    fn default() -> Self {
        Segmenter {
            chinese: ChineseMode::Words { hmm: true },
            digits: Policy::Keep,
            punctuation: Policy::Keep,
            urls: Policy::Placeholder,
            emoji: Policy::Keep,
        }
    }
}

/// The jieba segmenter with its default dictionary, loaded on first use.
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// True for Han (Chinese) ideographs.
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x3007)
}

/// True for Han, kana or hangul: scripts written without spaces, whose
/// words seed matching finds as substrings rather than whole tokens.
pub fn is_cjk(c: char) -> bool {
    is_han(c) || matches!(c as u32, 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

/// True for characters that start an emoji (pictographs, dingbats, flags, ...).
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x231A..=0x231B | 0x23E9..=0x23FA
        | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x2190..=0x21FF | 0x2934..=0x2935)
}

fn url_start(s: &str, i: usize) -> bool {
    let rest = &s[i..];
    let head =
        rest.starts_with("http://") || rest.starts_with("https://") || rest.starts_with("www.");
    head && s[..i]
        .chars()
        .next_back()
        .is_none_or(|p| !p.is_alphanumeric())
}

fn url_end(s: &str, i: usize) -> usize {
    let mut end = i;
    for (j, c) in s[i..].char_indices() {
        if c.is_whitespace()
            || is_han(c)
            || matches!(c, '"' | '<' | '>' | '「' | '」' | '，' | '。' | '（' | '）')
        {
            break;
        }
        end = i + j + c.len_utf8();
    }
    while end > i {
        let last = s[..end].chars().next_back().unwrap_or(' ');
        if matches!(
            last,
            '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '\'' | '"'
        ) {
            end -= last.len_utf8();
        } else {
            break;
        }
    }
    end
}

impl Segmenter {
    /// Tokens of a normalized text, with offsets into its original.
    pub fn segment(&self, norm: &Normalized) -> Vec<Token> {
        let s = norm.text.as_str();
        let mut out = Vec::new();
        let mut run_start = 0;
        let mut i = 0;
        while i < s.len() {
            if url_start(s, i) {
                let end = url_end(s, i);
                if end > i + 4 {
                    self.segment_run(norm, run_start, i, &mut out);
                    self.emit(norm, i, end, TokenKind::Url, self.urls, "<url>", &mut out);
                    run_start = end;
                    i = end;
                    continue;
                }
            }
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
        self.segment_run(norm, run_start, s.len(), &mut out);
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        norm: &Normalized,
        a: usize,
        b: usize,
        kind: TokenKind,
        policy: Policy,
        placeholder: &str,
        out: &mut Vec<Token>,
    ) {
        let text = match policy {
            Policy::Drop => return,
            Policy::Keep => norm.text[a..b].to_string(),
            Policy::Placeholder => placeholder.to_string(),
        };
        let (start, end) = norm.original_range(a, b);
        out.push(Token {
            text,
            start,
            end,
            kind,
        });
    }

    /// Cut `norm.text[a..b]` (no URLs inside) by script.
    fn segment_run(&self, norm: &Normalized, a: usize, b: usize, out: &mut Vec<Token>) {
        let s = &norm.text;
        let mut piece_start = a;
        let mut piece_han = None;
        for (j, c) in s[a..b].char_indices() {
            let han = is_han(c);
            if piece_han.is_some_and(|h| h != han) {
                self.segment_piece(norm, piece_start, a + j, piece_han == Some(true), out);
                piece_start = a + j;
            }
            piece_han = Some(han);
        }
        if piece_start < b {
            self.segment_piece(norm, piece_start, b, piece_han == Some(true), out);
        }
    }

    fn segment_piece(
        &self,
        norm: &Normalized,
        a: usize,
        b: usize,
        han: bool,
        out: &mut Vec<Token>,
    ) {
        let piece = &norm.text[a..b];
        if han {
            match self.chinese {
                ChineseMode::Chars => {
                    for (j, c) in piece.char_indices() {
                        self.emit(
                            norm,
                            a + j,
                            a + j + c.len_utf8(),
                            TokenKind::Han,
                            Policy::Keep,
                            "",
                            out,
                        );
                    }
                }
                ChineseMode::Words { hmm } => {
                    for t in jieba().cut(piece, hmm) {
                        let (x, y) = (a + t.byte_start, a + t.byte_start + t.word.len());
                        self.emit(norm, x, y, TokenKind::Han, Policy::Keep, "", out);
                    }
                }
            }
            return;
        }
        let mut words = piece.split_word_bound_indices().peekable();
        while let Some((j, w)) = words.next() {
            let (x, mut y) = (a + j, a + j + w.len());
            let first = w.chars().next().unwrap_or(' ');
            if w.chars().all(char::is_whitespace) {
                continue;
            }
            if w.chars().any(char::is_alphanumeric) {
                let numeric = w
                    .chars()
                    .all(|c| c.is_numeric() || matches!(c, '.' | ',' | '\''));
                if numeric {
                    self.emit(norm, x, y, TokenKind::Number, self.digits, "<num>", out);
                } else {
                    // Keep programming-language names whole: c++, c#, f#.
                    while let Some(&(_, nxt)) = words.peek() {
                        if (nxt == "+" || nxt == "#") && y - x <= 2 {
                            y += nxt.len();
                            words.next();
                        } else {
                            break;
                        }
                    }
                    self.emit(norm, x, y, TokenKind::Word, Policy::Keep, "", out);
                }
            } else if is_emoji(first) {
                self.emit(norm, x, y, TokenKind::Emoji, self.emoji, "<emoji>", out);
            } else if !first.is_control() && first != '\u{FE0F}' && first != '\u{200D}' {
                self.emit(
                    norm,
                    x,
                    y,
                    TokenKind::Punct,
                    self.punctuation,
                    "<punct>",
                    out,
                );
            }
        }
    }
}
