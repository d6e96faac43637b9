//! The core's delivery rules: commit late to a pickup whose window opens later, bundles of jobs at
//! one place as one offer, shifts, and re-offers of a declined bundle.

use super::common::{CITY, Grid, Pt};
use doorstep_dispatch::{
    Action, DeliveryRules, DispatchConfig, Dispatcher, Input, JobHistory, NoForecast, OfferNo,
    OpenJob, RouteStop, Window,
};

type Core = Dispatcher<u32, u32, Pt, Grid, NoForecast>;

fn config() -> DispatchConfig {
    DispatchConfig {
        offer_timeout_secs: 30.0,
        candidates_per_job: 4,
        max_reach_km: 10.0,
        stale_after_secs: f64::INFINITY,
        ..DispatchConfig::default()
    }
}

fn rules() -> DeliveryRules {
    DeliveryRules {
        commit_lead_secs: 60.0,
        plan_ahead_secs: f64::INFINITY,
        late_secs_weight: 2.0,
        max_bundle_jobs: 3,
        bundle_radius_km: 0.0,
        bundle_max_delay_secs: 600.0,
        bundle_delay_weight: 1.0,
        bundle_when_short: 1.0,
        wait_unreachable: false,
    }
}

/// A delivery: pickup at `kitchen` from `ready` (service 120 s), drop-off at `home` (60 s).
fn delivery(job: u32, kitchen: Pt, home: Pt, ready: f64) -> Input<u32, u32, Pt> {
    Input::JobOpened(OpenJob {
        job,
        stops: vec![
            RouteStop {
                job,
                place: kitchen,
                window: Window {
                    earliest: ready,
                    latest: f64::INFINITY,
                },
                service_secs: 120.0,
                load: 1,
            },
            RouteStop {
                job,
                place: home,
                window: Window::ANY,
                service_secs: 60.0,
                load: -1,
            },
        ],
        opened_at: 0.0,
        give_up_at: f64::INFINITY,
        unassigned_cost: 1.0e7,
        excluded: Vec::new(),
        history: JobHistory::default(),
    })
}

fn worker(id: u32, at: Pt, free_at: f64) -> Input<u32, u32, Pt> {
    Input::WorkerMoved {
        worker: id,
        place: at,
        at: free_at,
        online: true,
        capacity: 4,
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
fn a_delivery_is_offered_only_once_the_worker_must_leave_to_arrive_as_the_window_opens() {
    let mut core = Core::new(config(), CITY, NoForecast).with_delivery_rules(rules());
    // 1 km away: 200 s. The window opens at 1000 s, so the worker must leave at 800 s.
    core.handle(worker(7, Pt(1.0, 0.0), 0.0), 0.0);
    core.handle(delivery(1, Pt(0.0, 0.0), Pt(0.0, 1.0), 1000.0), 0.0);
    let mut offered_at = None;
    for t in (0..=1000).step_by(60) {
        let now = f64::from(t);
        let got = offers(&core.handle(Input::Tick, now));
        if let Some(&(_, job, w)) = got.first() {
            assert_eq!((job, w), (1, 7));
            offered_at = Some(now);
            break;
        }
    }
    let at = offered_at.expect("offered before the window opens");
    // Arrival = at + 200 lies within one tick before the opening, not earlier.
    assert!(
        at + 200.0 >= 1000.0 - 60.0 && at + 200.0 <= 1000.0,
        "offered at {at}"
    );
}

#[test]
fn without_delivery_rules_a_job_whose_window_opens_later_is_offered_at_once() {
    let mut core = Core::new(config(), CITY, NoForecast);
    core.handle(worker(7, Pt(1.0, 0.0), 0.0), 0.0);
    core.handle(delivery(1, Pt(0.0, 0.0), Pt(0.0, 1.0), 1000.0), 0.0);
    assert_eq!(offers(&core.handle(Input::Tick, 0.0)).len(), 1);
}

#[test]
fn the_late_job_goes_first_when_one_worker_is_free_for_two() {
    let mut core = Core::new(config(), CITY, NoForecast).with_delivery_rules(DeliveryRules {
        max_bundle_jobs: 1,
        ..rules()
    });
    core.handle(worker(7, Pt(0.0, 0.0), 0.0), 600.0);
    // Job 1 is ready now at a kitchen 2 km away, job 2 in 15 minutes next door.
    core.handle(delivery(1, Pt(2.0, 0.0), Pt(2.0, 1.0), 600.0), 600.0);
    core.handle(delivery(2, Pt(0.0, 0.0), Pt(0.0, 1.0), 1500.0), 600.0);
    let got = offers(&core.handle(Input::Tick, 600.0));
    assert_eq!(got.iter().map(|o| o.1).collect::<Vec<_>>(), vec![1]);
}

#[test]
fn two_jobs_at_one_kitchen_go_as_one_offer_when_workers_are_short() {
    let mut core = Core::new(config(), CITY, NoForecast).with_delivery_rules(rules());
    core.handle(worker(7, Pt(0.2, 0.0), 0.0), 0.0);
    core.handle(delivery(1, Pt(0.0, 0.0), Pt(0.0, 1.0), 100.0), 0.0);
    core.handle(delivery(2, Pt(0.0, 0.0), Pt(0.0, 1.2), 100.0), 0.0);
    let actions = core.handle(Input::Tick, 60.0);
    let got = offers(&actions);
    assert_eq!(got.len(), 2, "{actions:?}");
    assert_eq!(got[0].0, got[1].0, "one offer for both jobs");
    let mut jobs = core.offer_jobs(got[0].0).to_vec();
    jobs.sort_unstable();
    assert_eq!(jobs, vec![1, 2]);
    // The route: one pickup service at the kitchen, then the nearer home first.
    let route = core.offered_route(got[0].0).expect("the offer's route");
    let kinds: Vec<(u32, i32, f64)> = route
        .iter()
        .map(|s| (s.job, s.load, s.service_secs))
        .collect();
    assert_eq!(
        kinds,
        vec![(1, 1, 120.0), (2, 1, 0.0), (1, -1, 60.0), (2, -1, 60.0)]
    );
}

#[test]
fn jobs_at_one_kitchen_go_alone_when_there_are_workers_for_each() {
    let mut core = Core::new(config(), CITY, NoForecast).with_delivery_rules(rules());
    core.handle(worker(7, Pt(0.2, 0.0), 0.0), 0.0);
    core.handle(worker(8, Pt(0.0, 0.2), 0.0), 0.0);
    core.handle(delivery(1, Pt(0.0, 0.0), Pt(0.0, 1.0), 100.0), 0.0);
    core.handle(delivery(2, Pt(0.0, 0.0), Pt(0.0, 1.2), 100.0), 0.0);
    let got = offers(&core.handle(Input::Tick, 60.0));
    assert_eq!(got.len(), 2);
    assert_ne!(got[0].0, got[1].0);
    assert_ne!(got[0].2, got[1].2);
}

#[test]
fn a_declined_bundle_is_offered_again_to_another_worker_who_is_not_excluded() {
    let mut core = Core::new(config(), CITY, NoForecast).with_delivery_rules(rules());
    core.handle(worker(7, Pt(0.2, 0.0), 0.0), 0.0);
    core.handle(delivery(1, Pt(0.0, 0.0), Pt(0.0, 1.0), 100.0), 0.0);
    core.handle(delivery(2, Pt(0.0, 0.0), Pt(0.0, 1.2), 100.0), 0.0);
    let got = offers(&core.handle(Input::Tick, 60.0));
    let offer = got[0].0;
    core.handle(
        Input::OfferAnswered {
            offer,
            accepted: false,
        },
        70.0,
    );
    assert_eq!(core.excluded(1), &[7]);
    assert_eq!(core.excluded(2), &[7]);
    assert_eq!(core.history(1).map(|h| h.declined), Some(1));
    assert!(core.offer_jobs(offer).is_empty());
    core.handle(Input::WorkerGone(7), 70.0);
    core.handle(worker(9, Pt(0.3, 0.0), 70.0), 70.0);
    let again = offers(&core.handle(Input::Tick, 120.0));
    assert!(
        again.len() == 2 && again.iter().all(|o| o.2 == 9),
        "{again:?}"
    );
}

#[test]
fn no_pickup_is_offered_past_the_workers_shift_and_the_job_ends_with_a_reason() {
    let mut core = Core::new(
        DispatchConfig {
            give_up_unreachable_secs: 300.0,
            ..config()
        },
        CITY,
        NoForecast,
    )
    .with_delivery_rules(rules());
    core.handle(worker(7, Pt(1.0, 0.0), 0.0), 0.0);
    // Its last pickup must start by 500 s; the food is ready at 1000 s.
    core.handle(
        Input::WorkerShift {
            worker: 7,
            pickups_until: 500.0,
        },
        0.0,
    );
    core.handle(delivery(1, Pt(0.0, 0.0), Pt(0.0, 1.0), 1000.0), 0.0);
    for t in (0..=1200).step_by(60) {
        let actions = core.handle(Input::Tick, f64::from(t));
        assert!(offers(&actions).is_empty(), "offered at {t}");
        if t == 600 {
            // The worker leaves at the end of its shift: nobody is left in reach.
            core.handle(Input::WorkerGone(7), 600.0);
        }
        if let Some(Action::Unfulfilled { job, .. }) = actions
            .iter()
            .find(|a| matches!(a, Action::Unfulfilled { .. }))
        {
            assert_eq!(*job, 1);
            return;
        }
    }
    panic!("the job never ended");
}

/// Two jobs at one kitchen, ready at 1000 s, homes 1 and 1.2 km away in one direction; worker 7
/// waits next to the kitchen, worker 8 is busy far away until 2000 s. Ticks every minute until a
/// first offer; returns that offer's worker and jobs.
fn first_offer_with_one_worker_near(planned: bool) -> (u32, Vec<u32>) {
    let mut core = Core::new(config(), CITY, NoForecast)
        .with_delivery_rules(DeliveryRules {
            // Bundling delays job 2's drop-off by a minute against a worker there when it opens.
            bundle_max_delay_secs: 30.0,
            ..rules()
        })
        .with_planned_bundles(planned);
    core.handle(worker(7, Pt(0.2, 0.0), 0.0), 0.0);
    core.handle(worker(8, Pt(5.0, 0.0), 2000.0), 0.0);
    core.handle(delivery(1, Pt(0.0, 0.0), Pt(0.0, 1.0), 1000.0), 0.0);
    core.handle(delivery(2, Pt(0.0, 0.0), Pt(0.0, 1.2), 1000.0), 0.0);
    let mut now = 0.0;
    while now <= 1200.0 {
        let got = offers(&core.handle(Input::Tick, now));
        if let Some(&(offer, _, worker)) = got.first() {
            let mut jobs = core.offer_jobs(offer).to_vec();
            jobs.sort_unstable();
            return (worker, jobs);
        }
        now += 60.0;
    }
    panic!("no offer by {now} s");
}

#[test]
fn a_bundle_is_judged_against_the_worker_each_job_would_really_get() {
    // As if a worker were there for each job when its window opens, the bundle delays job 2 by
    // more than the rules allow: job 1 goes alone.
    assert_eq!(first_offer_with_one_worker_near(false), (7, vec![1]));
    // Job 2's own worker comes only after 3000 s: riding along with job 1 delivers it sooner.
    assert_eq!(first_offer_with_one_worker_near(true), (7, vec![1, 2]));
}
