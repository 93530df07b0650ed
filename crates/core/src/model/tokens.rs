//! What each part of the model reads of a text: the RNN's tokens (Han words
//! as characters for sparse Chinese) and the lexical classifier's
//! character n-grams. Training, prediction and serving all cut texts here.

use crate::features::{Csr, Tfidf};

/// What the lexical classifier reads of a text: the character 2- to
/// 4-grams of its TF-IDF terms (space-padded, see
/// [`crate::features::tfidf::char_ngrams`]), so that word forms sharing a
/// stem or a prefix share features (docs/defaults.md#lexical-ngrams).
pub fn lexical_terms(words: &[String]) -> Vec<String> {
    crate::features::tfidf::char_ngrams(words, LEXICAL_NGRAMS.0, LEXICAL_NGRAMS.1)
}

/// The lexical TF-IDF rows of documents given as TF-IDF terms (the
/// `matrix` of their [`lexical_terms`]).
pub(crate) fn lexical_rows(t: &Tfidf, words: &[Vec<String>]) -> Csr {
    t.ngram_matrix(words, LEXICAL_NGRAMS.0, LEXICAL_NGRAMS.1)
}

/// The n-gram lengths of [`lexical_terms`].
const LEXICAL_NGRAMS: (usize, usize) = (2, 4);

/// The token strings the RNN reads: the pipeline's tokens, with each Han
/// token of several characters split into its characters when `han_chars`.
/// Over jieba words of short Chinese titles the RNN block adds little;
/// over characters it sees sub-word cues and far fewer unseen tokens
/// (docs/defaults.md#rnn-characters).
pub fn rnn_tokens(tokens: &[crate::text::Token], han_chars: bool) -> Vec<String> {
    let mut out = Vec::with_capacity(tokens.len());
    for tk in tokens {
        if han_chars
            && tk.kind == crate::text::segment::TokenKind::Han
            && tk.text.chars().nth(1).is_some()
        {
            out.extend(tk.text.chars().map(String::from));
        } else {
            out.push(tk.text.clone());
        }
    }
    out
}
