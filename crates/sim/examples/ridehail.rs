//! `cargo run --release -p doorstep-sim --example ridehail -- --class SUI --seeds 3`: the same
//! benchmark as `doorstep bench ridehail`, without building the whole binary.

use clap::Parser;

/// The ride-hailing benchmark.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: doorstep_sim::bench::RidehailArgs,
}

fn main() -> Result<(), doorstep_sim::bench::BenchError> {
    let cli = Cli::parse();
    doorstep_sim::bench::run(doorstep_sim::bench::BenchCommand::Ridehail(cli.args))
}
