//! `doorstep bench places`: see `doorstep_places::bench`.

/// Arguments of `bench places`.
#[derive(Debug, clap::Args)]
pub struct PlacesArgs {
    /// Searches to run (cycling through the query list as typed).
    #[arg(long, default_value_t = 5_000)]
    pub queries: usize,
    /// Random routes to run.
    #[arg(long, default_value_t = 300)]
    pub routes: usize,
    /// Seed of the random route ends.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs the benchmark and prints its report.
pub fn run(args: &PlacesArgs) -> anyhow::Result<()> {
    let report = doorstep_places::bench::run(&doorstep_places::bench::BenchConfig {
        queries: args.queries,
        routes: args.routes,
        seed: args.seed,
    })
    .map_err(anyhow::Error::msg)?;
    print!("{report}");
    Ok(())
}
