//! The record's side of several nodes (migration 0018): the city's fencing epoch and trip odometers
//! (run on both backends by the suite's macro).

use crate::{TestResult, assigned_ride, at, new_user, place, requested_ride};
use doorstep_domain::{JobId, Role};
use doorstep_store::{Fence, Odometer, Store, StoreError};
use std::time::Duration;

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

/// Odometers are kept per job (the newest measure wins); the open ones are read back only for jobs still
/// under way, one job's by its id.
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
    // One job's own: the kept one, whatever the job's state; none for a job never measured.
    assert_eq!(store.odometer(job).await?, Some(odo(450.5, 5_000)));
    assert_eq!(
        store
            .odometer(JobId::from(waiting.id()))
            .await?
            .map(|o| o.metres),
        Some(10.0)
    );
    let unmeasured = requested_ride(&store, ann.id, at(0)).await?;
    assert_eq!(store.odometer(JobId::from(unmeasured.id())).await?, None);
    Ok(())
}

/// PostgreSQL (several nodes run only on it): two fenced writes of one owner hold the city's fence row
/// side by side, while a takeover waits for a write under way and fences off its owner once it ends.
pub async fn fenced_writes_of_one_owner_run_side_by_side_and_a_takeover_waits_for_them(
    store: Store,
    url: String,
) -> TestResult {
    let epoch = store.take_city("manhattan", "n1", at(0)).await?;
    let owner = store.fenced(Fence {
        city: "manhattan".to_owned(),
        epoch,
    });
    let bob = new_user(&store, Role::Driver, "bob").await?;
    store.set_driver_online(bob.id, true, at(0)).await?;
    let p1 = place(40.75, -73.99)?;

    // A fenced write under way on another connection: its first statement holds the fence row.
    sqlx::any::install_default_drivers();
    let other = sqlx::AnyPool::connect(&url).await?;
    let mut under_way = other.begin().await?;
    sqlx::query("SELECT epoch FROM city_fences WHERE city = $1 AND epoch = $2 FOR SHARE")
        .bind("manhattan")
        .bind(epoch)
        .fetch_one(&mut *under_way)
        .await?;

    // Another write of the same owner does not wait for it.
    tokio::time::timeout(
        Duration::from_secs(10),
        owner.save_driver_positions(&[(bob.id, p1, at(1_000))]),
    )
    .await
    .map_err(|_| "a fenced write waited for another fenced write of the same owner")??;

    // A takeover does: it takes the next epoch only once the write under way has ended.
    let taking = tokio::spawn({
        let store = store.clone();
        async move { store.take_city("manhattan", "n2", at(2_000)).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !taking.is_finished(),
        "the takeover did not wait for the fenced write under way"
    );
    under_way.commit().await?;
    let second = tokio::time::timeout(Duration::from_secs(10), taking)
        .await
        .map_err(|_| "the takeover did not go on once the write under way ended")???;
    assert_eq!(second, epoch + 1);

    // From then on the old owner writes nothing.
    let p2 = place(40.76, -73.98)?;
    let refused = owner
        .save_driver_positions(&[(bob.id, p2, at(3_000))])
        .await;
    assert!(
        matches!(refused, Err(StoreError::Fenced { epoch: e, .. }) if e == epoch),
        "{refused:?}"
    );
    assert_eq!(
        store.online_drivers().await?,
        vec![(bob.id, Some((p1, at(1_000))))]
    );
    other.close().await;
    Ok(())
}
