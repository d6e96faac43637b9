//! One seeded random generator per agent, all derived from the demo's seed.
//!
//! Each agent draws from its own stream, so what one agent draws never depends on how many
//! numbers another drew or on the order in which tasks happen to run.

use rand::SeedableRng;
use rand_pcg::Pcg64;

/// The kinds of random stream the demo uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The rider schedule: request times, zone pairs and points.
    Schedule,
    /// Driver number `index`: its lot, think times, accept decisions, ratings.
    Driver,
    /// The rider of request number `index`: cancellation, ratings, idempotency keys.
    Rider,
    /// Restaurant number `index`: its lot, name, radius, hours and menu (`u64::MAX`: the cuisine order).
    Restaurant,
    /// The food order schedule: order times and drop-off points.
    FoodSchedule,
    /// The customer of food order number `index`: restaurant, cart, tip, cancellation, keys.
    Customer,
    /// The kitchen of restaurant number `index`: prep times and refusals.
    Kitchen,
    /// House-call provider number `index`: home, trade, area, hours (`u64::MAX`: the plan's order).
    Provider,
    /// The house-call schedule: when clients book and where they live.
    HouseCallSchedule,
    /// The client of house call number `index`: service, wished time, choice, cancel or reschedule, keys.
    Client,
}

impl Stream {
    fn tag(self) -> u64 {
        match self {
            Stream::Schedule => 0x5343_4845_4455_4c45,
            Stream::Driver => 0x4452_4956_4552_0000,
            Stream::Rider => 0x5249_4445_5200_0000,
            Stream::Restaurant => 0x5245_5354_4155_5241,
            Stream::FoodSchedule => 0x464f_4f44_5343_4844,
            Stream::Customer => 0x4355_5354_4f4d_4552,
            Stream::Kitchen => 0x4b49_5443_4845_4e00,
            Stream::Provider => 0x5052_4f56_4944_4552,
            Stream::HouseCallSchedule => 0x4843_5343_4845_4400,
            Stream::Client => 0x434c_4945_4e54_0000,
        }
    }
}

/// The seed of stream `stream` number `index` for the demo seed `seed`: the three mixed by
/// SplitMix64 so that neighbouring indices give unrelated seeds.
pub fn derive_seed(seed: u64, stream: Stream, index: u64) -> u64 {
    let a = splitmix64(seed ^ stream.tag());
    splitmix64(a ^ splitmix64(index.wrapping_add(0x9e37_79b9_7f4a_7c15)))
}

/// A generator for stream `stream` number `index` of the demo seed `seed`.
pub fn agent_rng(seed: u64, stream: Stream, index: u64) -> Pcg64 {
    Pcg64::seed_from_u64(derive_seed(seed, stream, index))
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
