//! Reading corpora: formats, fields, odd line ends and every per-line error.

use textrnn::corpus::{read_corpus, read_corpus_from, CorpusError, Format, ReadOptions};

fn read(
    bytes: &[u8],
    format: Format,
    opts: &ReadOptions,
) -> Result<Vec<(String, Option<String>, usize)>, CorpusError> {
    let c = read_corpus_from(bytes, "in", format, opts)?;
    Ok(c.docs
        .into_iter()
        .map(|d| (d.text, d.label, d.line))
        .collect())
}

fn texts(bytes: &[u8], format: Format) -> Vec<String> {
    read(bytes, format, &ReadOptions::default())
        .unwrap()
        .into_iter()
        .map(|d| d.0)
        .collect()
}

fn labeled() -> ReadOptions {
    ReadOptions {
        label_field: Some("label".into()),
        ..ReadOptions::default()
    }
}

fn line_error(bytes: &[u8], format: Format, opts: &ReadOptions) -> (usize, String) {
    match read(bytes, format, opts) {
        Err(CorpusError::Line {
            line,
            problem,
            source_name,
        }) => {
            assert_eq!(source_name, "in");
            (line, problem)
        }
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn plain_text_handles_bom_crlf_lone_cr_and_blank_lines() {
    assert_eq!(
        texts(b"\xEF\xBB\xBFone\r\ntwo\r\n", Format::Txt),
        vec!["one", "two"]
    );
    assert_eq!(texts(b"a\rb\rc", Format::Txt), vec!["a", "b", "c"]);
    // Blank lines are empty documents so outputs stay aligned with input lines.
    assert_eq!(texts(b"a\n\nb\n", Format::Txt), vec!["a", "", "b"]);
    let docs = read(b"x\ny\n", Format::Txt, &ReadOptions::default()).unwrap();
    assert_eq!(docs[1].2, 2);
}

#[test]
fn invalid_utf8_names_the_line_and_can_be_skipped() {
    let bytes = b"good\nbad \xFF byte\nalso good\n";
    let (line, problem) = line_error(bytes, Format::Txt, &ReadOptions::default());
    assert_eq!(line, 2);
    assert!(problem.contains("invalid UTF-8 at byte 4"), "{problem}");
    let opts = ReadOptions {
        skip_bad_lines: true,
        ..ReadOptions::default()
    };
    let c = read_corpus_from(&bytes[..], "in", Format::Txt, &opts).unwrap();
    assert_eq!(c.texts(), vec!["good", "also good"]);
    assert_eq!(c.skipped.len(), 1);
    assert_eq!((c.skipped[0].record, c.skipped[0].line), (1, 2));
    assert_eq!(c.record_map(), vec![Some(0), None, Some(1)]);
}

#[test]
fn jsonl_fields_labels_and_nested_paths() {
    let bytes =
        "{\"text\": \"你好 world\", \"label\": \"greet\"}\n\n{\"text\": \"b\", \"label\": 3}\r\n"
            .as_bytes();
    let docs = read(bytes, Format::Jsonl, &labeled()).unwrap();
    assert_eq!(docs[0], ("你好 world".into(), Some("greet".into()), 1));
    assert_eq!(docs[1], ("b".into(), Some("3".into()), 3));
    let nested = ReadOptions {
        text_field: "meta.body".into(),
        ..ReadOptions::default()
    };
    let docs = read(
        b"{\"meta\": {\"body\": \"deep\"}}\n",
        Format::Jsonl,
        &nested,
    )
    .unwrap();
    assert_eq!(docs[0].0, "deep");
}

#[test]
fn jsonl_errors_say_what_is_wrong() {
    let d = ReadOptions::default();
    let (line, p) = line_error(b"{\"text\": \"ok\"}\n{\"text\": \n", Format::Jsonl, &d);
    assert_eq!(line, 2);
    assert!(p.contains("not valid JSON"), "{p}");
    let (_, p) = line_error(b"{\"body\": \"x\"}\n", Format::Jsonl, &d);
    assert!(p.contains("no field \"text\""), "{p}");
    let (_, p) = line_error(b"{\"text\": null}\n", Format::Jsonl, &d);
    assert!(p.contains("is null, expected a string"), "{p}");
    let (_, p) = line_error(b"{\"text\": 12}\n", Format::Jsonl, &d);
    assert!(p.contains("is a number"), "{p}");
    let (_, p) = line_error(b"{\"text\": [\"a\"]}\n", Format::Jsonl, &d);
    assert!(p.contains("is an array"), "{p}");
    let (_, p) = line_error(b"[1, 2]\n", Format::Jsonl, &d);
    assert!(p.contains("expected a JSON object"), "{p}");
    let (_, p) = line_error(b"{\"text\": \"a\"}\n", Format::Jsonl, &labeled());
    assert!(p.contains("no label field"), "{p}");
}

#[test]
fn csv_quotes_newlines_bom_and_ragged_rows() {
    let bytes =
        b"\xEF\xBB\xBFid,text,label\r\n1,\"hello, \"\"quoted\"\"\nsecond line\",a\r\n2,plain,b\r\n";
    let docs = read(bytes, Format::Csv, &labeled()).unwrap();
    assert_eq!(docs[0].0, "hello, \"quoted\"\nsecond line");
    assert_eq!(docs[1], ("plain".into(), Some("b".into()), 4));
    let (line, p) = line_error(b"text,label\na,b\nc,d,e\n", Format::Csv, &labeled());
    assert_eq!(line, 3);
    assert!(p.contains("3 fields but the header has 2"), "{p}");
    match read(b"body,label\nx,y\n", Format::Csv, &ReadOptions::default()) {
        Err(CorpusError::File { problem, .. }) => assert!(
            problem.contains("no column \"text\"") && problem.contains("body, label"),
            "{problem}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tsv_reads_columns_and_reports_stray_tabs() {
    let docs = read(
        b"label\ttext\nx\tfirst text\ny\tsecond\n",
        Format::Tsv,
        &labeled(),
    )
    .unwrap();
    assert_eq!(docs[1], ("second".into(), Some("y".into()), 3));
    let (line, _) = line_error(b"label\ttext\nx\tone\ttoo many\n", Format::Tsv, &labeled());
    assert_eq!(line, 2);
}

#[test]
fn empty_inputs_are_errors() {
    for (bytes, f) in [
        (&b""[..], Format::Txt),
        (b"\n\n", Format::Jsonl),
        (b"", Format::Csv),
        (b"text\n", Format::Csv),
    ] {
        match read(bytes, f, &ReadOptions::default()) {
            Err(CorpusError::File { problem, .. }) => {
                assert!(problem.contains("no texts"), "{problem}")
            }
            other => panic!("{f}: {other:?}"),
        }
    }
    let opts = ReadOptions {
        skip_bad_lines: true,
        ..ReadOptions::default()
    };
    match read(b"nope\n", Format::Jsonl, &opts) {
        Err(CorpusError::File { problem, .. }) => {
            assert!(problem.contains("all 1 records were bad"), "{problem}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn files_formats_by_extension_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.tsv");
    std::fs::write(&p, "text\nfrom a file\n").unwrap();
    let c = read_corpus(p.to_str().unwrap(), &ReadOptions::default()).unwrap();
    assert_eq!((c.format, c.texts()), (Format::Tsv, vec!["from a file"]));
    let err = read_corpus(dir.path().to_str().unwrap(), &ReadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
    let err = read_corpus(
        dir.path().join("missing.txt").to_str().unwrap(),
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("missing.txt: cannot read"),
        "{err}"
    );
}

/// The format of stdin and of files with no known extension comes from the
/// first line; a known extension wins, with a warning when the first line
/// says otherwise; a text field asked for in plain text is reported.
#[test]
fn formats_are_chosen_from_the_first_line_where_the_name_says_nothing() {
    use textrnn::corpus::{choose_format, sniff_format};
    let opts = ReadOptions::default();
    let json = r#"{"text": "hello", "label": "greeting"}"#;
    assert_eq!(sniff_format(json, "text"), Some(Format::Jsonl));
    assert_eq!(
        sniff_format("\u{feff}{\"a\": 1}\r\n", "text"),
        Some(Format::Jsonl)
    );
    assert_eq!(sniff_format("id,text,label", "text"), Some(Format::Csv));
    assert_eq!(
        sniff_format("\"text\",\"label\"", "text"),
        Some(Format::Csv)
    );
    assert_eq!(sniff_format("text\tlabel", "text"), Some(Format::Tsv));
    assert_eq!(sniff_format("body,label", "text"), None);
    assert_eq!(sniff_format("{not json", "text"), None);
    assert_eq!(sniff_format("[1, 2]", "text"), None);
    assert_eq!(sniff_format("the text, as written", "text"), None);

    let (f, notes) = choose_format("-", &opts, Some(json), false);
    assert_eq!(f, Format::Jsonl);
    assert!(notes[0].contains("<stdin> as JSON lines"), "{notes:?}");
    let (f, notes) = choose_format("-", &opts, Some("just words"), false);
    assert_eq!((f, notes.len()), (Format::Txt, 0));
    let (f, notes) = choose_format("data.txt", &opts, Some(json), false);
    assert_eq!(f, Format::Txt);
    assert!(notes[0].contains("--format jsonl"), "{notes:?}");
    let (f, notes) = choose_format("data.dat", &opts, Some("words"), false);
    assert_eq!(f, Format::Txt);
    assert!(notes[0].contains("unknown extension .dat"), "{notes:?}");
    let forced = ReadOptions {
        format: Some(Format::Txt),
        text_field: "body".into(),
        ..ReadOptions::default()
    };
    let (f, notes) = choose_format("-", &forced, Some(json), true);
    assert_eq!(f, Format::Txt);
    assert!(
        notes[0].contains("--text-field body is ignored"),
        "{notes:?}"
    );
    let (f, notes) = choose_format("-", &forced, Some(json), false);
    assert_eq!(
        (f, notes.len()),
        (Format::Txt, 0),
        "a field the user did not name: {notes:?}"
    );
    let (f, notes) = choose_format("data.jsonl", &opts, None, true);
    assert_eq!((f, notes.len()), (Format::Jsonl, 0));
}

/// An id field is read like a label: a string, or a number written as JSON;
/// a missing one is an error naming the fields the record has.
#[test]
fn ids_are_read_from_json_and_csv() {
    let opts = ReadOptions {
        id_field: Some("id".into()),
        ..ReadOptions::default()
    };
    let c = read_corpus_from(
        &b"{\"id\": 7, \"text\": \"a\"}\n{\"id\": \"x-1\", \"text\": \"b\"}\n"[..],
        "in",
        Format::Jsonl,
        &opts,
    )
    .unwrap();
    let ids: Vec<Option<String>> = c.docs.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids, [Some("7".into()), Some("x-1".into())]);
    let c = read_corpus_from(&b"id,text\n3,a\n4,b\n"[..], "in", Format::Csv, &opts).unwrap();
    assert_eq!(c.docs[1].id.as_deref(), Some("4"));
    let err =
        read_corpus_from(&b"{\"text\": \"a\"}\n"[..], "in", Format::Jsonl, &opts).unwrap_err();
    assert!(
        err.to_string()
            .contains("no id field \"id\" (the record has \"text\")"),
        "{err}"
    );
    let err = read_corpus_from(&b"text\na\n"[..], "in", Format::Csv, &opts).unwrap_err();
    assert!(err.to_string().contains("no id column"), "{err}");
}

/// CSV / TSV without a header: the first row is data and columns are named
/// by number from 1.
#[test]
fn headerless_csv_names_columns_by_number() {
    let opts = ReadOptions {
        text_field: "2".into(),
        label_field: Some("3".into()),
        id_field: Some("1".into()),
        no_header: true,
        ..ReadOptions::default()
    };
    let c = read_corpus_from(
        &b"7,first text,a\n8,\"second, quoted\",b\n"[..],
        "in",
        Format::Csv,
        &opts,
    )
    .unwrap();
    let rows: Vec<(&str, Option<&str>, Option<&str>, usize)> = c
        .docs
        .iter()
        .map(|d| (d.text.as_str(), d.label.as_deref(), d.id.as_deref(), d.line))
        .collect();
    assert_eq!(
        rows,
        [
            ("first text", Some("a"), Some("7"), 1),
            ("second, quoted", Some("b"), Some("8"), 2)
        ]
    );
    let c = read_corpus_from(
        &b"x\ty\n"[..],
        "in",
        Format::Tsv,
        &ReadOptions {
            text_field: "2".into(),
            no_header: true,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(c.docs[0].text, "y");
    let err = read_corpus_from(
        &b"a,b\n"[..],
        "in",
        Format::Csv,
        &ReadOptions {
            no_header: true,
            ..ReadOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("columns by number) has no column \"text\" (columns: 1, 2)"),
        "{err}"
    );
}
