//! Runs the live-index benchmarks without the `doorstep` binary, until the CLI wires them in as
//! `doorstep bench geo` and `doorstep bench ingest`:
//!
//! ```text
//! cargo run --release -p doorstep-loadtest --example loadtest -- geo --drivers 10000,100000
//! cargo run --release -p doorstep-loadtest --example loadtest -- ingest --url http://127.0.0.1:18700 --redis redis://127.0.0.1:6379
//! ```

use clap::{Parser, Subcommand};
use doorstep_loadtest::{GeoArgs, IngestArgs, LoadtestError};

/// Live-index benchmarks.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// In-process updates and nearest queries on the H3 index and the grid.
    Geo(GeoArgs),
    /// A running server (and Redis) under simulated drivers.
    Ingest(IngestArgs),
}

fn main() -> Result<(), LoadtestError> {
    match Cli::parse().command {
        Command::Geo(args) => doorstep_loadtest::run_geo(&args),
        Command::Ingest(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| LoadtestError::Usage(format!("cannot start tokio: {e}")))?
            .block_on(doorstep_loadtest::run_ingest(&args)),
    }
}
