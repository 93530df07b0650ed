//! What negates: one list of negators, read by the bag-of-words features'
//! negation scope ([`crate::features::tfidf`]) and by seed-word matching
//! ([`crate::learn::seeds`]), so "not good" means the same to both.
//! Written from general knowledge of English and Chinese (and of how jieba
//! cuts Chinese), never from a corpus's labels.

/// English negators, compared without regard to ASCII case. Any token
/// ending in "n't" is one too.
const NEGATORS_EN: &[&str] = &[
    "not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "cannot", "without",
    "hardly", "barely", "nowhere", "lack", "lacks",
];

/// English contractions written without their apostrophe (common in
/// reviews and chat).
const CONTRACTIONS_EN: &[&str] = &[
    "dont", "didnt", "doesnt", "isnt", "wasnt", "cant", "wont", "couldnt", "wouldnt", "shouldnt",
    "arent", "werent", "aint", "havent", "hasnt",
];

/// Chinese negators as jieba cuts them.
const NEGATORS_ZH: &[&str] = &[
    "不",
    "没",
    "没有",
    "别",
    "无",
    "未",
    "不是",
    "不太",
    "不够",
    "并不",
    "毫不",
    "从不",
    "绝不",
    "毫无",
    "不怎么",
    "不会",
    "不能",
    "不要",
    "不用",
    "不算",
    "没什么",
    "从没",
    "并没有",
];

/// True if `token` negates what follows it in its clause (English in any
/// case; no allocation, as it runs for every token of every text).
pub fn is_negator(token: &str) -> bool {
    let b = token.as_bytes();
    (b.len() >= 3 && b[b.len() - 3..].eq_ignore_ascii_case(b"n't"))
        || NEGATORS_EN.iter().any(|n| n.eq_ignore_ascii_case(token))
        || CONTRACTIONS_EN
            .iter()
            .any(|n| n.eq_ignore_ascii_case(token))
        || NEGATORS_ZH.contains(&token)
}

#[cfg(test)]
mod tests {
    #[test]
    fn negators_in_both_languages_and_any_case() {
        for t in [
            "not", "Never", "isn't", "DONT", "n't", "lacks", "不", "没有", "绝不",
        ] {
            assert!(super::is_negator(t), "{t}");
        }
        for t in ["note", "know", "tint", "好", "不错", ""] {
            assert!(!super::is_negator(t), "{t}");
        }
    }
}
