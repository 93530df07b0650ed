//! Any text through both Chinese modes of the pipeline: tokens with offsets
//! that lie inside the text on character boundaries, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use textrnn::text::{ChineseMode, TextPipeline};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for mode in [ChineseMode::Words { hmm: true }, ChineseMode::Chars] {
        let mut p = TextPipeline::default();
        p.segmenter.chinese = mode;
        for t in p.tokenize(&text) {
            assert!(t.start <= t.end && t.end <= text.len(), "offsets out of range");
            assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
            assert!(!t.text.is_empty());
        }
    }
});
