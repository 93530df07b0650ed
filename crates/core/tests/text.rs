//! The text pipeline: mixed scripts, offsets that slice back, policies, serialization.

use textrnn::text::segment::TokenKind;
use textrnn::text::{ChineseMode, Policy, TextPipeline};

fn check_offsets(p: &TextPipeline, text: &str) {
    for t in p.tokenize(text) {
        let src = &text[t.start..t.end];
        if t.kind != TokenKind::Url || p.segmenter.urls == Policy::Keep {
            let renormalized = p.tokens(src);
            assert!(
                renormalized.concat() == t.text || renormalized.contains(&t.text),
                "token {:?} at {}..{} slices to {src:?}",
                t.text,
                t.start,
                t.end
            );
        }
    }
}

#[test]
fn mixed_chinese_and_english() {
    let p = TextPipeline::default();
    let text = "我爱北京天安门, I love Beijing! 今天用Python写代码。";
    let toks = p.tokens(text);
    assert!(toks.contains(&"北京".to_string()), "{toks:?}");
    assert!(toks.contains(&"天安门".to_string()), "{toks:?}");
    assert!(
        toks.contains(&"love".to_string()) && toks.contains(&"beijing".to_string()),
        "{toks:?}"
    );
    assert!(
        toks.contains(&"python".to_string()) && toks.contains(&"代码".to_string()),
        "{toks:?}"
    );
    check_offsets(&p, text);
    for t in p.tokenize(text) {
        if t.text == "beijing" {
            assert_eq!(&text[t.start..t.end], "Beijing");
        }
    }
}

#[test]
fn offsets_survive_full_width_and_combining_marks() {
    let p = TextPipeline::default();
    let text = "ＨＥＬＬＯ　世界！ Cafe\u{301} ｃ＋＋ 2024年";
    let toks = p.tokenize(text);
    let hello = toks.iter().find(|t| t.text == "hello").expect("hello");
    assert_eq!(&text[hello.start..hello.end], "ＨＥＬＬＯ");
    let cafe = toks.iter().find(|t| t.text == "café").expect("café");
    assert_eq!(&text[cafe.start..cafe.end], "Cafe\u{301}");
    let cpp = toks
        .iter()
        .find(|t| t.text == "c++")
        .expect("c++ kept whole");
    assert_eq!(&text[cpp.start..cpp.end], "ｃ＋＋");
    check_offsets(&p, text);
}

#[test]
fn chinese_by_characters() {
    let mut p = TextPipeline::default();
    p.segmenter.chinese = ChineseMode::Chars;
    assert_eq!(p.tokens("天安门 ok"), vec!["天", "安", "门", "ok"]);
}

#[test]
fn urls_numbers_punctuation_and_emoji_follow_their_policies() {
    let mut p = TextPipeline::default();
    let text = "see https://example.com/a?b=1. price 3.50, wow 😀👍 c# rocks";
    let toks = p.tokens(text);
    assert_eq!(
        toks,
        vec!["see", "<url>", ".", "price", "3.50", ",", "wow", "😀", "👍", "c#", "rocks"]
    );
    let url = p
        .tokenize(text)
        .into_iter()
        .find(|t| t.kind == TokenKind::Url)
        .unwrap();
    assert_eq!(&text[url.start..url.end], "https://example.com/a?b=1");
    p.segmenter.digits = Policy::Placeholder;
    p.segmenter.punctuation = Policy::Drop;
    p.segmenter.emoji = Policy::Drop;
    p.segmenter.urls = Policy::Keep;
    assert_eq!(
        p.tokens(text),
        vec![
            "see",
            "https://example.com/a?b=1",
            "price",
            "<num>",
            "wow",
            "c#",
            "rocks"
        ]
    );
}

#[test]
fn odd_inputs_do_not_panic() {
    let p = TextPipeline::default();
    for text in [
        "",
        " ",
        "\u{301}",
        "\0\0",
        "🇨🇳🇺🇸",
        "👩‍👩‍👧",
        "http://",
        "www.",
        "ｗｗｗ.例子.中国",
        "\u{FEFF}x",
    ] {
        let _ = p.tokenize(text);
        check_offsets(&p, text);
    }
    let long: String = "中文没有空格".repeat(2000);
    assert!(!p.tokens(&long).is_empty());
}

#[test]
fn pipeline_serializes_with_type_tags_and_round_trips() {
    let mut p = TextPipeline::default();
    p.segmenter.chinese = ChineseMode::Chars;
    let json = p.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["normalizers"][0]["type"], "nfkc");
    assert_eq!(v["segmenter"]["type"], "per_script");
    assert_eq!(v["segmenter"]["chinese"]["type"], "chars");
    let back = TextPipeline::from_json(&json).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.tokens("天安门 ABC"), p.tokens("天安门 ABC"));
}
