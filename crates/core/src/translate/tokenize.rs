//! Splitting sentences into the units the translator reads and writes, and
//! joining its output back into text a person reads.
//!
//! [`Lang`] gives a language's words; [`Units`] adds optional BPE subwords
//! (learned per language from the training side) on top of them.
//!
//! Chinese is split into characters (whitespace dropped); English and other
//! space-separated languages into numbers (`3,000.50`, `10:30`), words with
//! their inner apostrophes and hyphens (`don't`, `well-known`) and single
//! punctuation marks. Joining English puts spaces between words and none
//! before closing punctuation or after opening brackets; straight double
//! quotes alternate between opening and closing.

/// The languages the tokenizer distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Chinese: one token per character.
    Zh,
    /// English (and any space-separated language): words and punctuation.
    En,
}

impl Lang {
    /// `zh` or `en` (case-insensitive); other codes are refused.
    pub fn parse(code: &str) -> Option<Lang> {
        match code.to_ascii_lowercase().as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The ISO code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The units of one sentence.
    pub fn tokenize(self, text: &str) -> Vec<String> {
        match self {
            Lang::Zh => text
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(String::from)
                .collect(),
            Lang::En => words(text),
        }
    }

    /// A sentence from its units.
    pub fn detokenize<S: AsRef<str>>(self, tokens: &[S]) -> String {
        match self {
            Lang::Zh => tokens.iter().map(AsRef::as_ref).collect(),
            Lang::En => join_words(tokens),
        }
    }
}

/// What one side of a translator reads or writes: a language's words, or
/// BPE pieces of them (Chinese words then come from jieba, so that BPE
/// works inside words instead of on single characters).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Units {
    /// The language.
    pub lang: Lang,
    /// Learned merges; `None`: whole words (Chinese characters).
    pub bpe: Option<super::bpe::Bpe>,
}

impl Units {
    /// Learn `merges` BPE merges from `texts` (none when 0: plain words).
    pub fn learn<'a>(lang: Lang, texts: impl Iterator<Item = &'a str>, merges: usize) -> Units {
        let mut u = Units { lang, bpe: None };
        if merges > 0 {
            let words: Vec<Vec<String>> = texts.map(|t| u.words(t, true)).collect();
            let counts = super::bpe::word_counts(words.iter().map(Vec::as_slice));
            u.bpe = Some(super::bpe::Bpe::learn(&counts, merges, 2));
        }
        u
    }

    /// The words BPE works on: English words; Chinese jieba words with
    /// BPE, characters without.
    fn words(&self, text: &str, bpe: bool) -> Vec<String> {
        match (self.lang, bpe) {
            (Lang::Zh, true) => crate::text::segment::jieba()
                .cut(text, true)
                .into_iter()
                .filter(|w| !w.word.trim().is_empty())
                .map(|w| w.word.chars().filter(|c| !c.is_whitespace()).collect())
                .collect(),
            _ => self.lang.tokenize(text),
        }
    }

    /// The units of one sentence.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        match &self.bpe {
            None => self.lang.tokenize(text),
            Some(b) => self
                .words(text, true)
                .iter()
                .flat_map(|w| b.segment(w))
                .collect(),
        }
    }

    /// A sentence from its units.
    pub fn detokenize<S: AsRef<str>>(&self, units: &[S]) -> String {
        match &self.bpe {
            None => self.lang.detokenize(units),
            Some(_) => self.lang.detokenize(&super::bpe::join_pieces(units)),
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Numbers, words (with inner `'`, `’` or `-`) and single other marks.
fn words(text: &str) -> Vec<String> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let start = i;
        if c[i].is_whitespace() {
            i += 1;
            continue;
        }
        if c[i].is_ascii_digit() {
            while i < c.len() && c[i].is_ascii_digit() {
                i += 1;
            }
            while i + 1 < c.len() && matches!(c[i], '.' | ',' | ':') && c[i + 1].is_ascii_digit() {
                i += 1;
                while i < c.len() && c[i].is_ascii_digit() {
                    i += 1;
                }
            }
        } else if is_word(c[i]) {
            while i < c.len() && is_word(c[i]) {
                i += 1;
            }
            while i + 1 < c.len() && matches!(c[i], '\'' | '’' | '-') && is_word(c[i + 1]) {
                i += 1;
                while i < c.len() && is_word(c[i]) {
                    i += 1;
                }
            }
        } else {
            i += 1;
        }
        out.push(c[start..i].iter().collect());
    }
    out
}

/// English text from words and punctuation.
fn join_words<S: AsRef<str>>(tokens: &[S]) -> String {
    const NO_SPACE_BEFORE: &[&str] = &[".", ",", "!", "?", ";", ":", "%", ")", "]", "}", "…"];
    const NO_SPACE_AFTER: &[&str] = &["(", "[", "{", "$"];
    let mut out = String::new();
    let (mut glue, mut quote_open) = (true, false);
    for t in tokens {
        let t = t.as_ref();
        if t == "\"" {
            quote_open = !quote_open;
            if !glue && quote_open {
                out.push(' ');
            }
            out.push('"');
            glue = quote_open;
            continue;
        }
        if !(glue || NO_SPACE_BEFORE.contains(&t)) {
            out.push(' ');
        }
        out.push_str(t);
        glue = NO_SPACE_AFTER.contains(&t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_round_trip() {
        let s = "He said \"no,\" didn't he? It costs $3,000.50 (well-known).";
        let t = Lang::En.tokenize(s);
        assert_eq!(
            t,
            [
                "He",
                "said",
                "\"",
                "no",
                ",",
                "\"",
                "didn't",
                "he",
                "?",
                "It",
                "costs",
                "$",
                "3,000.50",
                "(",
                "well-known",
                ")",
                "."
            ]
        );
        assert_eq!(Lang::En.detokenize(&t), s);
    }

    #[test]
    fn chinese_characters() {
        let t = Lang::Zh.tokenize("我 喜欢你。OK");
        assert_eq!(t, ["我", "喜", "欢", "你", "。", "O", "K"]);
        assert_eq!(Lang::Zh.detokenize(&t), "我喜欢你。OK");
    }
}
