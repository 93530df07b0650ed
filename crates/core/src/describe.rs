//! Stage 8: saying what each cluster is about.
//!
//! Top terms by class-based TF-IDF (c-TF-IDF, as BERTopic uses): all texts of
//! a cluster form one document; a term's weight is its frequency in the
//! cluster times `ln(1 + A / f_t)`, with `A` the mean number of words per
//! cluster and `f_t` the term's frequency over all clusters, so words common
//! everywhere sink. A term must also occur in at least two of the cluster's
//! texts and in 1% of them: a word seen once scores `ln(1 + A)`, above most
//! repeated words, so without the floor a cluster of texts that share no
//! content word (trec's "What is a wop ?") was named after whichever
//! singletons sort first. Such a cluster keeps only the terms it shares (its
//! lead term), or none. The suggested name joins the top three terms. The most
//! representative texts are those with the highest score (the cluster
//! classifier's probability, or the soft assignment to the centroid).

use std::collections::HashMap;

/// A term's tally within one cluster.
#[derive(Clone, Copy)]
struct Term {
    count: f64,
    texts: usize,
    last: usize,
}

/// Top `top` terms per cluster by c-TF-IDF, with weights; `words[i]` are
/// text i's words (stop words already removed), `labels[i]` its cluster.
/// Terms found in fewer than `max(2, ceil(1%))` of the cluster's texts are
/// left out, so a list may be shorter than `top`, or empty.
pub fn class_tfidf(
    words: &[Vec<String>],
    labels: &[usize],
    k: usize,
    top: usize,
) -> Vec<Vec<(String, f32)>> {
    // Per cluster and term: its count, how many texts hold it, and the last
    // text that counted (so a word repeated inside one text counts it once).
    let mut per: Vec<HashMap<&str, Term>> = vec![HashMap::new(); k];
    let mut all: HashMap<&str, f64> = HashMap::new();
    let mut sizes = vec![0f64; k];
    let mut texts = vec![0usize; k];
    for (i, (doc, &l)) in words.iter().zip(labels).enumerate() {
        texts[l] += 1;
        // Punctuation may help clustering (Chinese titles) but names nothing.
        for w in doc.iter().filter(|w| w.chars().any(char::is_alphanumeric)) {
            let t = per[l].entry(w).or_insert(Term {
                count: 0.0,
                texts: 0,
                last: usize::MAX,
            });
            t.count += 1.0;
            if t.last != i {
                t.last = i;
                t.texts += 1;
            }
            *all.entry(w).or_insert(0.0) += 1.0;
            sizes[l] += 1.0;
        }
    }
    let avg = sizes.iter().sum::<f64>() / k.max(1) as f64;
    per.iter()
        .enumerate()
        .map(|(c, counts)| {
            let floor = 2.max(texts[c].div_ceil(100));
            let mut scored: Vec<(&str, f64)> = counts
                .iter()
                .filter(|(_, s)| s.texts >= floor)
                .map(|(&t, s)| (t, s.count / sizes[c].max(1.0) * (1.0 + avg / all[t]).ln()))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            scored
                .into_iter()
                .take(top)
                .map(|(t, s)| (t.to_string(), s as f32))
                .collect()
        })
        .collect()
}

/// A name from the top terms: the first three joined by "/" (or `cluster-ID`).
pub fn suggest_name(id: usize, top_terms: &[String]) -> String {
    if top_terms.is_empty() {
        format!("cluster-{id}")
    } else {
        top_terms
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Indices of the `n` highest-scoring texts of each cluster, best first.
pub fn representatives(labels: &[usize], scores: &[f32], k: usize, n: usize) -> Vec<Vec<usize>> {
    let mut by = crate::rows::ranked_by_class(labels, scores, k);
    by.iter_mut().for_each(|list| list.truncate(n));
    by
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_tfidf_prefers_distinctive_terms() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let words = vec![
            w("goal match team common"),
            w("goal team match common"),
            w("bank loan stock common"),
            w("bank stock loan common"),
        ];
        let top = class_tfidf(&words, &[0, 0, 1, 1], 2, 2);
        assert_eq!(top[0][0].0, "goal");
        assert_eq!(top[1][0].0, "bank");
        assert!(top[0].iter().all(|(t, _)| t != "common" && t != ","));
        assert_eq!(suggest_name(0, &[]), "cluster-0");
        assert_eq!(
            representatives(&[0, 0, 1], &[0.2, 0.9, 0.5], 2, 1),
            vec![vec![1], vec![2]]
        );
    }

    #[test]
    fn class_tfidf_drops_terms_that_one_text_holds() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        // Cluster 0: "what is X?" with a different rare X each time, one word
        // ("laser") in two texts, and one repeated inside a single text.
        let mut words = vec![
            w("^what wop"),
            w("^what tmj"),
            w("^what dsl dsl"),
            w("^what laser"),
            w("^what laser urologist"),
        ];
        let mut labels = vec![0; words.len()];
        for t in ["^who first president", "^who first wrote", "^who wrote"] {
            words.push(w(t));
            labels.push(1);
        }
        let top = class_tfidf(&words, &labels, 2, 10);
        let terms = |c: usize| top[c].iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>();
        // "dsl" twice in one text still counts one text: left out.
        assert_eq!(terms(0), vec!["^what", "laser"]);
        assert_eq!(terms(1), vec!["^who", "first", "wrote"]);
        // A cluster whose texts share nothing gets no terms and a plain name.
        let top = class_tfidf(&[w("wop"), w("tmj")], &[0, 0], 1, 5);
        assert!(top[0].is_empty());
        assert_eq!(suggest_name(3, &[]), "cluster-3");
    }
}
