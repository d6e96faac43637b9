//! `cargo run --release -p doorstep-places --example bench -- [queries] [routes]`: the same report as
//! `doorstep bench places`, without building the server.

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok());
    let config = doorstep_places::bench::BenchConfig {
        queries: args.next().flatten().unwrap_or(5_000),
        routes: args.next().flatten().unwrap_or(300),
        seed: 1,
    };
    print!("{}", doorstep_places::bench::run(&config)?);
    Ok(())
}
