//! Distils multilingual-e5-small into a static table (`nexus_aria::distilled`):
//!
//!     cargo run --release -p nexus-aria --example e5_static -- <e5 model dir> <out dir>
//!
//! Runs every vocabulary token through the encoder alone (about 250,000 short
//! sequences) and writes `<out dir>/e5-static.bin`, with a copy of the model file beside
//! it for the tokenizer; point `ARIA_EMBEDDING_MODEL_DIR` at `<out dir>` to use it.
use std::time::Instant;

use nexus_aria::{distilled, e5};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(model_dir), Some(out_dir)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: e5_static <e5 model dir> <out dir>");
    };
    let (model_dir, out_dir) = (
        std::path::PathBuf::from(model_dir),
        std::path::PathBuf::from(out_dir),
    );
    let model = e5::Model::load(&model_dir.join(e5::FILE_NAME))?;
    std::fs::create_dir_all(&out_dir)?;
    std::fs::copy(model_dir.join(e5::FILE_NAME), out_dir.join(e5::FILE_NAME))?;
    let vocab = model.vocabulary();
    let started = Instant::now();
    let mut last = Instant::now();
    distilled::distil(&model, &out_dir.join(distilled::FILE_NAME), |done| {
        if last.elapsed().as_secs() >= 10 || done == vocab {
            last = Instant::now();
            let rate = done as f64 / started.elapsed().as_secs_f64();
            eprintln!("{done} / {vocab} tokens, {rate:.0} a second");
        }
    })?;
    println!(
        "{vocab} tokens distilled in {:.0} s into {}",
        started.elapsed().as_secs_f64(),
        out_dir.join(distilled::FILE_NAME).display()
    );
    Ok(())
}
