//! The order's state machine on its delivery job: the whole path, every way it ends, and the money.

use super::checkout::{CheckoutInput, FeeSchedule, quote_checkout};
use super::order::*;
use crate::code::VerificationCode;
use crate::ids::{JobId, MerchantId, UserId};
use crate::job::{JobState, UnfulfilledReason};
use crate::ledger::{
    Account, PostingKey, PostingKind, TrialBalance, delivery_order_posting,
    order_cancellation_fee_posting, tip_posting,
};
use crate::money::{Currency, Money};
use crate::pricing::SurgeMillis;
use crate::time::Timestamp;
use doorstep_geo::LatLng;

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

fn user(n: u128) -> UserId {
    UserId::from_uuid(uuid::Uuid::from_u128(n))
}

const CUSTOMER: u128 = 1;
const COURIER: u128 = 2;
const T0: i64 = 1_780_000_000_000;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_millis(T0).plus_secs(secs)
}

fn restaurant() -> LatLng {
    LatLng::new(40.7484, -73.9857).expect("point")
}

fn home() -> LatLng {
    LatLng::new(40.7527, -73.9772).expect("point")
}

fn estimate() -> DeliveryEstimate {
    DeliveryEstimate {
        prep_s: 900,
        to_pickup_s: 300,
        drive_s: 600,
        pickup_service_s: 120,
        dropoff_service_s: 120,
    }
}

fn new_order(scheduled_for: Option<Timestamp>) -> NewOrder {
    let schedule = FeeSchedule::default();
    let quote = quote_checkout(
        &schedule,
        &CheckoutInput {
            food: usd(2400),
            distance_m: 900,
            surge: SurgeMillis::NONE,
            tip: usd(300),
            promo: None,
            now: at(0),
        },
    )
    .expect("quote");
    NewOrder {
        id: JobId::from_uuid(uuid::Uuid::from_u128(77)),
        customer: user(CUSTOMER),
        merchant: MerchantId::from_uuid(uuid::Uuid::from_u128(5)),
        pickup: restaurant(),
        dropoff: home(),
        address: "350 5th Ave".to_owned(),
        lines: vec![OrderLine {
            item: crate::ids::MenuItemId::from_uuid(uuid::Uuid::from_u128(9)),
            name: "Dumplings".to_owned(),
            quantity: 2,
            unit_price: usd(1200),
            options: Vec::new(),
            note: None,
            total: usd(2400),
        }],
        quote,
        handover: VerificationCode::restore("4321", 0).expect("code"),
        estimate: estimate(),
        scheduled_for,
        bags: 1,
    }
}

fn placed() -> Order {
    Order::place(new_order(None), at(0)).expect("placed").0
}

#[test]
fn an_order_goes_from_placed_to_delivered_and_its_money_balances() {
    let mut o = placed();
    assert_eq!(o.state(), OrderState::Placed);
    assert!(!o.wants_courier(), "no courier before the kitchen accepts");
    // Promise: prep 15 min, then pickup 2, drive 10, hand-over 2.
    assert_eq!(o.record.promised_at, at(900 + 120 + 600 + 120));
    let v0 = o.version();

    o.accept(1200, at(60)).expect("accept");
    assert_eq!(o.state(), OrderState::Accepted);
    assert!(o.wants_courier());
    assert_eq!(o.ready_estimate(), at(60 + 1200));
    assert_eq!(
        o.record.eta,
        at(60 + 1200 + 840),
        "the estimate follows the kitchen"
    );
    assert!(o.version() > v0);

    o.start_preparing().expect("preparing");
    assert_eq!(o.state(), OrderState::Preparing);
    o.assign(user(COURIER), 400, at(700)).expect("assign");
    o.mark_ready(at(1100)).expect("ready");
    assert_eq!(o.state(), OrderState::Ready);
    assert_eq!(
        o.ready_estimate(),
        at(1100),
        "the pickup window opens when ready"
    );

    o.arrive_at_restaurant(user(COURIER), Some(restaurant()), 100, at(1150))
        .expect("arrive");
    o.pick_up(user(COURIER), Some(restaurant()), 100, at(1200))
        .expect("pick up");
    assert_eq!(o.state(), OrderState::PickedUp);
    assert_eq!(
        o.cancel_by_customer(user(CUSTOMER), &FeeSchedule::default(), at(1210))
            .map_err(|e| matches!(e, OrderError::Transition { .. })),
        Err(true),
        "no cancelling once the courier has the food"
    );

    // A wrong code is counted; the right one delivers.
    let wrong = o
        .deliver(user(COURIER), Some("0000"), 5, Some(home()), 100, at(1800))
        .expect("counted");
    assert!(matches!(
        wrong,
        Handover::WrongCode {
            attempts_left: 4,
            ..
        }
    ));
    assert_eq!(o.state(), OrderState::PickedUp);
    let done = o
        .deliver(user(COURIER), Some("4321"), 5, Some(home()), 100, at(1810))
        .expect("delivered");
    assert!(matches!(done, Handover::Delivered(_)));
    assert_eq!(o.state(), OrderState::Delivered);
    assert_eq!(o.job().state, JobState::Completed);

    let schedule = FeeSchedule::default();
    let pay = schedule.courier_pay(o.record.quote.distance_m);
    let order = delivery_order_posting(
        o.id(),
        o.customer(),
        o.merchant(),
        user(COURIER),
        &o.record.quote.charge(&schedule, pay),
        at(1810),
    )
    .expect("order posting");
    let tip = tip_posting(
        o.id(),
        o.customer(),
        user(COURIER),
        o.record.quote.tip,
        PostingKey::once(PostingKind::Tip),
        at(1810),
    )
    .expect("tip posting");
    let mut books = TrialBalance::new();
    books.post(&order);
    books.post(&tip);
    assert!(books.is_balanced());
    assert_eq!(
        books.balance(Account::customer(user(CUSTOMER)), Currency::USD),
        -o.record.quote.total.minor,
        "the customer pays exactly the checkout total"
    );
    assert_eq!(
        books.balance(Account::MerchantPayable(o.merchant()), Currency::USD),
        2400 - 360,
        "the food less 15 %"
    );
    assert_eq!(
        books.balance(Account::worker_earnings(user(COURIER)), Currency::USD),
        pay.minor
    );
    assert_eq!(
        books.balance(Account::Tips(user(COURIER)), Currency::USD),
        300
    );
}

#[test]
fn a_merchant_rejects_before_accepting_and_nothing_is_charged() {
    let mut o = placed();
    o.reject(RejectReason::TooBusy, at(30)).expect("reject");
    assert_eq!(o.state(), OrderState::Rejected);
    assert_eq!(o.job().state, JobState::Cancelled);
    assert_eq!(o.job().cancel_fee, None);
    assert!(
        o.accept(600, at(40)).is_err(),
        "an ended order is not accepted"
    );

    let mut accepted = placed();
    accepted.accept(600, at(10)).expect("accept");
    assert!(
        accepted.reject(RejectReason::Other, at(20)).is_err(),
        "an accepted order is cancelled, not rejected"
    );
}

#[test]
fn cancelling_is_free_until_the_kitchen_accepts_then_costs_the_late_fee() {
    let schedule = FeeSchedule::default();
    let mut early = placed();
    early
        .cancel_by_customer(user(CUSTOMER), &schedule, at(20))
        .expect("cancel");
    assert_eq!(early.state(), OrderState::Cancelled);
    assert_eq!(early.job().cancel_fee, None);

    let mut late = placed();
    late.accept(600, at(10)).expect("accept");
    assert_eq!(late.cancel_fee(&schedule), Some(Some(usd(1200))));
    late.cancel_by_customer(user(CUSTOMER), &schedule, at(20))
        .expect("cancel");
    assert_eq!(late.state(), OrderState::Cancelled);
    let fee = late.job().cancel_fee.expect("fee");
    let posting = order_cancellation_fee_posting(
        late.id(),
        late.customer(),
        late.merchant(),
        fee,
        schedule.merchant_commission_bps,
        at(20),
    )
    .expect("posting");
    let mut books = TrialBalance::new();
    books.post(&posting);
    assert!(books.is_balanced());
    assert_eq!(
        books.balance(Account::MerchantPayable(late.merchant()), Currency::USD),
        1200 - 180
    );

    let mut other = placed();
    assert!(
        other
            .cancel_by_customer(user(99), &schedule, at(20))
            .is_err(),
        "only the order's customer cancels it"
    );
}

#[test]
fn an_order_no_courier_can_take_is_undeliverable_with_its_reason() {
    let mut o = placed();
    o.accept(600, at(10)).expect("accept");
    o.undeliverable_no_courier(UnfulfilledReason::NoWorkersNearby, at(2000))
        .expect("undeliverable");
    assert_eq!(o.state(), OrderState::Undeliverable);
    assert_eq!(
        o.job().unfulfilled_reason,
        Some(UnfulfilledReason::NoWorkersNearby)
    );

    let mut c = placed();
    c.accept(600, at(10)).expect("accept");
    c.assign(user(COURIER), 300, at(20)).expect("assign");
    c.arrive_at_restaurant(user(COURIER), Some(restaurant()), 100, at(600))
        .expect("arrive");
    c.pick_up(user(COURIER), Some(restaurant()), 100, at(620))
        .expect("pick up");
    c.undeliverable_by_courier(
        user(COURIER),
        UnfulfilledReason::CustomerUnreachable,
        at(1500),
    )
    .expect("undeliverable");
    assert_eq!(c.state(), OrderState::Undeliverable);
}

#[test]
fn a_courier_who_picks_up_unmarked_food_marks_it_ready() {
    let mut o = placed();
    o.accept(600, at(10)).expect("accept");
    o.assign(user(COURIER), 300, at(20)).expect("assign");
    o.arrive_at_restaurant(user(COURIER), Some(restaurant()), 100, at(600))
        .expect("arrive");
    o.pick_up(user(COURIER), Some(restaurant()), 100, at(640))
        .expect("pick up");
    assert_eq!(o.record.kitchen, KitchenState::Ready);
    assert_eq!(o.record.ready_at, Some(at(640)));
}

#[test]
fn a_scheduled_order_is_promised_for_its_slot_and_cooked_for_it() {
    let slot = at(3 * 3600);
    let (mut o, _) = Order::place(new_order(Some(slot)), at(0)).expect("placed");
    assert_eq!(o.record.promised_at, slot);
    // Ready in time to be at the door at the slot.
    assert_eq!(o.ready_estimate(), slot.plus_secs(-840));
    o.accept(900, at(60)).expect("accept");
    assert_eq!(
        o.ready_estimate(),
        slot.plus_secs(-840),
        "accepting early does not bring a scheduled order forward"
    );
}

#[test]
fn commands_out_of_order_are_refused_and_change_nothing() {
    let mut o = placed();
    let before = o.clone();
    assert!(o.mark_ready(at(5)).is_err());
    assert!(o.start_preparing().is_err());
    assert!(o.assign(user(COURIER), 100, at(5)).is_err());
    assert!(o.accept(0, at(5)).is_err());
    assert!(o.accept(MAX_PREP_S + 1, at(5)).is_err());
    assert_eq!(o, before);
    o.accept(600, at(10)).expect("accept");
    let before = o.clone();
    // Delivering before the pickup is refused, and nothing changes.
    assert!(
        o.deliver(user(COURIER), Some("4321"), 5, Some(home()), 100, at(20))
            .is_err()
    );
    assert_eq!(o, before);
}
