//! Any bytes, read as each input format with and without --skip-bad-lines:
//! records or errors, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use textrnn::corpus::{DocReader, Format, ReadOptions};

fuzz_target!(|data: &[u8]| {
    for format in [Format::Txt, Format::Jsonl, Format::Csv, Format::Tsv] {
        for skip in [false, true] {
            let opts = ReadOptions {
                format: Some(format),
                text_field: "a.b".into(),
                label_field: Some("label".into()),
                skip_bad_lines: skip,
                id_field: Some("id".into()),
                no_header: skip,
            };
            let Ok(reader) = DocReader::new(data, "fuzz", format, &opts) else {
                continue;
            };
            for (i, item) in reader.enumerate() {
                if let Err(e) = item {
                    let _ = e.to_string();
                    if !skip {
                        break;
                    }
                }
                assert!(i <= data.len() + 1, "more records than bytes");
            }
        }
    }
});
