//! Stop words: function words that say nothing about a topic.
//!
//! Written for textrnn from general knowledge of English and Chinese (not
//! copied from another project's list). Used by TF-IDF and by cluster
//! descriptions; the RNN sees every token.

/// English function words: articles, pronouns, auxiliaries, prepositions,
/// conjunctions, common adverbs and contraction pieces.
pub const ENGLISH: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "almost", "also", "although", "always", "am",
    "among", "an", "and", "another", "any", "anyone", "anything", "are", "around", "as", "at", "be", "became",
    "because", "become", "been", "before", "being", "below", "between", "both", "but", "by", "can", "cannot",
    "could", "did", "do", "does", "doing", "done", "down", "during", "each", "either", "else", "enough", "etc",
    "even", "ever", "every", "few", "for", "from", "further", "get", "gets", "got", "had", "has", "have", "having",
    "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however", "i", "if", "in", "into",
    "is", "it", "its", "itself", "just", "least", "less", "let", "may", "me", "might", "more", "most", "much",
    "must", "my", "myself", "neither", "no", "nor", "not", "now", "of", "off", "often", "on", "once", "one",
    "only", "or", "other", "others", "our", "ours", "ourselves", "out", "over", "own", "per", "perhaps", "quite",
    "rather", "really", "same", "shall", "she", "should", "since", "so", "some", "someone", "something", "still",
    "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "therefore", "these",
    "they", "this", "those", "though", "through", "thus", "to", "together", "too", "toward", "towards", "under",
    "until", "up", "upon", "us", "very", "via", "was", "we", "were", "what", "whatever", "when", "whenever",
    "where", "whether", "which", "while", "who", "whoever", "whom", "whose", "why", "will", "with", "within",
    "without", "would", "yet", "you", "your", "yours", "yourself", "yourselves", "s", "t", "d", "ll", "m", "re",
    "ve", "n't", "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "won't", "can't", "i'm",
    "it's", "that's", "there's", "they're", "we're", "you're", "i've", "i'd", "i'll",
];

/// Chinese function words: particles, pronouns, copulas, common conjunctions
/// and prepositions.
pub const CHINESE: &[&str] = &[
    "的", "了", "是", "在", "和", "与", "及", "或", "也", "都", "就", "而", "并", "又", "着", "过", "把", "被", "让",
    "给", "对", "从", "向", "为", "以", "于", "由", "这", "那", "这个", "那个", "这些", "那些", "我", "你", "他",
    "她", "它", "我们", "你们", "他们", "她们", "自己", "什么", "怎么", "哪", "吗", "呢", "吧", "啊", "呀", "哦",
    "之", "其", "有", "还", "但", "但是", "因为", "所以", "如果", "一个", "可以", "要", "会",
    "能", "说", "等", "将", "已", "已经", "得", "地",
];

/// True if `token` is an English or Chinese stop word.
pub fn is_stop_word(token: &str) -> bool {
    use std::collections::HashSet;
    use std::sync::OnceLock;
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| ENGLISH.iter().chain(CHINESE).copied().collect()).contains(token)
}
