//! `textrnn tokenize`: show how the text pipeline cuts each text.

use std::io::Write;

use anyhow::Result;
use clap::Args;

use super::{ChineseArg, InputArgs};

/// Print each text's tokens (space-separated), or with --lengths its token count, one line per text.
///
/// Examples:
///   echo "我爱北京天安门 and Beijing!" | textrnn tokenize -
///   textrnn tokenize ../shared/data/stackoverflow/data.jsonl --lengths > lengths.txt
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TokenizeArgs {
    #[command(flatten)]
    input: InputArgs,
    /// How Chinese is cut.
    #[arg(long, value_enum, default_value_t)]
    chinese: ChineseArg,
    /// Print the number of tokens instead of the tokens.
    #[arg(long)]
    lengths: bool,
    /// Print the pipeline's JSON configuration first (as saved inside models).
    #[arg(long)]
    show_pipeline: bool,
}

pub fn run(a: TokenizeArgs) -> Result<()> {
    let pipeline = a.chinese.pipeline();
    let corpus = a.input.read()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.show_pipeline {
        writeln!(out, "{}", serde_json::to_string(&pipeline)?)?;
    }
    for doc in &corpus.docs {
        let toks = pipeline.tokens(&doc.text);
        if a.lengths {
            writeln!(out, "{}", toks.len())?;
        } else {
            writeln!(out, "{}", toks.join(" "))?;
        }
    }
    out.flush()?;
    Ok(())
}
