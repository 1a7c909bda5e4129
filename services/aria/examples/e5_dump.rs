//! Prints, for each line "q|p<TAB>text" of stdin, the tokenizer's content ids of the
//! text and its embedding (E5 prefix by role), as the C oracle in
//! services/aria/eval/e5-oracle does (`compare.sh` there runs both).
use std::io::BufRead;

use nexus_aria::e5::{Model, Role};

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: e5_dump <e5-small-q4.bin> < lines");
    let started = std::time::Instant::now();
    let model = Model::load(std::path::Path::new(&path))?;
    eprintln!("loaded in {:?}", started.elapsed());
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let (role, text) = line.split_once('\t').unwrap_or((&line, ""));
        let role = if role == "q" {
            Role::Query
        } else {
            Role::Passage
        };
        let ids = model.tokenizer.content_ids(text);
        let vector = model.embed(role, &[text.to_owned()])?.remove(0);
        println!("{}", serde_json::json!({"ids": ids, "vec": vector}));
    }
    Ok(())
}
