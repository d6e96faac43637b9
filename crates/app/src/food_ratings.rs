//! Ratings of food orders, on the one ratings table: after delivery the customer rates the merchant
//! (stars, a comment, tags) and the courier (stars, a comment), and the courier rates the customer. One
//! rating per order, rater and ratee.
//!
//! Who may rate is read from the caller's part in the order, after the order is found for them (anyone
//! not party to it gets 404 `order_not_found` before their body is looked at): a customer names
//! `merchant` or `courier`, the courier names `customer`; any other choice is 422 `invalid_ratee`. Before
//! delivery a rating is 409 `order_not_delivered`; a second one of the same ratee is 409
//! `already_rated`.

use crate::{App, AppError};
use doorstep_domain::food::order::{Order, OrderState};
use doorstep_domain::rating::{
    JobRating, Ratee, RatingError, Stars, TagError, parse_comment, parse_tags,
};
use doorstep_domain::{JobId, User};
use doorstep_store::StoreError;

/// Whom a party of an order rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRatee {
    /// The restaurant (by the customer).
    Merchant,
    /// The courier (by the customer).
    Courier,
    /// The customer (by the courier).
    Customer,
}

impl OrderRatee {
    /// Every choice.
    pub const ALL: [OrderRatee; 3] = [
        OrderRatee::Merchant,
        OrderRatee::Courier,
        OrderRatee::Customer,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderRatee::Merchant => "merchant",
            OrderRatee::Courier => "courier",
            OrderRatee::Customer => "customer",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<OrderRatee> {
        OrderRatee::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A rating as a party of an order asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRatingInput<'a> {
    /// Whom (`merchant`, `courier` or `customer`), as sent.
    pub whom: &'a str,
    /// 1 to 5, as sent.
    pub stars: i64,
    /// Free text, possibly empty.
    pub comment: &'a str,
    /// Tags, possibly none (only a merchant's rating carries them).
    pub tags: &'a [String],
}

/// Whom `user`, a party of `order`, rates when naming `whom`; `None` when that is not theirs to rate.
fn ratee_of(order: &Order, user: &User, whom: OrderRatee) -> Option<Ratee> {
    let is_customer = order.customer() == user.id;
    let is_courier = order.courier() == Some(user.id);
    match whom {
        OrderRatee::Merchant if is_customer => Some(Ratee::Merchant(order.merchant())),
        OrderRatee::Courier if is_customer => order.courier().map(Ratee::User),
        OrderRatee::Customer if is_courier => Some(Ratee::User(order.customer())),
        OrderRatee::Merchant | OrderRatee::Courier | OrderRatee::Customer => None,
    }
}

fn check_input(
    input: &OrderRatingInput<'_>,
) -> Result<(OrderRatee, Stars, String, Vec<String>), AppError> {
    let whom = OrderRatee::parse(input.whom).ok_or_else(|| {
        AppError::invalid("invalid_ratee", "whom is merchant, courier or customer")
    })?;
    let stars = u8::try_from(input.stars)
        .ok()
        .and_then(|s| Stars::new(s).ok())
        .ok_or_else(|| AppError::invalid("invalid_stars", "stars must be between 1 and 5"))?;
    let comment = parse_comment(input.comment).map_err(|e| match e {
        RatingError::ForbiddenCharacter(_) => {
            AppError::invalid("invalid_characters", e.to_string())
        }
        RatingError::CommentTooLong | RatingError::StarsOutOfRange => {
            AppError::invalid("comment_too_long", e.to_string())
        }
    })?;
    let tags = parse_tags(input.tags).map_err(|e| {
        AppError::invalid(
            match e {
                TagError::TooMany => "too_many_tags",
                TagError::Malformed(_) | TagError::Repeated(_) => "invalid_tag",
            },
            e.to_string(),
        )
    })?;
    if !tags.is_empty() && whom != OrderRatee::Merchant {
        return Err(AppError::invalid(
            "invalid_tag",
            "only a rating of the merchant carries tags",
        ));
    }
    Ok((whom, stars, comment, tags))
}

impl App {
    /// A party of a delivered order rates another party or the merchant (see the module's rules).
    pub async fn rate_order(
        &self,
        user: &User,
        id: JobId,
        input: &OrderRatingInput<'_>,
    ) -> Result<JobRating, AppError> {
        let order = self.order_for(user, id).await?;
        let (whom, stars, comment, tags) = check_input(input)?;
        let to = ratee_of(&order, user, whom).ok_or_else(|| {
            AppError::invalid(
                "invalid_ratee",
                format!(
                    "you cannot rate the {} of this order: a customer rates the merchant and the \
                     courier, the courier rates the customer",
                    whom.as_str()
                ),
            )
        })?;
        if order.state() != OrderState::Delivered {
            return Err(AppError::conflict(
                "order_not_delivered",
                "only delivered orders can be rated",
            ));
        }
        let rating = JobRating {
            job: id,
            from: user.id,
            to,
            stars,
            comment,
            tags,
            at: self.clock().now(),
        };
        match self.store().insert_job_rating(&rating).await {
            Ok(()) => Ok(rating),
            Err(StoreError::AlreadyRated) => Err(AppError::conflict(
                "already_rated",
                format!("you already rated the {} of this order", whom.as_str()),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The ratings of an order, for anyone who may see it (its customer, its merchant's staff, its
    /// courier, operators), oldest first.
    pub async fn order_ratings(
        &self,
        user: &User,
        id: JobId,
    ) -> Result<(Order, Vec<JobRating>), AppError> {
        let order = self.order_for(user, id).await?;
        let ratings = self.store().ratings_of_job(id).await?;
        Ok((order, ratings))
    }

    /// The mean stars a merchant received from customers (0 when none) and how many ratings that is.
    pub async fn merchant_rating(
        &self,
        merchant: doorstep_domain::MerchantId,
    ) -> Result<(f64, i64), AppError> {
        Ok(self.store().merchant_rating_summary(merchant).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratee_names_round_trip_and_others_are_refused() {
        for r in OrderRatee::ALL {
            assert_eq!(OrderRatee::parse(r.as_str()), Some(r));
        }
        assert_eq!(OrderRatee::parse("restaurant"), None);
    }

    #[test]
    fn tags_are_only_for_the_merchant_and_stars_are_one_to_five() {
        let tags = vec!["hot".to_owned()];
        let input = |whom, stars, tags| OrderRatingInput {
            whom,
            stars,
            comment: "",
            tags,
        };
        assert!(check_input(&input("merchant", 5, &tags)).is_ok());
        let code = |r: Result<_, AppError>| match r {
            Err(AppError::Invalid { code, .. }) => code,
            other => panic!("expected an invalid input, got {other:?}"),
        };
        assert_eq!(
            code(check_input(&input("courier", 5, &tags))),
            "invalid_tag"
        );
        assert_eq!(
            code(check_input(&input("courier", 0, &[]))),
            "invalid_stars"
        );
        assert_eq!(
            code(check_input(&input("courier", 6, &[]))),
            "invalid_stars"
        );
        assert_eq!(
            code(check_input(&input("courier", -1, &[]))),
            "invalid_stars"
        );
        assert_eq!(code(check_input(&input("chef", 3, &[]))), "invalid_ratee");
    }
}
