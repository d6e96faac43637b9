//! Criterion benchmarks of whole simulated days: one SUI and one MUI day per online policy through
//! [`simulate`] with [`NoStopwatch`] (no clock read inside the day), `greedy` as the baseline in the
//! same group, so each group reads as a ratio. Each iteration starts from a fresh policy on the
//! same pre-generated day, so it measures the policy's decisions plus the engine, not the day's
//! generation.
//!
//! Run: `cargo bench -p doorstep-sim --bench day -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use doorstep_sim::{
    Batch, BatchTuning, Day, Greedy, InstanceClass, Model, NoStopwatch, Policy, simulate,
};

/// Makes a fresh policy for one simulated day.
type MakePolicy = fn() -> Box<dyn Policy>;

/// The policies measured, by the names `doorstep bench ridehail` uses; `greedy` first.
fn policies() -> [(&'static str, MakePolicy); 3] {
    [
        ("greedy", || Box::new(Greedy::default())),
        ("batch", || Box::new(Batch::new(BatchTuning::default()))),
        ("batch+reposition", || {
            Box::new(Batch::with_reposition(BatchTuning::default()))
        }),
    ]
}

fn day(c: &mut Criterion) {
    let model = Model::manhattan();
    for (name, class) in [("SUI", InstanceClass::Sui), ("MUI", InstanceClass::Mui)] {
        let day = Day::generate(&model, class, 0);
        let mut group = c.benchmark_group(format!("ridehail_day/{name}"));
        group.sample_size(10);
        for (policy_name, make) in policies() {
            group.bench_function(policy_name, |b| {
                b.iter(|| {
                    let mut policy = make();
                    simulate(&model, black_box(&day), policy.as_mut(), &mut NoStopwatch)
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, day);
criterion_main!(benches);
