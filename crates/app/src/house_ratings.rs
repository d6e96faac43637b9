//! After a house call: its customer and its provider rate each other (on the one ratings table, one
//! rating per booking, rater and ratee), and either can block the other from future bookings (a block in
//! either direction keeps them apart in availability, booking and re-optimisation).
//!
//! Anyone not party to the booking gets 404 `booking_not_found` first. A rating before the visit is
//! done is 409 `booking_not_completed`; a second one 409 `already_rated`.

use crate::{App, AppError};
use doorstep_domain::housecall::{Booking, BookingState};
use doorstep_domain::rating::{JobRating, Ratee, RatingError, Stars, parse_comment};
use doorstep_domain::{JobId, User, UserId};
use doorstep_store::StoreError;

impl App {
    /// The other party of a booking the caller is party to (404 for anyone else).
    async fn other_party(&self, caller: &User, id: JobId) -> Result<(Booking, UserId), AppError> {
        let booking = self.booking_for(caller, id).await?;
        let other = if booking.customer() == caller.id {
            booking.provider()
        } else if booking.provider() == caller.id {
            booking.customer()
        } else {
            return Err(AppError::NotFound("booking"));
        };
        Ok((booking, other))
    }

    /// The caller rates the other party of a completed visit.
    pub async fn rate_booking(
        &self,
        caller: &User,
        id: JobId,
        stars: i64,
        comment: &str,
    ) -> Result<JobRating, AppError> {
        let (booking, other) = self.other_party(caller, id).await?;
        let stars = u8::try_from(stars)
            .ok()
            .and_then(|s| Stars::new(s).ok())
            .ok_or_else(|| AppError::invalid("invalid_stars", "stars must be between 1 and 5"))?;
        let comment = parse_comment(comment).map_err(|e| match e {
            RatingError::ForbiddenCharacter(_) => {
                AppError::invalid("invalid_characters", e.to_string())
            }
            RatingError::CommentTooLong | RatingError::StarsOutOfRange => {
                AppError::invalid("comment_too_long", e.to_string())
            }
        })?;
        if booking.state() != BookingState::Completed {
            return Err(AppError::conflict(
                "booking_not_completed",
                "only a completed visit can be rated",
            ));
        }
        let rating = JobRating {
            job: id,
            from: caller.id,
            to: Ratee::User(other),
            stars,
            comment,
            tags: Vec::new(),
            at: self.clock().now(),
        };
        match self.store().insert_job_rating(&rating).await {
            Ok(()) => Ok(rating),
            Err(StoreError::AlreadyRated) => Err(AppError::conflict(
                "already_rated",
                "you already rated this visit",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The ratings of a booking, for its parties and operators.
    pub async fn booking_ratings(
        &self,
        caller: &User,
        id: JobId,
    ) -> Result<Vec<JobRating>, AppError> {
        self.booking_for(caller, id).await?;
        Ok(self.store().ratings_of_job(id).await?)
    }

    /// The caller blocks the other party of a booking from future bookings with them (again: nothing
    /// changes). Visits already booked stay booked.
    pub async fn block_other_party(&self, caller: &User, id: JobId) -> Result<UserId, AppError> {
        let (_, other) = self.other_party(caller, id).await?;
        self.store()
            .block_user(caller.id, other, self.clock().now())
            .await?;
        Ok(other)
    }
}
