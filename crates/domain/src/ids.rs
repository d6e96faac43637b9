//! Typed identifiers. They wrap UUIDs (the app mints time-ordered v7 ones) so that a ride id can never be
//! passed where a user id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The wrapped UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A user account: rider, driver, merchant, provider or admin.
    UserId
);
id_type!(
    /// A ride (one job of the rides vertical).
    RideId
);
id_type!(
    /// A fare quote given to a rider before they request a ride.
    QuoteId
);
id_type!(
    /// One offer of a ride to one driver.
    OfferId
);
id_type!(
    /// A job: one unit of work a worker fulfils for a customer (a ride, a delivery, a house call). A ride's
    /// job has the ride's own id, so rides move onto jobs without new ids.
    JobId
);
id_type!(
    /// A merchant: a business that sells through the platform (a restaurant, a clinic). Its staff are
    /// users; the merchant itself is not a person and has its own account in the ledger.
    MerchantId
);

impl From<RideId> for JobId {
    /// A ride's job: the same id.
    fn from(ride: RideId) -> JobId {
        JobId(ride.0)
    }
}

impl From<JobId> for RideId {
    /// The ride whose job this is (meaningful for jobs of kind ride, which share their ride's id).
    fn from(job: JobId) -> RideId {
        RideId(job.0)
    }
}

id_type!(
    /// A message between the parties of a job (a ride's rider and driver).
    MessageId
);

id_type!(
    /// A category of a merchant's menu ("Starters", "Drinks").
    MenuCategoryId
);
id_type!(
    /// An item of a merchant's menu (a dish). Unique across every merchant: the server mints it, and
    /// a menu import keeps only the ids of the merchant's own current menu.
    MenuItemId
);
id_type!(
    /// A group of options of a menu item ("Size", "Toppings").
    OptionGroupId
);
id_type!(
    /// One option of an option group ("Large", "Extra cheese").
    MenuOptionId
);

id_type!(
    /// A house-call service of the catalogue ("Swedish massage, 60 minutes").
    ServiceId
);
id_type!(
    /// A slot held for a customer during checkout (a few minutes).
    HoldId
);
id_type!(
    /// A weekly recurring series of bookings.
    SeriesId
);
id_type!(
    /// An SOS alert a provider raised during a visit.
    SosAlertId
);
id_type!(
    /// A connected device (a vehicle tracker) that reports its worker's positions over MQTT.
    DeviceId
);
