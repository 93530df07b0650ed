//! Stage 2: the text pipeline, from raw text to tokens with offsets.
//!
//! A [`TextPipeline`] is a list of [`Normalizer`]s (NFKC, full-width to
//! half-width, lower-casing) followed by one [`Segmenter`] that splits per
//! script (Chinese by jieba words or by characters, other scripts by Unicode
//! word boundaries, with explicit policies for digits, punctuation, URLs and
//! emoji). Every stage serializes with a `"type"` tag, so the whole pipeline
//! is one JSON document saved inside a model and prediction tokenizes exactly
//! as training did.
//!
//! Each [`Token`] carries the byte range of the *original* text it came from,
//! tracked through normalization, so `&text[tok.start..tok.end]` is the
//! source of the token.

pub mod negation;
pub mod normalize;
pub mod segment;

pub use normalize::{Normalized, Normalizer};
pub use segment::{ChineseMode, Policy, Segmenter, Token};

use serde::{Deserialize, Serialize};

/// Normalizers then a segmenter. `TextPipeline::default()` is the pipeline
/// textrnn uses unless told otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextPipeline {
    /// Applied in order to each text.
    pub normalizers: Vec<Normalizer>,
    /// Splits the normalized text into tokens.
    pub segmenter: Segmenter,
}

impl Default for TextPipeline {
    fn default() -> Self {
        TextPipeline {
            normalizers: vec![
                Normalizer::Nfkc,
                Normalizer::FullwidthToHalfwidth,
                Normalizer::Lowercase,
            ],
            segmenter: Segmenter::default(),
        }
    }
}

impl TextPipeline {
    /// Tokens of `text` with offsets into `text`.
    pub fn tokenize(&self, text: &str) -> Vec<Token> {
        let norm = Normalized::new(text, &self.normalizers);
        self.segmenter.segment(&norm)
    }

    /// Token strings only.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        self.tokenize(text).into_iter().map(|t| t.text).collect()
    }

    /// The pipeline as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("pipeline serializes")
    }

    /// A pipeline from JSON written by [`to_json`](Self::to_json).
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}
