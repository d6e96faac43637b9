//! Parameter sweep of the batch policy: `cargo run --release -p doorstep-sim --example tune -- SUI 10`.

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
                ..BatchTuning::default()
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
                if theta == thetas[0] && p == patience[0] {
                    let ride: f64 = r
                        .outcome
                        .services
                        .iter()
                        .map(|s| day.requests[s.request as usize].ride_secs)
                        .sum();
                    let all_ride: f64 = day.requests.iter().map(|r| r.ride_secs).sum();
                    let mut hourly = vec![0usize; 24];
                    for s in &r.outcome.services {
                        hourly[(s.assigned_at / 3600.0) as usize] += 1;
                    }
                    let mut hreq = vec![0usize; 24];
                    for q in &day.requests {
                        hreq[(q.release / 3600.0) as usize] += 1;
                    }
                    println!(
                        "ride util {:.3} all-ride util {:.3} queued {} empty_km {:.0} loaded_km {:.0}",
                        ride / (86400.0 * day.class.vehicles() as f64),
                        all_ride / (86400.0 * day.class.vehicles() as f64),
                        r.outcome.services.iter().filter(|s| s.queued).count(),
                        r.outcome.empty_km,
                        r.outcome.loaded_km
                    );
                    println!("served/hour {hourly:?}\nreq/hour {hreq:?}");
                }
            }
            println!(
                "theta {theta:.4} patience {p:>5.0}: profit {:.0} served {:.3}",
                total / seeds as f64,
                served / seeds as f64
            );
        }
    }
}
