//! The IO-free dispatcher: offers, answers, expiry, unfulfilled jobs, repositioning, and a property
//! test that no job is ever dropped whatever the shell and the workers do.

use super::common::{CITY, Grid, Pt, ride};
use doorstep_dispatch::{
    Action, DispatchConfig, Dispatcher, Forecast, Input, JobHistory, NoForecast, OfferNo, OpenJob,
    Unfulfilled, Window,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

type Core<F = NoForecast> = Dispatcher<u32, u32, Pt, Grid, F>;

fn config() -> DispatchConfig {
    DispatchConfig {
        offer_timeout_secs: 15.0,
        candidates_per_job: 4,
        max_reach_km: 5.0,
        stale_after_secs: 60.0,
        retry_secs: 10.0,
        ..DispatchConfig::default()
    }
}

fn open(job: u32, at: Pt, now: f64) -> Input<u32, u32, Pt> {
    Input::JobOpened(OpenJob {
        job,
        stops: ride(job, at, Pt(at.0 + 1.0, at.1), Window::ANY).to_vec(),
        opened_at: now,
        give_up_at: now + 120.0,
        unassigned_cost: 1.0e7,
        excluded: Vec::new(),
        history: JobHistory::default(),
    })
}

fn worker(id: u32, at: Pt, now: f64) -> Input<u32, u32, Pt> {
    Input::WorkerMoved {
        worker: id,
        place: at,
        at: now,
        online: true,
        capacity: 1,
        stops: Vec::new(),
    }
}

fn offers(actions: &[Action<u32, u32, Pt>]) -> Vec<(OfferNo, u32, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Offer {
                offer, job, worker, ..
            } => Some((*offer, *job, *worker)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_job_goes_to_the_nearest_worker_and_after_a_decline_to_the_next() {
    let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
    core.handle(worker(1, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(worker(2, Pt(0.5, 0.0), 0.0), 0.0);
    core.handle(open(10, Pt(0.4, 0.0), 0.0), 0.0);
    let first = offers(&core.handle(Input::Tick, 1.0));
    assert_eq!(
        first.iter().map(|o| (o.1, o.2)).collect::<Vec<_>>(),
        [(10, 2)]
    );
    // Nothing more while the offer is out.
    assert!(offers(&core.handle(Input::Tick, 2.0)).is_empty());
    core.handle(
        Input::OfferAnswered {
            offer: first[0].0,
            accepted: false,
        },
        3.0,
    );
    assert_eq!(core.excluded(10), [2]);
    let second = offers(&core.handle(Input::Tick, 4.0));
    assert_eq!(
        second.iter().map(|o| (o.1, o.2)).collect::<Vec<_>>(),
        [(10, 1)]
    );
    assert_ne!(second[0].0, first[0].0, "offer numbers are not reused");
}

#[test]
fn an_unanswered_offer_lapses_and_the_job_moves_on() {
    let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
    core.handle(worker(1, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(worker(2, Pt(1.0, 0.0), 0.0), 0.0);
    core.handle(open(10, Pt(0.0, 0.0), 0.0), 0.0);
    let first = offers(&core.handle(Input::Tick, 1.0));
    assert_eq!(first[0].2, 1);
    // Positions stay fresh.
    core.handle(worker(1, Pt(0.0, 0.0), 15.0), 15.0);
    core.handle(worker(2, Pt(1.0, 0.0), 15.0), 15.0);
    let actions = core.handle(Input::Tick, 16.0);
    assert!(actions.contains(&Action::ExpireOffer {
        offer: first[0].0,
        job: 10,
        worker: 1
    }));
    assert_eq!(
        offers(&actions).iter().map(|o| o.2).collect::<Vec<_>>(),
        [2]
    );
    // A late answer to the lapsed offer changes nothing.
    core.handle(
        Input::OfferAnswered {
            offer: first[0].0,
            accepted: true,
        },
        17.0,
    );
    assert_eq!(core.offered_to(10), Some(2));
}

#[test]
fn the_batch_minimises_total_detour_where_nearest_first_would_not() {
    // Worker 1 is nearest to both jobs; job 10 (older) has worker 2 as a close second, job 11 has no
    // one else near. Nearest-first would strand job 11.
    let mut core: Core = Dispatcher::new(
        DispatchConfig {
            max_reach_km: 1.2,
            ..config()
        },
        CITY,
        NoForecast,
    );
    core.handle(worker(1, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(worker(2, Pt(-1.0, 0.0), 0.0), 0.0);
    core.handle(open(10, Pt(-0.4, 0.0), 0.0), 0.0);
    core.handle(open(11, Pt(0.9, 0.0), 1.0), 1.0);
    let mut got = offers(&core.handle(Input::Tick, 2.0))
        .iter()
        .map(|o| (o.1, o.2))
        .collect::<Vec<_>>();
    got.sort_unstable();
    assert_eq!(got, [(10, 2), (11, 1)]);
}

#[test]
fn a_worker_gets_one_offer_at_a_time_and_stale_or_offline_workers_none() {
    let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
    core.handle(worker(1, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(worker(2, Pt(0.1, 0.0), -100.0), 0.0); // last seen 100 s ago: stale
    core.handle(
        Input::WorkerMoved {
            worker: 3,
            place: Pt(0.1, 0.1),
            at: 0.0,
            online: false,
            capacity: 1,
            stops: Vec::new(),
        },
        0.0,
    );
    core.handle(open(10, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(open(11, Pt(0.1, 0.0), 0.0), 0.0);
    let got = offers(&core.handle(Input::Tick, 1.0));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, 1);
    assert_eq!(core.counts().waiting, 1);
}

#[test]
fn a_job_nobody_can_serve_ends_unfulfilled_with_the_reason_and_is_repeated_until_gone() {
    let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
    core.handle(open(10, Pt(0.0, 0.0), 0.0), 0.0);
    assert!(core.handle(Input::Tick, 119.0).is_empty());
    let actions = core.handle(Input::Tick, 120.0);
    assert_eq!(
        actions,
        [Action::Unfulfilled {
            job: 10,
            reason: Unfulfilled::NoWorkerNearby
        }]
    );
    // The shell failed to record it (no JobGone): the core says it again after retry_secs.
    assert!(core.handle(Input::Tick, 125.0).is_empty());
    assert_eq!(core.handle(Input::Tick, 130.0).len(), 1);
    assert!(core.holds(10));
    core.handle(Input::JobGone(10), 131.0);
    assert!(!core.holds(10));
    assert!(core.handle(Input::Tick, 200.0).is_empty());

    // Declined by everyone: the other reason.
    core.handle(worker(1, Pt(0.0, 0.0), 200.0), 200.0);
    core.handle(open(11, Pt(0.0, 0.0), 200.0), 200.0);
    let o = offers(&core.handle(Input::Tick, 201.0));
    core.handle(
        Input::OfferAnswered {
            offer: o[0].0,
            accepted: false,
        },
        202.0,
    );
    core.handle(worker(1, Pt(0.0, 0.0), 300.0), 300.0);
    let actions = core.handle(Input::Tick, 320.0);
    assert_eq!(
        actions,
        [Action::Unfulfilled {
            job: 11,
            reason: Unfulfilled::AllOffersDeclined
        }]
    );
}

#[test]
fn an_offer_the_shell_could_not_record_is_made_again_without_excluding_the_worker() {
    let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
    core.handle(worker(1, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(open(10, Pt(0.0, 0.0), 0.0), 0.0);
    let o = offers(&core.handle(Input::Tick, 1.0));
    core.handle(Input::OfferFailed(o[0].0), 1.5);
    assert!(core.excluded(10).is_empty());
    let again = offers(&core.handle(Input::Tick, 2.0));
    assert_eq!(
        again.iter().map(|o| (o.1, o.2)).collect::<Vec<_>>(),
        [(10, 1)]
    );
}

#[test]
fn an_offered_worker_who_goes_offline_counts_as_declining() {
    let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
    core.handle(worker(1, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(worker(2, Pt(0.5, 0.0), 0.0), 0.0);
    core.handle(open(10, Pt(0.0, 0.0), 0.0), 0.0);
    let o = offers(&core.handle(Input::Tick, 1.0));
    assert_eq!(o[0].2, 1);
    core.handle(Input::WorkerGone(1), 2.0);
    assert_eq!(core.excluded(10), [1]);
    let next = offers(&core.handle(Input::Tick, 3.0));
    assert_eq!(next[0].2, 2);
}

#[test]
fn a_busy_worker_is_priced_from_where_its_route_ends() {
    // Worker 1 is on a trip ending at (2, 0) in 100 s; worker 2 is idle at (3, 0). A job at (2, 0):
    // worker 1's detour is 0 (it is there when free), worker 2's is 200 s.
    let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
    core.handle(
        Input::WorkerMoved {
            worker: 1,
            place: Pt(2.0, 0.0),
            at: 100.0,
            online: true,
            capacity: 1,
            stops: Vec::new(),
        },
        0.0,
    );
    core.handle(worker(2, Pt(3.0, 0.0), 0.0), 0.0);
    core.handle(open(10, Pt(2.0, 0.0), 0.0), 0.0);
    let o = offers(&core.handle(Input::Tick, 0.0));
    assert_eq!(o[0].2, 1);
    // Valuing the wait at 3x a second of detour, the idle worker wins.
    let mut core: Core = Dispatcher::new(
        DispatchConfig {
            wait_secs_weight: 3.0,
            ..config()
        },
        CITY,
        NoForecast,
    );
    core.handle(
        Input::WorkerMoved {
            worker: 1,
            place: Pt(2.0, 0.0),
            at: 100.0,
            online: true,
            capacity: 1,
            stops: Vec::new(),
        },
        0.0,
    );
    core.handle(worker(2, Pt(3.0, 0.0), 0.0), 0.0);
    core.handle(open(10, Pt(2.0, 0.0), 0.0), 0.0);
    let o = offers(&core.handle(Input::Tick, 0.0));
    assert_eq!(o[0].2, 2);
}

struct TwoHotspots;

impl Forecast<Pt> for TwoHotspots {
    fn targets(&self, _now: f64) -> Vec<(Pt, f64)> {
        vec![(Pt(0.0, 0.0), 1.0), (Pt(2.0, 0.0), 1.0)]
    }
}

#[test]
fn idle_workers_are_spread_over_expected_demand_and_busy_ones_left_alone() {
    let mut core: Core<TwoHotspots> = Dispatcher::new(config(), CITY, TwoHotspots);
    // Two idle workers at the first hotspot, none at the second; one worker on a job there.
    core.handle(worker(1, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(worker(2, Pt(0.1, 0.0), 0.0), 0.0);
    core.handle(
        Input::WorkerMoved {
            worker: 3,
            place: Pt(0.0, 0.1),
            at: 0.0,
            online: true,
            capacity: 1,
            stops: ride(99, Pt(0.0, 1.0), Pt(0.0, 2.0), Window::ANY)[1..].to_vec(),
        },
        0.0,
    );
    let actions = core.handle(Input::Tick, 0.0);
    let moves: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Reposition { worker, to } => Some((*worker, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0].1, Pt(2.0, 0.0));
    assert!(moves[0].0 == 1 || moves[0].0 == 2);
    // Not again before the interval.
    assert!(core.handle(Input::Tick, 30.0).is_empty());
}

/// What the shell and the workers may do between ticks.
#[derive(Debug, Clone)]
enum Step {
    Open(u32, u8),
    Gone(u32),
    Answer(u8, bool),
    Fail(u8),
    Worker(u32, u8, bool),
    WorkerGone(u32),
    Tick(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..12u32, any::<u8>()).prop_map(|(j, p)| Step::Open(j, p)),
        (0..12u32).prop_map(Step::Gone),
        (any::<u8>(), any::<bool>()).prop_map(|(o, a)| Step::Answer(o, a)),
        any::<u8>().prop_map(Step::Fail),
        (0..6u32, any::<u8>(), any::<bool>()).prop_map(|(w, p, on)| Step::Worker(w, p, on)),
        (0..6u32).prop_map(Step::WorkerGone),
        (0..40u8).prop_map(Step::Tick),
    ]
}

fn place(p: u8) -> Pt {
    Pt(f64::from(p % 16) * 0.25, f64::from(p / 16) * 0.25)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the shell and the workers do, a job leaves the core only by JobGone; a worker has
    /// at most one offer out; no one is offered a job they are excluded from; and once time runs
    /// past every deadline, every job still held is either with a worker who took it or declared
    /// unfulfilled (again and again until it is gone).
    #[test]
    fn no_job_is_ever_dropped(steps in prop::collection::vec(step(), 1..80)) {
        let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
        let mut now = 0.0;
        let mut open_jobs: BTreeSet<u32> = BTreeSet::new();
        let mut issued: Vec<OfferNo> = Vec::new();
        let mut out: BTreeMap<OfferNo, (u32, u32)> = BTreeMap::new();
        let mut accepted: BTreeSet<u32> = BTreeSet::new();
        let check = |core: &Core, actions: &[Action<u32, u32, Pt>], out: &mut BTreeMap<OfferNo, (u32, u32)>, issued: &mut Vec<OfferNo>| -> Result<(), TestCaseError> {
            for a in actions {
                match a {
                    Action::Offer { offer, job, worker, .. } => {
                        prop_assert!(!core.excluded(*job).contains(worker), "offered to an excluded worker");
                        issued.push(*offer);
                        out.insert(*offer, (*job, *worker));
                    }
                    Action::ExpireOffer { offer, .. } => { out.remove(offer); }
                    _ => {}
                }
            }
            Ok(())
        };
        for s in steps {
            let input = match s {
                Step::Open(j, p) => {
                    open_jobs.insert(j);
                    accepted.remove(&j);
                    out.retain(|_, (job, _)| *job != j);
                    open(j, place(p), now)
                }
                Step::Gone(j) => {
                    open_jobs.remove(&j);
                    accepted.remove(&j);
                    out.retain(|_, (job, _)| *job != j);
                    Input::JobGone(j)
                }
                Step::Answer(i, yes) => {
                    let Some(&offer) = issued.get(usize::from(i) % issued.len().max(1)) else { continue };
                    if let Some((job, _)) = out.remove(&offer)
                        && yes
                        && core.offered_to(job).is_some()
                    {
                        accepted.insert(job);
                    }
                    Input::OfferAnswered { offer, accepted: yes }
                }
                Step::Fail(i) => {
                    let Some(&offer) = issued.get(usize::from(i) % issued.len().max(1)) else { continue };
                    out.remove(&offer);
                    Input::OfferFailed(offer)
                }
                Step::Worker(w, p, on) => {
                    if !on { out.retain(|_, (_, worker)| *worker != w); }
                    worker_at(w, place(p), now, on)
                }
                Step::WorkerGone(w) => {
                    out.retain(|_, (_, worker)| *worker != w);
                    Input::WorkerGone(w)
                }
                Step::Tick(dt) => {
                    now += f64::from(dt);
                    Input::Tick
                }
            };
            let actions = core.handle(input, now);
            check(&core, &actions, &mut out, &mut issued)?;
            for j in &open_jobs {
                prop_assert!(core.holds(*j), "job {} was dropped", j);
            }
            let mut busy = BTreeSet::new();
            for (_, (job, w)) in out.iter() {
                if core.offered_to(*job) == Some(*w) {
                    prop_assert!(busy.insert(*w), "worker {} has two offers out", w);
                }
            }
        }
        // Run the clock past every deadline and retry: every held job not taken is declared
        // unfulfilled within one retry interval.
        now += 200.0;
        core.handle(Input::Tick, now);
        let mut declared = BTreeSet::new();
        for _ in 0..3 {
            now += 10.0;
            for a in core.handle(Input::Tick, now) {
                if let Action::Unfulfilled { job, .. } = a { declared.insert(job); }
            }
        }
        for j in &open_jobs {
            prop_assert!(core.holds(*j));
            prop_assert!(accepted.contains(j) || declared.contains(j), "job {} neither taken nor ended", j);
        }
    }
}

fn worker_at(id: u32, at: Pt, now: f64, online: bool) -> Input<u32, u32, Pt> {
    Input::WorkerMoved {
        worker: id,
        place: at,
        at: now,
        online,
        capacity: 1,
        stops: Vec::new(),
    }
}

fn unfulfilled(actions: &[Action<u32, u32, Pt>]) -> Vec<(u32, Unfulfilled)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Unfulfilled { job, reason } => Some((*job, *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_unanswered_offer_makes_the_reason_offers_expired_and_a_decline_all_offers_declined() {
    let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
    core.handle(worker(1, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(open(10, Pt(0.0, 0.0), 0.0), 0.0);
    assert_eq!(offers(&core.handle(Input::Tick, 1.0)).len(), 1);
    // Unanswered past its deadline: expired, counted.
    let actions = core.handle(Input::Tick, 17.0);
    assert!(matches!(actions[..], [Action::ExpireOffer { job: 10, .. }]));
    assert_eq!(
        core.history(10),
        Some(JobHistory {
            declined: 0,
            expired: 1,
            worker_cancelled: 0
        })
    );
    core.handle(worker(1, Pt(0.0, 0.0), 100.0), 100.0);
    assert_eq!(
        unfulfilled(&core.handle(Input::Tick, 120.0)),
        [(10, Unfulfilled::OffersExpired)]
    );

    // A worker who goes offline with an offer out did not answer it either.
    core.handle(worker(2, Pt(0.0, 0.0), 200.0), 200.0);
    core.handle(open(11, Pt(0.0, 0.0), 200.0), 200.0);
    let o = offers(&core.handle(Input::Tick, 201.0));
    assert_eq!(o[0].2, 2);
    core.handle(Input::WorkerGone(2), 202.0);
    assert_eq!(core.history(11).map(|h| h.expired), Some(1));
    assert_eq!(core.history(11).map(|h| h.declined), Some(0));
}

#[test]
fn a_job_opened_again_keeps_the_larger_counts_of_the_record_and_the_core() {
    let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
    core.handle(worker(1, Pt(0.0, 0.0), 0.0), 0.0);
    let with_history = |history| {
        Input::JobOpened(OpenJob {
            job: 10,
            stops: ride(10, Pt(0.0, 0.0), Pt(1.0, 0.0), Window::ANY).to_vec(),
            opened_at: 0.0,
            give_up_at: 120.0,
            unassigned_cost: 1.0e7,
            excluded: Vec::new(),
            history,
        })
    };
    core.handle(
        with_history(JobHistory {
            declined: 2,
            expired: 0,
            worker_cancelled: 0,
        }),
        0.0,
    );
    let o = offers(&core.handle(Input::Tick, 1.0));
    core.handle(
        Input::OfferAnswered {
            offer: o[0].0,
            accepted: false,
        },
        2.0,
    );
    // The shell reads the record, which has seen the decline too, and opens the job again.
    core.handle(
        with_history(JobHistory {
            declined: 3,
            expired: 0,
            worker_cancelled: 1,
        }),
        3.0,
    );
    assert_eq!(
        core.history(10),
        Some(JobHistory {
            declined: 3,
            expired: 0,
            worker_cancelled: 1
        })
    );
    // A worker cancelled after accepting: that is what the verdict says, whatever else happened.
    assert_eq!(
        unfulfilled(&core.handle(Input::Tick, 120.0)),
        [(10, Unfulfilled::WorkerCancelled)]
    );
}

#[test]
fn a_job_with_a_worker_in_reach_that_never_became_free_times_out() {
    let mut core: Core = Dispatcher::new(config(), CITY, NoForecast);
    core.handle(worker(1, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(open(10, Pt(0.0, 0.0), 0.0), 0.0);
    core.handle(open(11, Pt(0.0, 0.0), 0.0), 0.0);
    let o = offers(&core.handle(Input::Tick, 1.0));
    assert_eq!(o.len(), 1);
    let (taken, other) = if o[0].1 == 10 { (10, 11) } else { (11, 10) };
    // The worker takes the one job and keeps its offer until the shell confirms: it is never free.
    core.handle(
        Input::OfferAnswered {
            offer: o[0].0,
            accepted: true,
        },
        2.0,
    );
    let ended = unfulfilled(&core.handle(Input::Tick, 120.0));
    assert_eq!(ended, [(other, Unfulfilled::TimedOut)]);
    assert!(core.offered_to(taken).is_some());
}

#[test]
fn a_job_nobody_can_reach_ends_early_and_one_a_worker_reaches_in_time_is_offered() {
    let mut core: Core = Dispatcher::new(
        DispatchConfig {
            give_up_unreachable_secs: 4.0,
            ..config()
        },
        CITY,
        NoForecast,
    );
    core.handle(open(10, Pt(0.0, 0.0), 0.0), 0.0);
    assert!(core.handle(Input::Tick, 1.0).is_empty());
    assert!(core.handle(Input::Tick, 3.0).is_empty());
    assert_eq!(
        unfulfilled(&core.handle(Input::Tick, 5.0)),
        [(10, Unfulfilled::NoWorkerNearby)]
    );
    core.handle(Input::JobGone(10), 6.0);

    // Nobody at first; a worker comes online nearby within the grace: offered, not ended.
    core.handle(open(11, Pt(20.0, 20.0), 10.0), 10.0);
    assert!(core.handle(Input::Tick, 11.0).is_empty());
    core.handle(worker(1, Pt(20.0, 20.5), 12.0), 12.0);
    let got = core.handle(Input::Tick, 13.0);
    assert_eq!(offers(&got).len(), 1, "{got:?}");
    assert!(unfulfilled(&got).is_empty());

    // A worker far out of reach does not count as nearby.
    core.handle(worker(2, Pt(-40.0, -40.0), 20.0), 20.0);
    core.handle(open(12, Pt(40.0, 40.0), 20.0), 20.0);
    assert!(unfulfilled(&core.handle(Input::Tick, 21.0)).is_empty());
    assert_eq!(
        unfulfilled(&core.handle(Input::Tick, 25.0)),
        [(12, Unfulfilled::NoWorkerNearby)]
    );
    core.handle(Input::JobGone(12), 26.0);

    // After its only nearby worker declined, nobody else is in reach: ended early, with what happened.
    core.handle(worker(3, Pt(-20.0, 20.0), 30.0), 30.0);
    core.handle(open(13, Pt(-20.0, 20.0), 30.0), 30.0);
    let o = offers(&core.handle(Input::Tick, 31.0));
    assert_eq!(o.len(), 1);
    core.handle(
        Input::OfferAnswered {
            offer: o[0].0,
            accepted: false,
        },
        32.0,
    );
    assert!(unfulfilled(&core.handle(Input::Tick, 33.0)).is_empty());
    // Job 11's offer lapsed at 28 and its worker is excluded now: nobody is left for it either.
    assert_eq!(
        unfulfilled(&core.handle(Input::Tick, 37.0)),
        [
            (11, Unfulfilled::OffersExpired),
            (13, Unfulfilled::AllOffersDeclined)
        ]
    );
}
