//! The steps of a ride as the phone apps take them over HTTP: quote, request, wait for an offer, accept,
//! arrive, start, complete.

use crate::backend::TestResult;
use crate::places::Place;
use crate::server::{Account, Reply, TestServer, eventually, field};
use reqwest::Method;
use serde_json::{Value, json};

impl TestServer {
    /// A quote for a trip from `from` to `to`.
    pub async fn quote(&self, rider: &Account, from: Place, to: Place) -> TestResult<Value> {
        Ok(self
            .post(
                "/v1/rides/quotes",
                &rider.token,
                json!({"pickup": from.json(), "dropoff": to.json()}),
            )
            .await?
            .expect(201))
    }

    /// `POST /v1/rides` for `quote_id` with an optional `Idempotency-Key`.
    pub async fn request_with_key(
        &self,
        rider: &Account,
        quote_id: &str,
        key: Option<&str>,
    ) -> TestResult<Reply> {
        let mut request = self
            .http
            .request(Method::POST, self.url("/v1/rides"))
            .bearer_auth(&rider.token)
            .json(&json!({"quote_id": quote_id}));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        TestServer::reply(request.send().await?).await
    }

    /// Quotes and requests a ride; returns the rider's view of it.
    pub async fn request_ride(&self, rider: &Account, from: Place, to: Place) -> TestResult<Value> {
        let quote = self.quote(rider, from, to).await?;
        let key = uuid::Uuid::new_v4().to_string();
        let ride = self
            .request_with_key(rider, &field(&quote, "quote_id")?, Some(&key))
            .await?
            .expect(201);
        assert_eq!(ride["state"], "requested");
        Ok(ride)
    }

    /// `who`'s view of a ride.
    pub async fn ride(&self, who: &Account, ride_id: &str) -> TestResult<Value> {
        Ok(self
            .get(&format!("/v1/rides/{ride_id}"), &who.token)
            .await?
            .expect(200))
    }

    /// The ride's timeline as `who` sees it.
    pub async fn timeline(&self, who: &Account, ride_id: &str) -> TestResult<Vec<Value>> {
        let list = self
            .get(&format!("/v1/rides/{ride_id}/events"), &who.token)
            .await?
            .expect(200);
        Ok(list["events"].as_array().cloned().unwrap_or_default())
    }

    /// The driver's pending offers.
    pub async fn offers(&self, driver: &Account) -> TestResult<Vec<Value>> {
        let list = self.get("/v1/offers", &driver.token).await?.expect(200);
        Ok(list["offers"].as_array().cloned().unwrap_or_default())
    }

    /// Waits until `driver` holds an offer for `ride_id`, and returns it.
    pub async fn wait_for_offer(&self, driver: &Account, ride_id: &str) -> TestResult<Value> {
        eventually(&format!("an offer of ride {ride_id}"), move || async move {
            Ok(self
                .offers(driver)
                .await?
                .into_iter()
                .find(|o| o["ride_id"] == ride_id))
        })
        .await
    }

    /// Waits until one of `drivers` holds an offer for `ride_id`; returns the index of that driver and the
    /// offer.
    pub async fn wait_for_offer_to_one_of(
        &self,
        drivers: &[&Account],
        ride_id: &str,
    ) -> TestResult<(usize, Value)> {
        eventually(&format!("an offer of ride {ride_id}"), move || async move {
            for (i, driver) in drivers.iter().enumerate() {
                if let Some(offer) = self
                    .offers(driver)
                    .await?
                    .into_iter()
                    .find(|o| o["ride_id"] == ride_id)
                {
                    return Ok(Some((i, offer)));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Waits until `who` sees the ride in `state`, and returns that view.
    pub async fn wait_for_state(
        &self,
        who: &Account,
        ride_id: &str,
        state: &str,
    ) -> TestResult<Value> {
        eventually(
            &format!("ride {ride_id} to be {state}"),
            move || async move {
                let ride = self.ride(who, ride_id).await?;
                Ok((ride["state"] == state).then_some(ride))
            },
        )
        .await
    }

    /// The driver accepts an offer; returns the driver's view of the ride.
    pub async fn accept(&self, driver: &Account, offer: &Value) -> TestResult<Value> {
        let ride = self
            .post_empty(
                &format!("/v1/offers/{}/accept", field(offer, "offer_id")?),
                &driver.token,
            )
            .await?
            .expect(200);
        assert_eq!(ride["state"], "driver_assigned");
        assert_eq!(ride["driver_id"], driver.id.as_str());
        Ok(ride)
    }

    /// Requests a ride that `driver` (online and alone near `from`) is offered and accepts; returns the
    /// rider's view of the assigned ride (with the PIN).
    pub async fn assigned_ride(
        &self,
        rider: &Account,
        driver: &Account,
        from: Place,
        to: Place,
    ) -> TestResult<Value> {
        let ride = self.request_ride(rider, from, to).await?;
        let ride_id = field(&ride, "ride_id")?;
        let offer = self.wait_for_offer(driver, &ride_id).await?;
        self.accept(driver, &offer).await?;
        let ride = self.ride(rider, &ride_id).await?;
        assert_eq!(ride["state"], "driver_assigned");
        Ok(ride)
    }

    /// The driver of an assigned ride arrives, starts with the PIN, drives for `trip_secs` of clock time
    /// and completes; returns the driver's view of the completed ride.
    pub async fn drive_to_completion(
        &self,
        driver: &Account,
        assigned: &Value,
        trip_secs: i64,
    ) -> TestResult<Value> {
        let ride_id = field(assigned, "ride_id")?;
        let pin = field(assigned, "pin")?;
        let pickup = Place::of(&assigned["pickup"]).ok_or("a pickup")?;
        let dropoff = Place::of(&assigned["dropoff"]).ok_or("a drop-off")?;
        self.drive_to(driver, pickup).await?;
        let arrived = self
            .post_empty(&format!("/v1/rides/{ride_id}/arrive"), &driver.token)
            .await?
            .expect(200);
        assert_eq!(arrived["state"], "driver_arrived");
        let started = self
            .post(
                &format!("/v1/rides/{ride_id}/start"),
                &driver.token,
                json!({"pin": pin}),
            )
            .await?
            .expect(200);
        assert_eq!(started["state"], "in_progress");
        self.clock.advance_secs(trip_secs);
        self.report_position(driver, dropoff).await?;
        let completed = self
            .post_empty(&format!("/v1/rides/{ride_id}/complete"), &driver.token)
            .await?
            .expect(200);
        assert_eq!(completed["state"], "completed");
        Ok(completed)
    }

    /// A completed ride of a new rider with `driver` from `from` to `to`; returns the rider's view.
    pub async fn completed_ride(
        &self,
        rider: &Account,
        driver: &Account,
        from: Place,
        to: Place,
    ) -> TestResult<Value> {
        let assigned = self.assigned_ride(rider, driver, from, to).await?;
        self.drive_to_completion(driver, &assigned, 600).await?;
        self.ride(rider, &field(&assigned, "ride_id")?).await
    }
}

/// The sum of the amounts of an itemised fare.
pub fn sum_of_lines(breakdown: &Value) -> i64 {
    breakdown
        .as_array()
        .map(|lines| lines.iter().map(|l| crate::server::usd(&l["amount"])).sum())
        .unwrap_or(0)
}

/// The ids of a list of events.
pub fn ids(events: &[Value]) -> Vec<i64> {
    events.iter().filter_map(|e| e["id"].as_i64()).collect()
}

/// The types of a list of events.
pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["type"].as_str().map(str::to_owned))
        .collect()
}
