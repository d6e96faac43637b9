//! The record's side of several nodes (migration 0018): the city's fencing epoch and trip odometers
//! (run on both backends by the suite's macro).

use crate::{TestResult, assigned_ride, at, new_user, place, requested_ride};
use doorstep_domain::{JobId, Role};
use doorstep_store::{Fence, Odometer, Store, StoreError};

/// Each take of a city gives the next epoch; a store fenced with an older epoch writes nothing, one
/// with the current epoch writes, and unfenced writes are never refused.
pub async fn a_write_under_an_older_city_epoch_is_refused_and_writes_nothing(
    store: Store,
) -> TestResult {
    assert_eq!(store.city_fence("manhattan").await?, None);
    let first = store.take_city("manhattan", "n1", at(0)).await?;
    assert_eq!(first, 1);
    assert_eq!(
        store.city_fence("manhattan").await?,
        Some((1, "n1".to_owned()))
    );
    let old = store.fenced(Fence {
        city: "manhattan".to_owned(),
        epoch: first,
    });
    let bob = new_user(&store, Role::Driver, "bob").await?;
    store.set_driver_online(bob.id, true, at(0)).await?;
    let p1 = place(40.75, -73.99)?;
    old.save_driver_positions(&[(bob.id, p1, at(1_000))])
        .await?;

    // n2 takes the city over: n1's store is fenced off from here on.
    let second = store.take_city("manhattan", "n2", at(2_000)).await?;
    assert_eq!(second, 2);
    let p2 = place(40.76, -73.98)?;
    let refused = old.save_driver_positions(&[(bob.id, p2, at(3_000))]).await;
    assert!(
        matches!(refused, Err(StoreError::Fenced { ref city, epoch: 1 }) if city == "manhattan"),
        "{refused:?}"
    );
    assert_eq!(
        store.online_drivers().await?,
        vec![(bob.id, Some((p1, at(1_000))))],
        "the fenced write left nothing behind"
    );
    // Another city's epoch is its own.
    assert_eq!(store.take_city("brooklyn", "n1", at(2_000)).await?, 1);

    let new = store.fenced(Fence {
        city: "manhattan".to_owned(),
        epoch: second,
    });
    new.save_driver_positions(&[(bob.id, p2, at(3_000))])
        .await?;
    assert_eq!(
        store.online_drivers().await?,
        vec![(bob.id, Some((p2, at(3_000))))]
    );
    // Unfenced writes (requests served by any node) go on.
    store
        .save_driver_positions(&[(bob.id, p1, at(4_000))])
        .await?;
    assert_eq!(new.fence().map(|f| f.epoch), Some(2));
    assert_eq!(store.fence(), None);
    Ok(())
}

/// Odometers are kept per job (the newest measure wins) and read back only for jobs still under way.
pub async fn trip_odometers_are_kept_for_jobs_under_way_and_older_measures_do_not_win(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let requested = requested_ride(&store, ann.id, at(0)).await?;
    let waiting = requested_ride(&store, ann.id, at(0)).await?;
    let (assigned, _) = assigned_ride(&store, requested, bob.id, at(1_000)).await?;
    let job = JobId::from(assigned.id());
    let p = place(40.75, -73.99)?;
    let odo = |metres: f64, millis: i64| Odometer {
        job,
        metres,
        at_point: p,
        at: at(millis),
    };
    store
        .save_odometers(&[odo(120.0, 2_000)], at(2_000))
        .await?;
    store
        .save_odometers(&[odo(450.5, 5_000)], at(5_000))
        .await?;
    // A late, older measure does not win.
    store
        .save_odometers(&[odo(300.0, 4_000)], at(6_000))
        .await?;
    store
        .save_odometers(
            &[Odometer {
                job: JobId::from(waiting.id()),
                metres: 10.0,
                at_point: p,
                at: at(5_000),
            }],
            at(6_000),
        )
        .await?;
    assert_eq!(store.open_odometers().await?, vec![odo(450.5, 5_000)]);
    Ok(())
}
