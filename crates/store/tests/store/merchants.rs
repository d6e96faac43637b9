//! Merchants, their staff, hours and menus in the store (run on both backends by the suite's macro).

use crate::{TestResult, at, new_user, place};
use doorstep_domain::audit::{AuditAction, NewAuditEntry};
use doorstep_domain::food::hours::{Exceptions, OpeningHours, OpeningRange, WeeklyHours};
use doorstep_domain::food::menu::{CategoryDraft, ItemDraft, Menu, MenuDraft};
use doorstep_domain::food::merchant::{Merchant, MerchantStatus, Profile, StatusAction};
use doorstep_domain::onboarding::CalendarDate;
use doorstep_domain::{Currency, Email, MenuItemId, MerchantId, Role, User, UserId};
use doorstep_store::{Store, StoreError};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

pub(crate) fn audit(
    actor: UserId,
    action: AuditAction,
    target: MerchantId,
    ms: i64,
) -> NewAuditEntry {
    NewAuditEntry {
        actor,
        action,
        target: target.as_uuid(),
        reason: "new restaurant".to_owned(),
        detail: "{}".to_owned(),
        idempotency_key: Some(Uuid::new_v4().to_string()),
        at: at(ms),
    }
}

/// A pending merchant at `(lat, lng)` with a 1.5 km radius, open 11:00-15:00 and 18:00-02:00 every day,
/// closed on Christmas Day and with short hours on New Year's Eve.
pub(crate) fn merchant(name: &str, lat: f64, lng: f64) -> Result<Merchant, Error> {
    let profile = Profile::new(
        name,
        &["thai".to_owned(), "noodles".to_owned()],
        "41 W 42nd St",
        place(lat, lng)?,
        1_500,
        15,
    )?;
    let mut m = Merchant::new(MerchantId::from_uuid(Uuid::now_v7()), profile, at(0));
    let week = WeeklyHours::every_day(&[
        OpeningRange::parse("11:00", "15:00")?,
        OpeningRange::parse("18:00", "02:00")?,
    ])?;
    let date = |s: &str| CalendarDate::parse(s).ok_or("date");
    m.hours = OpeningHours {
        weekly: week,
        exceptions: Exceptions::new(vec![
            (date("2026-12-25")?, vec![]),
            (
                date("2026-12-31")?,
                vec![OpeningRange::parse("12:00", "16:00")?],
            ),
        ])
        .map_err(|(_, e)| e)?,
    };
    Ok(m)
}

fn menu_draft() -> MenuDraft {
    let item = |name: &str, price: i64| ItemDraft {
        id: None,
        name: name.to_owned(),
        description: String::new(),
        price,
        sold_out: false,
        availability: vec![],
        option_groups: vec![],
    };
    MenuDraft {
        currency: Currency::USD,
        categories: vec![CategoryDraft {
            id: None,
            name: "Mains".to_owned(),
            items: vec![item("Pad thai", 1_450), item("Green curry", 1_550)],
        }],
    }
}

pub async fn a_merchant_round_trips_with_its_staff_hours_and_intake(store: Store) -> TestResult {
    let admin = new_user(&store, Role::Admin, "ops").await?;
    let cook = new_user(&store, Role::Merchant, "cook").await?;
    let mut m = merchant("Thai Garden", 40.7536, -73.9832)?;
    m.pause(None, at(0))?;
    m.set_busy(20, Some(at(3_600_000)), at(0))?;
    m.set_max_open_orders(Some(12))?;
    let owner_id = UserId::from_uuid(Uuid::now_v7());
    let owner = User {
        id: owner_id,
        email: Email::parse(&format!(
            "owner.{}@example.com",
            owner_id.as_uuid().simple()
        ))?,
        name: "Owner".to_owned(),
        role: Role::Merchant,
        created_at: at(0),
    };
    store
        .create_merchant(
            &m,
            Some((&owner, "$argon2id$not-a-real-hash")),
            &[cook.id],
            &audit(admin.id, AuditAction::CreateMerchant, m.id, 0),
        )
        .await?;
    assert_eq!(store.merchant(m.id).await?, Some(m.clone()));
    assert_eq!(store.staff_merchant(cook.id).await?, Some(m.id));
    assert_eq!(store.staff_merchant(owner.id).await?, Some(m.id));
    assert_eq!(store.staff_merchant(admin.id).await?, None);
    let staff: Vec<String> = store
        .merchant_staff(m.id)
        .await?
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(staff, ["Owner", "cook"]);
    assert!(store.user_by_email(&owner.email).await?.is_some());

    // An account on a staff already, or a taken e-mail, writes nothing: no merchant, no audit entry.
    let other = merchant("Noodle Bar", 40.75, -73.99)?;
    let key_audit = audit(admin.id, AuditAction::CreateMerchant, other.id, 1);
    assert!(matches!(
        store
            .create_merchant(&other, None, &[cook.id], &key_audit)
            .await,
        Err(StoreError::StaffTaken)
    ));
    assert!(matches!(
        store
            .create_merchant(&other, Some((&owner, "hash")), &[], &key_audit)
            .await,
        Err(StoreError::EmailTaken)
    ));
    assert_eq!(store.merchant(other.id).await?, None);
    let key = key_audit.idempotency_key.as_deref().ok_or("key")?;
    assert_eq!(store.audit_by_key(admin.id, key).await?, None);

    // Hours, profile and intake are replaced whole.
    let mut changed = m.clone();
    changed.hours = OpeningHours {
        weekly: WeeklyHours::every_day(&[OpeningRange::parse("00:00", "24:00")?])?,
        exceptions: Exceptions::none(),
    };
    changed.profile.name = "Thai Garden Midtown".to_owned();
    changed.profile.delivery_radius_m = 3_000;
    changed.resume();
    changed.clear_busy();
    changed.set_max_open_orders(None)?;
    store
        .save_merchant_hours(m.id, &changed.hours, at(10))
        .await?;
    store
        .save_merchant_profile(m.id, &changed.profile, at(10))
        .await?;
    store.save_merchant_pause(m.id, None, at(10)).await?;
    store.save_merchant_busy(m.id, None, at(10)).await?;
    store
        .save_merchant_max_open_orders(m.id, None, at(10))
        .await?;
    assert_eq!(store.merchant(m.id).await?, Some(changed));

    // Staff change with the operator's action.
    let newcomer = new_user(&store, Role::Merchant, "newcomer").await?;
    store
        .add_merchant_staff(
            m.id,
            newcomer.id,
            &audit(admin.id, AuditAction::AddMerchantStaff, m.id, 20),
        )
        .await?;
    assert!(matches!(
        store
            .add_merchant_staff(
                m.id,
                newcomer.id,
                &audit(admin.id, AuditAction::AddMerchantStaff, m.id, 21)
            )
            .await,
        Err(StoreError::StaffTaken)
    ));
    let remove = audit(admin.id, AuditAction::RemoveMerchantStaff, m.id, 22);
    assert!(
        store
            .remove_merchant_staff(m.id, newcomer.id, &remove)
            .await?
    );
    assert_eq!(store.staff_merchant(newcomer.id).await?, None);
    let again = audit(admin.id, AuditAction::RemoveMerchantStaff, m.id, 23);
    assert!(
        !store
            .remove_merchant_staff(m.id, newcomer.id, &again)
            .await?
    );
    let key = again.idempotency_key.as_deref().ok_or("key")?;
    assert_eq!(
        store.audit_by_key(admin.id, key).await?,
        None,
        "nothing done, nothing logged"
    );
    Ok(())
}

pub async fn a_merchants_standing_changes_only_from_the_standing_it_was_read_in(
    store: Store,
) -> TestResult {
    let admin = new_user(&store, Role::Admin, "ops").await?;
    let m = merchant("Thai Garden", 40.7536, -73.9832)?;
    store
        .create_merchant(
            &m,
            None,
            &[],
            &audit(admin.id, AuditAction::CreateMerchant, m.id, 0),
        )
        .await?;
    let mut approved = m.clone();
    approved.apply(StatusAction::Approve)?;
    let mut suspended = m.clone();
    suspended.apply(StatusAction::Suspend)?;
    store
        .set_merchant_status(
            &approved,
            MerchantStatus::Pending,
            &audit(admin.id, AuditAction::ApproveMerchant, m.id, 1),
            at(1),
        )
        .await?;
    // A second operator acting on the pending merchant they read loses the race, and logs nothing.
    let late = audit(admin.id, AuditAction::SuspendMerchant, m.id, 2);
    assert!(matches!(
        store
            .set_merchant_status(&suspended, MerchantStatus::Pending, &late, at(2))
            .await,
        Err(StoreError::Conflict)
    ));
    let key = late.idempotency_key.as_deref().ok_or("key")?;
    assert_eq!(store.audit_by_key(admin.id, key).await?, None);
    let read = store.merchant(m.id).await?.ok_or("merchant")?;
    assert_eq!(read.status(), MerchantStatus::Approved);
    assert_eq!(
        store.merchants(Some(MerchantStatus::Approved), 10).await?,
        vec![read]
    );
    assert!(
        store
            .merchants(Some(MerchantStatus::Pending), 10)
            .await?
            .is_empty()
    );
    assert_eq!(store.merchants(None, 10).await?.len(), 1);
    Ok(())
}

pub async fn only_approved_merchants_around_a_point_are_listed_with_their_hours(
    store: Store,
) -> TestResult {
    let admin = new_user(&store, Role::Admin, "ops").await?;
    let mut listed = Vec::new();
    // Bryant Park (approved), Times Square (approved), Union Square (approved, 2 km south) and a pending
    // one at Bryant Park.
    for (i, (name, lat, lng, approve)) in [
        ("Bryant", 40.7536, -73.9832, true),
        ("Times", 40.7580, -73.9855, true),
        ("Union", 40.7359, -73.9911, true),
        ("Pending", 40.7536, -73.9832, false),
    ]
    .into_iter()
    .enumerate()
    {
        let mut m = merchant(name, lat, lng)?;
        if approve {
            m.apply(StatusAction::Approve)?;
            listed.push(m.clone());
        }
        let ms = i64::try_from(i)?;
        store
            .create_merchant(
                &m,
                None,
                &[],
                &audit(admin.id, AuditAction::CreateMerchant, m.id, ms),
            )
            .await?;
    }
    let near = store
        .listed_merchants_near(place(40.7545, -73.9840)?, 1_000)
        .await?;
    let mut names: Vec<&str> = near.iter().map(|m| m.profile.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Bryant", "Times"]);
    for m in &near {
        let expected = listed.iter().find(|l| l.id == m.id).ok_or("listed")?;
        assert_eq!(m, expected, "with its hours and exceptions");
    }
    assert_eq!(
        store
            .listed_merchants_near(place(40.7545, -73.9840)?, 3_000)
            .await?
            .len(),
        3
    );
    Ok(())
}

pub async fn a_menu_is_replaced_whole_under_its_version_and_its_items_are_indexed(
    store: Store,
) -> TestResult {
    let admin = new_user(&store, Role::Admin, "ops").await?;
    let a = merchant("Thai Garden", 40.7536, -73.9832)?;
    let b = merchant("Noodle Bar", 40.75, -73.99)?;
    for (i, m) in [&a, &b].into_iter().enumerate() {
        store
            .create_merchant(
                m,
                None,
                &[],
                &audit(
                    admin.id,
                    AuditAction::CreateMerchant,
                    m.id,
                    i64::try_from(i)?,
                ),
            )
            .await?;
    }
    let empty = store.menu(a.id, Currency::USD).await?;
    assert_eq!((empty.version, empty.updated_at), (0, None));
    assert_eq!(empty.menu.items().count(), 0);
    let mut mint = Uuid::now_v7;
    let first = Menu::from_draft(a.id, Currency::USD, &menu_draft(), None, &mut mint)
        .map_err(|e| format!("{e:?}"))?;
    assert_eq!(store.replace_menu(&first, 0, at(5)).await?, 1);
    assert!(matches!(
        store.replace_menu(&first, 0, at(6)).await,
        Err(StoreError::Conflict)
    ));
    let stored = store.menu(a.id, Currency::USD).await?;
    assert_eq!(
        (&stored.menu, stored.version, stored.updated_at),
        (&first, 1, Some(at(5)))
    );
    let pad_thai = first.items().next().ok_or("item")?.id;
    assert_eq!(store.menu_item_merchant(pad_thai).await?, Some(a.id));
    assert_eq!(
        store
            .menu_item_merchant(MenuItemId::from_uuid(Uuid::now_v7()))
            .await?,
        None
    );

    // Two changes from version 1: exactly one wins, and the loser writes nothing.
    let mut sold_out = first.clone();
    sold_out.set_sold_out(pad_thai, true)?;
    let mut shorter = menu_draft();
    shorter.categories[0].items.truncate(1);
    let replaced = Menu::from_draft(a.id, Currency::USD, &shorter, Some(&first), &mut mint)
        .map_err(|e| format!("{e:?}"))?;
    let (one, two) = tokio::join!(
        store.replace_menu(&sold_out, 1, at(7)),
        store.replace_menu(&replaced, 1, at(7)),
    );
    let won = match (one, two) {
        (Ok(2), Err(StoreError::Conflict)) => &sold_out,
        (Err(StoreError::Conflict), Ok(2)) => &replaced,
        other => return Err(format!("exactly one change wins: {other:?}").into()),
    };
    let stored = store.menu(a.id, Currency::USD).await?;
    assert_eq!((&stored.menu, stored.version), (won, 2));
    // The index follows the document: an item dropped from the menu is nobody's.
    let green_curry = first.items().nth(1).ok_or("item")?.id;
    let expected = (won == &sold_out).then_some(a.id);
    assert_eq!(store.menu_item_merchant(green_curry).await?, expected);
    // Another merchant's menu is its own.
    let theirs = Menu::from_draft(b.id, Currency::USD, &first.to_draft(), None, &mut mint)
        .map_err(|e| format!("{e:?}"))?;
    store.replace_menu(&theirs, 0, at(8)).await?;
    let their_item = theirs.items().next().ok_or("item")?.id;
    assert_ne!(their_item, pad_thai);
    assert_eq!(store.menu_item_merchant(their_item).await?, Some(b.id));
    // The first menu's pad thai is still the merchant's if the winning change kept its id (the
    // sold-out change did; the replacement drew new ids).
    let pad_thai_now = won.items().any(|i| i.id == pad_thai).then_some(a.id);
    assert_eq!(store.menu_item_merchant(pad_thai).await?, pad_thai_now);
    Ok(())
}
