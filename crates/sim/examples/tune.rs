//! Parameter sweep of the batch policies, printing the mean profit and served share over seeds:
//!
//! `cargo run --release -p doorstep-sim --example tune -- CLASS SEEDS THETAS PATIENCES [r|n] RANGE_KM
//! EXPONENT PRESSURE_LOW PRESSURE_HIGH WAIT_VALUE INTERVAL_S [RECHECK_S [WINDOW_S]]`, lists
//! comma-separated, for example `tune -- SUI 10 0.015,0.03 0 r 20 1 1 2 0.02 60` (`r`: with
//! repositioning).

use doorstep_sim::{Batch, BatchTuning, Day, InstanceClass, Model, NoStopwatch, simulate};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let class: InstanceClass = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(InstanceClass::Sui);
    let seeds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let thetas: Vec<f64> = args
        .get(3)
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![0.0, 0.008, 0.015, 0.02, 0.03]);
    let patience: Vec<f64> = args
        .get(4)
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![0.0]);
    let reposition = args.get(5).is_some_and(|s| s == "r");
    let rmax: f64 = args.get(6).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let expo: f64 = args.get(7).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let plo: f64 = args.get(8).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let phi: f64 = args.get(9).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let wait_value: f64 = args.get(10).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let interval: f64 = args.get(11).and_then(|s| s.parse().ok()).unwrap_or(60.0);
    let defaults = BatchTuning::default();
    let recheck: f64 = args
        .get(12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(defaults.recheck_secs);
    let window: f64 = args
        .get(13)
        .and_then(|s| s.parse().ok())
        .unwrap_or(defaults.window_secs);
    let model = Model::manhattan();
    let days: Vec<Day> = (0..seeds)
        .map(|s| Day::generate(&model, class, s))
        .collect();
    for &theta in &thetas {
        for &p in &patience {
            let tuning = BatchTuning {
                vehicle_secs_value: theta,
                patience_secs: p,
                patience_margin: 5.0,
                reposition_max_km: rmax,
                reposition_exponent: expo,
                pressure_low: plo,
                pressure_high: phi,
                wait_secs_value: wait_value,
                reposition_interval_secs: interval,
                recheck_secs: recheck,
                window_secs: window,
                ..defaults
            };
            let mut total = 0.0;
            let mut served = 0.0;
            for day in &days {
                let mut policy = if reposition {
                    Batch::with_reposition(tuning)
                } else {
                    Batch::new(tuning)
                };
                let r = simulate(&model, day, &mut policy, &mut NoStopwatch);
                total += r.outcome.profit;
                served += r.outcome.served as f64 / r.outcome.requests as f64;
            }
            println!(
                "theta {theta:.4} patience {p:>5.0}: profit {:.0} served {:.3}",
                total / seeds as f64,
                served / seeds as f64
            );
        }
    }
}
