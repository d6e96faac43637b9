//! Food orders and promo codes in the store (run on both backends by the suite's macro).

use crate::merchants::{audit, merchant};
use crate::{TestResult, at, new_user, place};
use doorstep_domain::audit::AuditAction;
use doorstep_domain::code::VerificationCode;
use doorstep_domain::food::checkout::{CheckoutInput, FeeSchedule, PromoUse, quote_checkout};
use doorstep_domain::food::order::{
    DeliveryEstimate, NewOrder, Order, OrderEvent, OrderLine, OrderState,
};
use doorstep_domain::food::promo::{Promo, PromoCode, PromoValue};
use doorstep_domain::pricing::SurgeMillis;
use doorstep_domain::{Currency, JobId, MenuItemId, Money, Role, UserId};
use doorstep_store::{
    OrderChange, Placed, Recipient, RecipientRole, Store, StoreError, StoredEvent,
};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

/// An approved merchant with one staff account; returns the merchant and the cook.
async fn open_merchant(store: &Store) -> Result<(doorstep_domain::MerchantId, UserId), Error> {
    let admin = new_user(store, Role::Admin, "ops").await?;
    let cook = new_user(store, Role::Merchant, "cook").await?;
    let m = merchant("Noodle Bar", 40.7527, -73.9772)?;
    store
        .create_merchant(
            &m,
            None,
            &[cook.id],
            &audit(admin.id, AuditAction::CreateMerchant, m.id, 0),
        )
        .await?;
    Ok((m.id, cook.id))
}

fn new_order(
    merchant: doorstep_domain::MerchantId,
    customer: UserId,
    promo: Option<&Promo>,
) -> Result<Order, Error> {
    let quote = quote_checkout(
        &FeeSchedule::default(),
        &CheckoutInput {
            food: usd(2900),
            distance_m: 1200,
            surge: SurgeMillis::NONE,
            tip: usd(200),
            promo: promo.map(|p| PromoUse {
                promo: p,
                used_by_customer: 0,
                used_in_all: 0,
            }),
            now: at(0),
        },
    )?;
    let (order, _) = Order::place(
        NewOrder {
            id: JobId::from_uuid(Uuid::now_v7()),
            customer,
            merchant,
            pickup: place(40.7527, -73.9772)?,
            dropoff: place(40.7484, -73.9857)?,
            address: "350 5th Ave".to_owned(),
            lines: vec![OrderLine {
                item: MenuItemId::from_uuid(Uuid::now_v7()),
                name: "Pad thai".to_owned(),
                quantity: 2,
                unit_price: usd(1450),
                options: vec![],
                note: Some("no peanuts".to_owned()),
                total: usd(2900),
            }],
            quote,
            handover: VerificationCode::restore("2468", 0)?,
            estimate: DeliveryEstimate {
                prep_s: 900,
                to_pickup_s: 240,
                drive_s: 480,
                pickup_service_s: 120,
                dropoff_service_s: 120,
            },
            scheduled_for: None,
            bags: 1,
        },
        at(0),
    )?;
    Ok(order)
}

fn to(customer: UserId, cook: UserId) -> Vec<Recipient> {
    vec![
        Recipient {
            user: customer,
            role: RecipientRole::Customer,
        },
        Recipient {
            user: cook,
            role: RecipientRole::MerchantStaff,
        },
    ]
}

async fn place_new(
    store: &Store,
    order: &Order,
    key: &str,
    hash: &str,
    recipients: Vec<Recipient>,
) -> Result<Placed, StoreError> {
    let placed = OrderEvent::OrderPlaced {
        merchant: order.merchant(),
        total: order.record.quote.total,
        promised_at: order.record.promised_at,
    };
    store
        .place_order(order, Some(key), hash, &[(placed, recipients)], at(0))
        .await
}

pub async fn an_order_round_trips_and_a_repeated_key_returns_it_with_its_request_hash(
    store: Store,
) -> TestResult {
    let (merchant, cook) = open_merchant(&store).await?;
    let customer = new_user(&store, Role::Rider, "eater").await?;
    let order = new_order(merchant, customer.id, None)?;
    let Placed::New(stored, events) =
        place_new(&store, &order, "k1", "hash-a", to(customer.id, cook)).await?
    else {
        return Err("the first placement is new".into());
    };
    assert_eq!(stored, order);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.kind(), "order_placed");
    assert_eq!(store.order(order.id()).await?, Some(order.clone()));

    // The same key again (another body): the stored order and the first request's hash; nothing new.
    let other = new_order(merchant, customer.id, None)?;
    match place_new(&store, &other, "k1", "hash-b", to(customer.id, cook)).await? {
        Placed::Existing(existing, hash) => {
            assert_eq!(existing.id(), order.id());
            assert_eq!(hash, "hash-a");
        }
        Placed::New(..) => return Err("a repeated key placed a second order".into()),
    }
    assert_eq!(store.orders_of_customer(customer.id, 10).await?.len(), 1);
    assert_eq!(
        store.orders_of_merchant(merchant, at(0), 10).await?.len(),
        1
    );
    assert_eq!(store.open_orders_of_merchant(merchant).await?, 1);

    // The staff see the merchant's event; the customer too; nobody else.
    let cooks: Vec<StoredEvent> = store.events_for_user(cook, 0, 10).await?;
    assert_eq!(cooks.len(), 1);
    let stranger = new_user(&store, Role::Rider, "stranger").await?;
    assert!(store.events_for_user(stranger.id, 0, 10).await?.is_empty());
    Ok(())
}

pub async fn an_order_change_is_written_under_its_version_and_a_stale_one_is_refused(
    store: Store,
) -> TestResult {
    let (merchant, cook) = open_merchant(&store).await?;
    let customer = new_user(&store, Role::Rider, "eater").await?;
    let order = new_order(merchant, customer.id, None)?;
    place_new(&store, &order, "k1", "h", to(customer.id, cook)).await?;

    let mut accepted = order.clone();
    let events = accepted.accept(1200, at(1_000))?;
    let recipients = to(customer.id, cook);
    let with: Vec<_> = events
        .into_iter()
        .map(|e| (e, recipients.clone()))
        .collect();
    store
        .save_order_change(OrderChange {
            order: &accepted,
            expected_version: order.version(),
            events: &with,
            postings: &[],
            release_promo: false,
            offers: &[],
            audit: None,
            at: at(1_000),
        })
        .await?;
    let read = store.order(order.id()).await?.ok_or("stored")?;
    assert_eq!(read.state(), OrderState::Accepted);
    assert_eq!(read, accepted);
    assert_eq!(store.orders_waiting_for_courier().await?.len(), 1);

    // A change computed from the old version loses and writes nothing.
    let mut stale = order.clone();
    let events = stale.reject(
        doorstep_domain::food::order::RejectReason::TooBusy,
        at(2_000),
    )?;
    let with: Vec<_> = events
        .into_iter()
        .map(|e| (e, recipients.clone()))
        .collect();
    let lost = store
        .save_order_change(OrderChange {
            order: &stale,
            expected_version: order.version(),
            events: &with,
            postings: &[],
            release_promo: true,
            offers: &[],
            audit: None,
            at: at(2_000),
        })
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    assert_eq!(
        store.order(order.id()).await?.map(|o| o.state()),
        Some(OrderState::Accepted)
    );
    Ok(())
}

pub async fn a_promo_codes_limits_hold_under_concurrent_orders_and_a_cancelled_order_gives_its_use_back(
    store: Store,
) -> TestResult {
    let (merchant, cook) = open_merchant(&store).await?;
    let promo = Promo {
        code: PromoCode::parse("LUNCH5")?,
        value: PromoValue::Amount { off: usd(500) },
        min_order: usd(1000),
        per_user_limit: 1,
        total_limit: 3,
        expires_at: at(86_400_000),
    };
    let admin = new_user(&store, Role::Admin, "marketing").await?;
    let entry = |action| {
        let mut e = audit(admin.id, action, merchant, 0);
        e.target = Uuid::now_v7();
        e
    };
    let first_entry = entry(AuditAction::CreatePromo);
    store
        .create_promo(first_entry.target, &promo, &first_entry, at(0))
        .await?;
    let second_entry = entry(AuditAction::CreatePromo);
    assert!(matches!(
        store
            .create_promo(second_entry.target, &promo, &second_entry, at(0))
            .await,
        Err(StoreError::PromoTaken)
    ));
    assert_eq!(
        store.promo(&promo.code).await?.map(|p| p.id),
        Some(first_entry.target)
    );

    // One customer: the second order with the code is refused.
    let first = new_user(&store, Role::Rider, "first").await?;
    let o1 = new_order(merchant, first.id, Some(&promo))?;
    place_new(&store, &o1, "a", "h", to(first.id, cook)).await?;
    let again = new_order(merchant, first.id, Some(&promo))?;
    assert!(matches!(
        place_new(&store, &again, "b", "h", to(first.id, cook)).await,
        Err(StoreError::PromoUsedUp)
    ));
    assert_eq!(store.promo_uses_of(&promo.code, first.id).await?, 1);
    assert!(store.order(again.id()).await?.is_none(), "nothing written");

    // Six customers race for the two uses left: exactly two get them.
    let mut racers = Vec::new();
    for n in 0..6 {
        let c = new_user(&store, Role::Rider, &format!("racer{n}")).await?;
        let o = new_order(merchant, c.id, Some(&promo))?;
        let store = store.clone();
        let recipients = to(c.id, cook);
        racers.push(tokio::spawn(async move {
            place_new(&store, &o, "race", "h", recipients).await
        }));
    }
    let mut won = 0;
    for r in racers {
        match r.await? {
            Ok(Placed::New(..)) => won += 1,
            Err(StoreError::PromoExhausted) => {}
            other => return Err(format!("unexpected {other:?}").into()),
        }
    }
    assert_eq!(won, 2);
    assert_eq!(store.promo(&promo.code).await?.ok_or("promo")?.used, 3);

    // The first customer cancels before the kitchen accepts: the use comes back.
    let mut cancelled = o1.clone();
    let events = cancelled.cancel_by_customer(first.id, &FeeSchedule::default(), at(5_000))?;
    let recipients = to(first.id, cook);
    let with: Vec<_> = events
        .into_iter()
        .map(|e| (e, recipients.clone()))
        .collect();
    store
        .save_order_change(OrderChange {
            order: &cancelled,
            expected_version: o1.version(),
            events: &with,
            postings: &[],
            release_promo: true,
            offers: &[],
            audit: None,
            at: at(5_000),
        })
        .await?;
    assert_eq!(store.promo(&promo.code).await?.ok_or("promo")?.used, 2);
    assert_eq!(store.promo_uses_of(&promo.code, first.id).await?, 0);
    Ok(())
}

pub async fn an_order_is_rated_once_per_rater_and_ratee_and_a_merchant_can_be_the_ratee(
    store: Store,
) -> TestResult {
    use doorstep_domain::rating::{JobRating, Ratee, Stars};
    let (merchant, cook) = open_merchant(&store).await?;
    let customer = new_user(&store, Role::Rider, "eater").await?;
    let courier = new_user(&store, Role::Driver, "rider-on-bike").await?;
    let order = new_order(merchant, customer.id, None)?;
    place_new(&store, &order, "k1", "hash-a", to(customer.id, cook)).await?;
    let rating = |from: UserId, to: Ratee, stars: u8, tags: &[&str]| -> Result<JobRating, Error> {
        Ok(JobRating {
            job: order.id(),
            from,
            to,
            stars: Stars::new(stars)?,
            comment: String::new(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            at: at(10),
        })
    };
    let of_merchant = rating(customer.id, Ratee::Merchant(merchant), 5, &["hot"])?;
    let of_courier = rating(customer.id, Ratee::User(courier.id), 4, &[])?;
    let of_customer = rating(courier.id, Ratee::User(customer.id), 3, &[])?;
    for r in [&of_merchant, &of_courier, &of_customer] {
        store.insert_job_rating(r).await?;
    }
    // One per order, rater and ratee, whether the ratee is a user or a merchant.
    for again in [
        rating(customer.id, Ratee::Merchant(merchant), 1, &[])?,
        rating(customer.id, Ratee::User(courier.id), 1, &[])?,
    ] {
        assert!(matches!(
            store.insert_job_rating(&again).await,
            Err(StoreError::AlreadyRated)
        ));
    }
    let mut read = store.ratings_of_job(order.id()).await?;
    read.sort_by_key(|r| (r.from.to_string(), r.stars));
    let mut expected = vec![of_merchant, of_courier, of_customer];
    expected.sort_by_key(|r| (r.from.to_string(), r.stars));
    assert_eq!(read, expected);
    assert_eq!(store.merchant_rating_summary(merchant).await?, (5.0, 1));
    // A merchant's rating is not a user's: the courier's and the customer's summaries count their own.
    assert_eq!(store.rating_summary(courier.id).await?, (4.0, 1));
    assert_eq!(store.rating_summary(customer.id).await?, (3.0, 1));
    Ok(())
}
