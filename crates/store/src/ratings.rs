//! Ratings the parties of a job give each other (a ride's rider and driver; a food order's customer and
//! courier), and customers give the merchant of a delivered order. A rating names one ratee: a user
//! (`to_id`) or a merchant (`to_merchant_id`, migration 0015).

use crate::columns::{get, id, json, opt_id, timestamp, to_json};
use crate::{Store, StoreError};
use doorstep_domain::rating::{JobRating, Ratee, Rating, Stars};
use doorstep_domain::{JobId, MerchantId, RideId, UserId};
use sqlx::any::AnyRow;

fn stars_of(row: &AnyRow) -> Result<Stars, StoreError> {
    let stars: i64 = get(row, "stars")?;
    u8::try_from(stars)
        .ok()
        .and_then(|s| Stars::new(s).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("stars: {stars} is not 1 to 5")))
}

fn job_rating_from_row(row: &AnyRow) -> Result<JobRating, StoreError> {
    let to = match (
        opt_id::<UserId>(row, "to_id")?,
        opt_id::<MerchantId>(row, "to_merchant_id")?,
    ) {
        (Some(user), None) => Ratee::User(user),
        (None, Some(merchant)) => Ratee::Merchant(merchant),
        _ => {
            return Err(StoreError::Corrupt(
                "a rating names exactly one ratee".to_owned(),
            ));
        }
    };
    Ok(JobRating {
        job: id(row, "job_id")?,
        from: id(row, "from_id")?,
        to,
        stars: stars_of(row)?,
        comment: get(row, "comment")?,
        tags: json(row, "tags")?,
        at: timestamp(row, "at")?,
    })
}

fn rating_from_row(row: &AnyRow) -> Result<Rating, StoreError> {
    let stars = stars_of(row)?;
    Ok(Rating {
        ride_id: id(row, "job_id")?,
        from: id(row, "from_id")?,
        to: id(row, "to_id")?,
        stars,
        comment: get(row, "comment")?,
        at: timestamp(row, "at")?,
    })
}

impl Store {
    /// Records a rating. [`StoreError::AlreadyRated`] if `r.from` already rated `r.to` for this ride's job.
    pub async fn insert_rating(&self, r: &Rating) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO ratings (job_id, from_id, to_id, stars, comment, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.ride_id.to_string())
        .bind(r.from.to_string())
        .bind(r.to.to_string())
        .bind(i64::from(r.stars.get()))
        .bind(r.comment.as_str())
        .bind(r.at.millis())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from);
        match inserted {
            Ok(_) => Ok(()),
            // (job_id, from_id, to_id) is the table's only unique key.
            Err(e) if e.is_unique_violation() => Err(StoreError::AlreadyRated),
            Err(e) => Err(e),
        }
    }

    /// The mean stars `user` received (0 when none) and how many ratings that is.
    pub async fn rating_summary(&self, user: UserId) -> Result<(f64, i64), StoreError> {
        // Summed as integers and divided here: AVG's type differs between the backends.
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(stars), 0) AS BIGINT) AS total FROM ratings WHERE to_id = $1",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await?;
        let (n, total): (i64, i64) = (get(&row, "n")?, get(&row, "total")?);
        // Star totals stay far below 2^52, so the conversions are exact.
        let mean = if n == 0 { 0.0 } else { total as f64 / n as f64 };
        Ok((mean, n))
    }

    /// The ratings given for a ride (at most one from each party), oldest first.
    pub async fn ratings_of_ride(&self, ride: RideId) -> Result<Vec<Rating>, StoreError> {
        let rows = sqlx::query(
            "SELECT job_id, from_id, to_id, stars, comment, at FROM ratings WHERE job_id = $1 ORDER BY at, from_id",
        )
        .bind(ride.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rating_from_row).collect()
    }

    /// Records a rating of a job of any kind, of a user or a merchant. [`StoreError::AlreadyRated`] if
    /// `r.from` already rated that ratee for this job.
    pub async fn insert_job_rating(&self, r: &JobRating) -> Result<(), StoreError> {
        let (to_user, to_merchant) = match r.to {
            Ratee::User(u) => (Some(u.to_string()), None),
            Ratee::Merchant(m) => (None, Some(m.to_string())),
        };
        let inserted = sqlx::query(
            "INSERT INTO ratings (job_id, from_id, to_id, to_merchant_id, stars, comment, tags, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.job.to_string())
        .bind(r.from.to_string())
        .bind(to_user)
        .bind(to_merchant)
        .bind(i64::from(r.stars.get()))
        .bind(r.comment.as_str())
        .bind(to_json(&r.tags, "rating tags")?)
        .bind(r.at.millis())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from);
        match inserted {
            Ok(_) => Ok(()),
            // (job, rater, user) and (job, rater, merchant) are the table's only unique keys.
            Err(e) if e.is_unique_violation() => Err(StoreError::AlreadyRated),
            Err(e) => Err(e),
        }
    }

    /// The ratings given for a job of any kind (each party's, and its merchant's), oldest first.
    pub async fn ratings_of_job(&self, job: JobId) -> Result<Vec<JobRating>, StoreError> {
        let rows = sqlx::query(
            "SELECT job_id, from_id, to_id, to_merchant_id, stars, comment, tags, at FROM ratings \
             WHERE job_id = $1 ORDER BY at, from_id",
        )
        .bind(job.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_rating_from_row).collect()
    }

    /// The mean stars `merchant` received (0 when none) and how many ratings that is.
    pub async fn merchant_rating_summary(
        &self,
        merchant: MerchantId,
    ) -> Result<(f64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(stars), 0) AS BIGINT) AS total FROM ratings \
             WHERE to_merchant_id = $1",
        )
        .bind(merchant.to_string())
        .fetch_one(&self.pool)
        .await?;
        let (n, total): (i64, i64) = (get(&row, "n")?, get(&row, "total")?);
        // Star totals stay far below 2^52, so the conversions are exact.
        let mean = if n == 0 { 0.0 } else { total as f64 / n as f64 };
        Ok((mean, n))
    }
}
