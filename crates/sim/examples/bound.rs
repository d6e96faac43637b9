//! Prints the offline bounds of a few days: `cargo run --release -p doorstep-sim --example bound -- SUI 3 60`.

use doorstep_sim::{Day, InstanceClass, Model, chain_bound, loose_bound};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let class: InstanceClass = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(InstanceClass::Sui);
    let seeds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let iterations: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(60);
    let model = Model::manhattan();
    for seed in 0..seeds {
        let day = Day::generate(&model, class, seed);
        let loose = loose_bound(&model, &day);
        let chain = chain_bound(&model, &day, iterations);
        println!(
            "seed {seed}: loose {:.0} chain {:?}",
            loose.profit,
            chain.map(|c| (c.profit.round(), c.served))
        );
    }
}
