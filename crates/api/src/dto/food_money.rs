//! Wire types of the money and ratings of food orders: a rating of an order and the list of an order's
//! ratings, and a merchant's statement. Money is integer minor units; times are RFC 3339; statement days
//! are New York calendar days (`YYYY-MM-DD`).

use crate::dto::{MoneyDto, rfc3339};
use doorstep_app::merchant_statement::{MerchantStatement, MerchantTotals};
use doorstep_domain::rating::{JobRating, Ratee};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/orders/{order_id}/ratings`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct OrderRatingBody {
    /// Whom: the customer rates the `merchant` and the `courier`, the courier rates the `customer`.
    #[schema(pattern = "^(merchant|courier|customer)$")]
    pub whom: String,
    /// 1 to 5.
    #[schema(schema_with = crate::schema::stars)]
    #[serde(deserialize_with = "crate::dto::whole_number")]
    pub stars: u8,
    /// Optional comment, up to 500 characters.
    #[serde(default)]
    #[schema(schema_with = crate::schema::rating_comment)]
    pub comment: String,
    /// Tags, only on a rating of the merchant: at most 5, each 1 to 24 of a-z, 0-9, `-` and `_`
    /// (`hot`, `well-packed`), none twice.
    #[serde(default)]
    #[schema(schema_with = rating_tags)]
    pub tags: Vec<String>,
}

/// The schema of a rating's tags, from the rules the server checks them with.
fn rating_tags() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use doorstep_domain::rating::{MAX_TAG_CHARS, MAX_TAGS, TAG_PATTERN};
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            crate::schema::string()
                .pattern(Some(TAG_PATTERN))
                .min_length(Some(1))
                .max_length(Some(MAX_TAG_CHARS)),
        )
        .max_items(Some(MAX_TAGS))
        .unique_items(true)
        .description(Some(
            "Only on a rating of the merchant: at most 5 short lower-case words, none twice",
        ))
        .into()
}

/// One rating of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderRatingView {
    /// The order.
    pub order_id: String,
    /// Who rated.
    pub from_user_id: String,
    /// `merchant`, `courier` or `customer`.
    pub whom: String,
    /// The user rated (the courier or the customer), or none for the merchant.
    pub rated_user_id: Option<String>,
    /// The merchant rated, or none for a person.
    pub rated_merchant_id: Option<String>,
    /// Stars.
    pub stars: u8,
    /// Comment, possibly empty.
    pub comment: String,
    /// Tags, possibly none.
    pub tags: Vec<String>,
    /// When.
    pub at: String,
}

impl OrderRatingView {
    /// The view of `r`, a rating of an order whose customer is `customer`.
    pub fn of(r: &JobRating, customer: doorstep_domain::UserId) -> OrderRatingView {
        let (whom, user, merchant) = match r.to {
            Ratee::Merchant(m) => ("merchant", None, Some(m.to_string())),
            Ratee::User(u) if u == customer => ("customer", Some(u.to_string()), None),
            Ratee::User(u) => ("courier", Some(u.to_string()), None),
        };
        OrderRatingView {
            order_id: r.job.to_string(),
            from_user_id: r.from.to_string(),
            whom: whom.to_owned(),
            rated_user_id: user,
            rated_merchant_id: merchant,
            stars: r.stars.get(),
            comment: r.comment.clone(),
            tags: r.tags.clone(),
            at: rfc3339(r.at),
        }
    }
}

/// The ratings of an order, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderRatingList {
    /// The ratings.
    pub ratings: Vec<OrderRatingView>,
}

/// What the ledger says about a merchant over a day or the whole period.
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantTotalsView {
    /// Orders delivered.
    pub orders_delivered: u32,
    /// The food sold (the merchant's prices).
    pub subtotal: MoneyDto,
    /// The platform's commission on the food.
    pub commission: MoneyDto,
    /// What the merchant is owed for the food: subtotal − commission.
    pub payable: MoneyDto,
    /// The merchant's share of late cancellation fees.
    pub cancellation_fees: MoneyDto,
    /// What refunds took back from the merchant (a positive amount).
    pub refunds: MoneyDto,
    /// Any other entry on the merchant's account.
    pub adjustments: MoneyDto,
    /// The sum of the merchant account's entries: payable + cancellation fees − refunds + adjustments.
    pub net: MoneyDto,
}

impl From<&MerchantTotals> for MerchantTotalsView {
    fn from(t: &MerchantTotals) -> Self {
        MerchantTotalsView {
            orders_delivered: t.orders_delivered,
            subtotal: t.subtotal.into(),
            commission: t.commission.into(),
            payable: t.payable.into(),
            cancellation_fees: t.cancellation_fees.into(),
            refunds: t.refunds.into(),
            adjustments: t.adjustments.into(),
            net: t.net.into(),
        }
    }
}

/// One day of a merchant's statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantDayView {
    /// The New York calendar day, `YYYY-MM-DD`.
    pub date: String,
    /// Its totals.
    #[serde(flatten)]
    pub totals: MerchantTotalsView,
}

/// `GET /v1/merchants/{merchant_id}/statement`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantStatementView {
    /// The merchant.
    pub merchant_id: String,
    /// The first day, `YYYY-MM-DD` (New York).
    pub from: String,
    /// The last day, included.
    pub to: String,
    /// The whole period.
    pub totals: MerchantTotalsView,
    /// Each day with postings, oldest first.
    pub days: Vec<MerchantDayView>,
}

impl From<&MerchantStatement> for MerchantStatementView {
    fn from(s: &MerchantStatement) -> Self {
        MerchantStatementView {
            merchant_id: s.merchant.to_string(),
            from: s.from.to_string(),
            to: s.to.to_string(),
            totals: (&s.totals).into(),
            days: s
                .days
                .iter()
                .map(|(d, t)| MerchantDayView {
                    date: d.to_string(),
                    totals: t.into(),
                })
                .collect(),
        }
    }
}

/// `GET /v1/merchants/{merchant_id}/statement` query.
#[derive(Debug, Deserialize)]
pub struct StatementQuery {
    /// The first day.
    pub from: Option<String>,
    /// The last day.
    pub to: Option<String>,
}

impl utoipa::IntoParams for StatementQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::schema::parameter;
        use utoipa::openapi::path::ParameterIn::Query;
        let date = || {
            crate::schema::string()
                .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                    utoipa::openapi::schema::KnownFormat::Date,
                )))
                .pattern(Some("^2[0-9]{3}-[0-9]{2}-[0-9]{2}$"))
                .into()
        };
        vec![
            parameter(
                Query,
                "from",
                false,
                date(),
                "The first New York day, YYYY-MM-DD (default: six days before `to`)",
            ),
            parameter(
                Query,
                "to",
                false,
                date(),
                "The last New York day, included, not before `from`, at most 92 days after it (default: today)",
            ),
        ]
    }
}
