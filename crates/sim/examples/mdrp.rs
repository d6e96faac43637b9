//! `doorstep bench mdrp` without building the whole binary:
//! `cargo run --release -p doorstep-sim --example mdrp -- --instances DIR --seeds 0-6`.

use clap::Parser;

/// The arguments of `doorstep bench mdrp`.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: doorstep_sim::mdrp::bench::MdrpArgs,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = doorstep_sim::mdrp::bench::run(&cli.args) {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}
