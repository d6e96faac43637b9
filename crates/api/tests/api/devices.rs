//! Connected devices: the registry (`/v1/admin/devices`: create, list, read, bind, unbind, rotate the
//! token; operators only, each write audited once per key) and the ingest over MQTT against the
//! machine's Mosquitto (127.0.0.1:1883): a bound device's positions move its worker on the operations
//! map, JSON and binary alike; an unbound device, a wrong or rotated-away token, an unknown device and a
//! malformed payload move nobody and are counted as dropped.
//!
//! Without a broker the MQTT test prints `MQTT_SKIPPED` and passes, or fails when
//! `DOORSTEP_REQUIRE_MQTT` is set (CI sets it).

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, Place, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{Account, TestServer, eventually, field, test_config};
use doorstep_app::device_ingest::{DropReason, encode_binary, position_topic};
use doorstep_app::devices::parse_token;
use doorstep_app::{AppConfig, Clock};
use doorstep_domain::Timestamp;
use doorstep_domain::ids::DeviceId;
use serde_json::{Value, json};
use std::io::Write as _;
use std::time::Duration;

/// The broker the MQTT tests use.
const BROKER: (&str, u16) = ("127.0.0.1", 1883);

/// When set (CI sets it), an MQTT test fails instead of skipping if the broker is unreachable.
const REQUIRE_MQTT_VAR: &str = "DOORSTEP_REQUIRE_MQTT";

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl TestServer {
    /// An operator creates a device labelled `label`; its answer (with the token).
    pub async fn create_device(&self, admin: &Account, label: &str) -> TestResult<Value> {
        Ok(self
            .act(
                admin,
                "/v1/admin/devices",
                &key(),
                json!({"label": label, "reason": "new tracker"}),
            )
            .await?
            .expect(201))
    }

    /// An operator binds `device` to `worker`.
    pub async fn bind_device(
        &self,
        admin: &Account,
        device: &str,
        worker: &Account,
    ) -> TestResult<Value> {
        Ok(self
            .act(
                admin,
                &format!("/v1/admin/devices/{device}/bind"),
                &key(),
                json!({"worker_id": worker.id, "reason": "tracker fitted"}),
            )
            .await?
            .expect(200))
    }

    /// Where the operations map shows `driver`, if anywhere.
    async fn map_position(
        &self,
        admin: &Account,
        driver: &Account,
    ) -> TestResult<Option<(f64, f64)>> {
        let fleet = self.get("/v1/admin/fleet", &admin.token).await?.expect(200);
        Ok(fleet["drivers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["driver_id"] == driver.id.as_str())
            .and_then(|d| {
                Some((
                    d["position"]["lat"].as_f64()?,
                    d["position"]["lng"].as_f64()?,
                ))
            }))
    }
}

fn audited_actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect()
}

pub async fn operators_create_bind_unbind_and_rotate_devices_once_per_key_and_each_write_is_audited(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let driver = server.signup("driver").await?;

    // Only operators.
    let body = json!({"label": "cab 42", "reason": "new tracker"});
    for who in [&rider, &driver] {
        server
            .act(who, "/v1/admin/devices", &key(), body.clone())
            .await?
            .expect_error(403, "forbidden");
        server
            .get("/v1/admin/devices", &who.token)
            .await?
            .expect_error(403, "forbidden");
    }

    // Created with a token shown once; a retry under the same key creates nothing and shows no token.
    let create_key = key();
    let created = server
        .act(&admin, "/v1/admin/devices", &create_key, body.clone())
        .await?
        .expect(201);
    let id = field(&created, "device_id")?;
    let token = field(&created, "token")?;
    assert!(parse_token(&token).is_some(), "{token}");
    assert_eq!(created["label"], "cab 42");
    assert_eq!(created["city"], "manhattan");
    assert_eq!(
        created["topic"],
        format!("doorstep/manhattan/devices/{id}/position")
    );
    assert_eq!(created["worker_id"], Value::Null);
    let retried = server
        .act(&admin, "/v1/admin/devices", &create_key, body.clone())
        .await?
        .expect(201);
    assert_eq!(retried["device_id"], id.as_str());
    assert!(retried.get("token").is_none(), "{retried}");
    let listed = server
        .get("/v1/admin/devices", &admin.token)
        .await?
        .expect(200);
    assert_eq!(listed["devices"].as_array().map(Vec::len), Some(1));
    assert!(listed["devices"][0].get("token").is_none());
    let read = server
        .get(&format!("/v1/admin/devices/{id}"), &admin.token)
        .await?
        .expect(200);
    assert_eq!(read["label"], "cab 42");
    assert!(read.get("token").is_none());
    // The store keeps the token's digest, never the token.
    let device: DeviceId = id.parse()?;
    let stored = server.app.store().device(device).await?.ok_or("stored")?;
    assert_ne!(stored.token_hash, token);
    assert_eq!(stored.token_hash.len(), 64);

    // Bad input: 4xx with a code.
    server
        .act(
            &admin,
            "/v1/admin/devices",
            &key(),
            json!({"label": "  ", "reason": "x"}),
        )
        .await?
        .expect_error(422, "invalid_label");
    server
        .act(
            &admin,
            "/v1/admin/devices",
            &key(),
            json!({"label": "cab", "reason": ""}),
        )
        .await?
        .expect_error(422, "invalid_reason");
    server
        .act(&admin, "/v1/admin/devices", &key(), json!({"label": 7}))
        .await?
        .expect(422);
    let response = server
        .http
        .post(server.url("/v1/admin/devices"))
        .bearer_auth(&admin.token)
        .json(&body)
        .send()
        .await?;
    TestServer::reply(response)
        .await?
        .expect_error(422, "idempotency_key_required");
    let unknown = uuid::Uuid::now_v7();
    server
        .get(&format!("/v1/admin/devices/{unknown}"), &admin.token)
        .await?
        .expect_error(404, "device_not_found");
    server
        .get("/v1/admin/devices/not-a-uuid", &admin.token)
        .await?
        .expect_error(404, "device_not_found");
    server
        .act(
            &admin,
            &format!("/v1/admin/devices/{unknown}/bind"),
            &key(),
            json!({"worker_id": driver.id, "reason": "x"}),
        )
        .await?
        .expect_error(404, "device_not_found");
    server
        .get("/v1/admin/devices?worker_id=", &admin.token)
        .await?
        .expect_error(422, "invalid_worker");
    server
        .get("/v1/admin/devices?limit=", &admin.token)
        .await?
        .expect_error(422, "invalid_limit");
    server
        .get("/v1/admin/devices?limit=0", &admin.token)
        .await?
        .expect_error(422, "invalid_limit");

    // Bound only to a worker that exists and is a driver.
    let bind_path = format!("/v1/admin/devices/{id}/bind");
    server
        .act(
            &admin,
            &bind_path,
            &key(),
            json!({"worker_id": uuid::Uuid::now_v7(), "reason": "fitted"}),
        )
        .await?
        .expect_error(422, "worker_not_found");
    server
        .act(
            &admin,
            &bind_path,
            &key(),
            json!({"worker_id": rider.id, "reason": "fitted"}),
        )
        .await?
        .expect_error(422, "not_a_worker");
    server
        .act(
            &admin,
            &bind_path,
            &key(),
            json!({"worker_id": "nope", "reason": "fitted"}),
        )
        .await?
        .expect(422);
    let bind_key = key();
    let bind_body = json!({"worker_id": driver.id, "reason": "tracker fitted"});
    let bound = server
        .act(&admin, &bind_path, &bind_key, bind_body.clone())
        .await?
        .expect(200);
    assert_eq!(bound["worker_id"], driver.id.as_str());
    assert!(bound["bound_at"].is_string());
    server
        .act(&admin, &bind_path, &bind_key, bind_body)
        .await?
        .expect(200);
    let of_driver = server
        .get(
            &format!("/v1/admin/devices?worker_id={}", driver.id),
            &admin.token,
        )
        .await?
        .expect(200);
    assert_eq!(of_driver["devices"][0]["device_id"], id.as_str());
    // The key of the binding is not a key for another action.
    server
        .act(
            &admin,
            &format!("/v1/admin/devices/{id}/unbind"),
            &bind_key,
            json!({"reason": "reuse"}),
        )
        .await?
        .expect_error(422, "idempotency_key_reused");

    // Rotation: a new token, once; the digest changes.
    let rotate_key = key();
    let rotate_path = format!("/v1/admin/devices/{id}/rotate-token");
    let rotated = server
        .act(
            &admin,
            &rotate_path,
            &rotate_key,
            json!({"reason": "token leaked"}),
        )
        .await?
        .expect(200);
    let new_token = field(&rotated, "token")?;
    assert_ne!(new_token, token);
    let again = server
        .act(
            &admin,
            &rotate_path,
            &rotate_key,
            json!({"reason": "token leaked"}),
        )
        .await?
        .expect(200);
    assert!(again.get("token").is_none(), "{again}");
    let restored = server.app.store().device(device).await?.ok_or("stored")?;
    assert_ne!(restored.token_hash, stored.token_hash);

    // Unbinding.
    let unbound = server
        .act(
            &admin,
            &format!("/v1/admin/devices/{id}/unbind"),
            &key(),
            json!({"reason": "tracker removed"}),
        )
        .await?
        .expect(200);
    assert_eq!(unbound["worker_id"], Value::Null);
    assert_eq!(unbound["bound_at"], Value::Null);

    // Each write once in the audit log, newest first, about the device.
    let entries = server.audit_of(&admin, &id).await?;
    assert_eq!(
        audited_actions(&entries),
        [
            "unbind_device",
            "rotate_device_token",
            "bind_device",
            "create_device"
        ]
    );
    assert_eq!(entries[0]["target_kind"], "device");
    assert_eq!(entries[0]["reason"], "tracker removed");
    assert_eq!(entries[1]["reason"], "token leaked");
    assert_eq!(entries[3]["reason"], "new tracker");
    // No token in any audit entry.
    let text = serde_json::to_string(&entries)?;
    assert!(!text.contains(&token) && !text.contains(&new_token));
    server.stop().await
}

/// Whether the broker answers; prints `MQTT_SKIPPED` (or fails under `DOORSTEP_REQUIRE_MQTT`) if not.
async fn broker_available(name: &str) -> TestResult<bool> {
    let reachable = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(BROKER),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    if reachable {
        return Ok(true);
    }
    // Written to the stderr handle rather than with `eprintln!`, which the harness hides: CI reads it.
    writeln!(
        std::io::stderr(),
        "MQTT_SKIPPED: no MQTT broker at {}:{}, so {name} did not run",
        BROKER.0,
        BROKER.1
    )?;
    if std::env::var_os(REQUIRE_MQTT_VAR).is_some_and(|v| !v.is_empty()) {
        return Err(
            format!("{REQUIRE_MQTT_VAR} is set but no broker answers at {BROKER:?}").into(),
        );
    }
    Ok(false)
}

/// A device's side of the broker: a connected client that publishes.
struct Publisher {
    client: rumqttc::AsyncClient,
    polling: tokio::task::JoinHandle<()>,
}

impl Publisher {
    async fn connect() -> TestResult<Publisher> {
        let id = format!("doorstep-test-{}", uuid::Uuid::new_v4().simple());
        let mut options = rumqttc::MqttOptions::new(id, BROKER.0, BROKER.1);
        options.set_keep_alive(Duration::from_secs(10));
        let (client, mut events) = rumqttc::AsyncClient::new(options, 64);
        let (connected_tx, connected) = tokio::sync::oneshot::channel();
        let polling = tokio::spawn(async move {
            let mut connected_tx = Some(connected_tx);
            loop {
                match events.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        if let Some(tx) = connected_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(5), connected).await??;
        Ok(Publisher { client, polling })
    }

    async fn publish(&self, topic: &str, payload: Vec<u8>) -> TestResult {
        self.client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
            .await?;
        Ok(())
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.polling.abort();
    }
}

fn json_payload(token: &str, place: Place, at: Timestamp) -> Vec<u8> {
    json!({
        "token": token,
        "points": [{"lat": place.lat, "lng": place.lng, "at": doorstep_api::dto::rfc3339(at)}],
    })
    .to_string()
    .into_bytes()
}

fn binary_payload(token: &str, place: Place, at: Timestamp) -> TestResult<Vec<u8>> {
    let raw = parse_token(token).ok_or("a device token")?;
    let p = doorstep_geo::LatLng::new(place.lat, place.lng)?;
    Ok(encode_binary(&raw, &[(p, at)]))
}

fn near(found: Option<(f64, f64)>, place: Place) -> bool {
    found.is_some_and(|(lat, lng)| (lat - place.lat).abs() < 1e-5 && (lng - place.lng).abs() < 1e-5)
}

pub async fn a_bound_devices_positions_over_mqtt_move_its_worker_and_other_messages_are_dropped(
    db: TestDb,
) -> TestResult {
    if !broker_available(
        "a_bound_devices_positions_over_mqtt_move_its_worker_and_other_messages_are_dropped",
    )
    .await?
    {
        return Ok(());
    }
    // A share group of its own, so that servers of tests running side by side do not take each
    // other's messages.
    let group = format!("test-{}", uuid::Uuid::new_v4().simple());
    let config = AppConfig {
        mqtt_url: Some(format!(
            "mqtt://{}:{}?share_group={group}",
            BROKER.0, BROKER.1
        )),
        ..test_config()
    };
    let server =
        TestServer::start_with(&db, config, Clock::manual(crate::server::WEDNESDAY_2PM)).await?;
    let admin = server.admin().await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let other = server.driver_at(BRYANT_PARK).await?;
    let device = server.create_device(&admin, "cab 42").await?;
    let (device_id, token) = (field(&device, "device_id")?, field(&device, "token")?);
    server.bind_device(&admin, &device_id, &driver).await?;
    let spare = server.create_device(&admin, "spare").await?;
    let (spare_id, spare_token) = (field(&spare, "device_id")?, field(&spare, "token")?);
    let topic = position_topic("manhattan", device_id.parse()?);
    let publisher = Publisher::connect().await?;
    // References the polling closures below copy.
    let (srv, adm, drv) = (&server, &admin, &driver);
    let (publ, topic_ref, token_ref) = (&publisher, &topic, &token);

    // JSON: the worker moves on the operations map, as with the phone's positions. The server's
    // subscription may still be on its way: publish again until it is there.
    server.clock.advance_secs(60);
    let at = server.clock.now();
    eventually(
        "the device's JSON position on the map",
        move || async move {
            publ.publish(topic_ref, json_payload(token_ref, TIMES_SQUARE, at))
                .await?;
            Ok(near(srv.map_position(adm, drv).await?, TIMES_SQUARE).then_some(()))
        },
    )
    .await?;
    let counts = server.app.device_ingest_counts();
    assert!(counts.accepted() >= 1);

    // Binary: the same.
    server.clock.advance_secs(300);
    let at = server.clock.now();
    publisher
        .publish(&topic, binary_payload(&token, UNION_SQUARE, at)?)
        .await?;
    eventually("the device's binary position on the map", move || async move {
        Ok(near(srv.map_position(adm, drv).await?, UNION_SQUARE).then_some(()))
    })
    .await?;

    // What moves nobody: an unbound device, a wrong token, an unknown device, a malformed payload, a
    // topic not of a device.
    server.clock.advance_secs(300);
    let at = server.clock.now();
    let spare_topic = position_topic("manhattan", spare_id.parse()?);
    publisher
        .publish(&spare_topic, json_payload(&spare_token, BRYANT_PARK, at))
        .await?;
    publisher
        .publish(&topic, json_payload(&spare_token, BRYANT_PARK, at))
        .await?;
    publisher
        .publish(&topic, binary_payload(&spare_token, BRYANT_PARK, at)?)
        .await?;
    let unknown_topic = position_topic("manhattan", DeviceId::from_uuid(uuid::Uuid::now_v7()));
    publisher
        .publish(&unknown_topic, json_payload(&token, BRYANT_PARK, at))
        .await?;
    publisher
        .publish(&topic, b"{\"token\": 12, \"points\": []".to_vec())
        .await?;
    let mut truncated = binary_payload(&token, BRYANT_PARK, at)?;
    truncated.pop();
    publisher.publish(&topic, truncated).await?;
    let too_far = json!({"token": token, "points": [{"lat": 91.0, "lng": -73.98, "at": doorstep_api::dto::rfc3339(at)}]});
    publisher
        .publish(&topic, too_far.to_string().into_bytes())
        .await?;
    eventually("every bad message counted as dropped", move || async move {
        let c = srv.app.device_ingest_counts();
        Ok((c.dropped(DropReason::Unbound) >= 1
            && c.dropped(DropReason::WrongToken) >= 2
            && c.dropped(DropReason::UnknownDevice) >= 1
            && c.dropped(DropReason::Malformed) >= 2
            && c.dropped(DropReason::InvalidLocation) >= 1)
            .then_some(()))
    })
    .await?;
    assert!(near(
        server.map_position(&admin, &driver).await?,
        UNION_SQUARE
    ));
    assert!(near(
        server.map_position(&admin, &other).await?,
        BRYANT_PARK
    ));

    // Rotation: the old token no longer moves the worker, the new one does.
    let rotated = server
        .act(
            &admin,
            &format!("/v1/admin/devices/{device_id}/rotate-token"),
            &key(),
            json!({"reason": "token leaked"}),
        )
        .await?
        .expect(200);
    let new_token = field(&rotated, "token")?;
    let wrong_before = server
        .app
        .device_ingest_counts()
        .dropped(DropReason::WrongToken);
    publisher
        .publish(&topic, json_payload(&token, BRYANT_PARK, at))
        .await?;
    eventually("the old token refused", move || async move {
        Ok((srv
            .app
            .device_ingest_counts()
            .dropped(DropReason::WrongToken)
            > wrong_before)
            .then_some(()))
    })
    .await?;
    assert!(near(
        server.map_position(&admin, &driver).await?,
        UNION_SQUARE
    ));
    publisher
        .publish(&topic, json_payload(&new_token, BRYANT_PARK, at))
        .await?;
    eventually("the new token's position on the map", move || async move {
        Ok(near(srv.map_position(adm, drv).await?, BRYANT_PARK).then_some(()))
    })
    .await?;

    // Unbinding: the device moves nobody any more.
    server
        .act(
            &admin,
            &format!("/v1/admin/devices/{device_id}/unbind"),
            &key(),
            json!({"reason": "tracker removed"}),
        )
        .await?
        .expect(200);
    server.clock.advance_secs(300);
    let at = server.clock.now();
    let unbound_before = server
        .app
        .device_ingest_counts()
        .dropped(DropReason::Unbound);
    publisher
        .publish(&topic, json_payload(&new_token, TIMES_SQUARE, at))
        .await?;
    eventually("the unbound device's message dropped", move || async move {
        Ok(
            (srv.app.device_ingest_counts().dropped(DropReason::Unbound) > unbound_before)
                .then_some(()),
        )
    })
    .await?;
    assert!(near(
        server.map_position(&admin, &driver).await?,
        BRYANT_PARK
    ));

    // The counters are on /metrics for operators.
    let metrics = server.get_text("/metrics", &admin.token).await?;
    assert!(
        metrics.contains("mqtt_positions_accepted_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mqtt_messages_dropped_total{reason=\"wrong_token\"}"),
        "{metrics}"
    );
    drop(publisher);
    server.stop().await
}
