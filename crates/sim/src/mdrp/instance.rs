//! An MDRP instance: restaurants, orders, couriers and the time and pay parameters, read from the
//! four tab-separated files of the Grubhub instance format (`restaurants.txt`, `orders.txt`,
//! `couriers.txt`, `instance_parameters.txt`; the first line of each is a header).
//!
//! Times are minutes from the start of the day, places metres on a plane (UTM without the zone).
//! The travel time between two places is the instance's one rule: the Euclidean distance divided
//! by the metres per minute, rounded up to the next whole minute ([`Instance::travel_min`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A point of the instance's plane, metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loc {
    /// East, m.
    pub x: f64,
    /// North, m.
    pub y: f64,
}

impl Loc {
    /// The straight-line distance to `other`, m.
    pub fn metres(self, other: Loc) -> f64 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}

/// The time and pay parameters of an instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Travel speed, metres per minute.
    pub metres_per_min: f64,
    /// Service time at a restaurant, minutes (half before the pickup, half after).
    pub pickup_service_min: f64,
    /// Service time at a customer, minutes (half before the drop-off, half after).
    pub dropoff_service_min: f64,
    /// The click-to-door target, minutes.
    pub target_ctd_min: f64,
    /// The largest acceptable click-to-door, minutes.
    pub max_ctd_min: f64,
    /// Pay per delivered order, dollars.
    pub pay_per_order: f64,
    /// Guaranteed pay per hour on shift, dollars.
    pub pay_per_hour: f64,
}

/// A restaurant.
#[derive(Debug, Clone, PartialEq)]
pub struct Restaurant {
    /// Its id in the files (`r12`).
    pub id: String,
    /// Where it is.
    pub loc: Loc,
}

/// An order.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// Its id in the files (`o7`).
    pub id: String,
    /// The customer's place.
    pub loc: Loc,
    /// When it is placed (and known), minutes.
    pub placement: f64,
    /// Its restaurant (an index into [`Instance::restaurants`]).
    pub restaurant: usize,
    /// When the food is ready, minutes.
    pub ready: f64,
}

/// A courier's shift.
#[derive(Debug, Clone, PartialEq)]
pub struct Courier {
    /// Its id in the files (`c3`).
    pub id: String,
    /// Where it starts its shift.
    pub loc: Loc,
    /// When the shift starts, minutes.
    pub on: f64,
    /// When it ends (no pickup after it; drop-offs may follow), minutes.
    pub off: f64,
}

/// One instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Its name (the folder's name).
    pub name: String,
    /// Time and pay parameters.
    pub params: Params,
    /// Restaurants.
    pub restaurants: Vec<Restaurant>,
    /// Orders.
    pub orders: Vec<Order>,
    /// Couriers.
    pub couriers: Vec<Courier>,
}

/// Why an instance could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// A file could not be read.
    #[error("reading {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A line does not have the expected fields.
    #[error("{file} line {line}: {what}")]
    Parse {
        /// The file's name.
        file: &'static str,
        /// The line number (1-based, the header is line 1).
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// Something the rules need does not hold (an unknown restaurant, an off-time before the
    /// on-time, a non-positive speed, ...).
    #[error("invalid instance: {0}")]
    Invalid(String),
}

impl Instance {
    /// Reads the instance in folder `dir` (its name is the folder's name).
    pub fn read_dir(dir: &Path) -> Result<Instance, InstanceError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| InstanceError::Io { path, source })
        };
        let name = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        Instance::parse(
            &name,
            &read("restaurants.txt")?,
            &read("orders.txt")?,
            &read("couriers.txt")?,
            &read("instance_parameters.txt")?,
        )
    }

    /// Parses an instance from the texts of its four files.
    pub fn parse(
        name: &str,
        restaurants: &str,
        orders: &str,
        couriers: &str,
        parameters: &str,
    ) -> Result<Instance, InstanceError> {
        let params = parse_params(parameters)?;
        let mut rest = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (line, f) in rows("restaurants.txt", restaurants, 3)? {
            let id = f[0].to_owned();
            if index.insert(id.clone(), rest.len()).is_some() {
                return Err(InstanceError::Invalid(format!("restaurant {id} twice")));
            }
            rest.push(Restaurant {
                id,
                loc: Loc {
                    x: num("restaurants.txt", line, f[1])?,
                    y: num("restaurants.txt", line, f[2])?,
                },
            });
        }
        let mut ords = Vec::new();
        for (line, f) in rows("orders.txt", orders, 6)? {
            let restaurant = *index.get(f[4]).ok_or_else(|| InstanceError::Parse {
                file: "orders.txt",
                line,
                what: format!("unknown restaurant {}", f[4]),
            })?;
            let placement = num("orders.txt", line, f[3])?;
            let ready = num("orders.txt", line, f[5])?;
            if ready < placement {
                return Err(InstanceError::Invalid(format!(
                    "order {} is ready before it is placed",
                    f[0]
                )));
            }
            ords.push(Order {
                id: f[0].to_owned(),
                loc: Loc {
                    x: num("orders.txt", line, f[1])?,
                    y: num("orders.txt", line, f[2])?,
                },
                placement,
                restaurant,
                ready,
            });
        }
        let mut cours = Vec::new();
        for (line, f) in rows("couriers.txt", couriers, 5)? {
            let on = num("couriers.txt", line, f[3])?;
            let off = num("couriers.txt", line, f[4])?;
            if off < on {
                return Err(InstanceError::Invalid(format!(
                    "courier {} goes off duty before it goes on",
                    f[0]
                )));
            }
            cours.push(Courier {
                id: f[0].to_owned(),
                loc: Loc {
                    x: num("couriers.txt", line, f[1])?,
                    y: num("couriers.txt", line, f[2])?,
                },
                on,
                off,
            });
        }
        Ok(Instance {
            name: name.to_owned(),
            params,
            restaurants: rest,
            orders: ords,
            couriers: cours,
        })
    }

    /// Minutes to travel from `a` to `b`: the distance over the speed, rounded up.
    pub fn travel_min(&self, a: Loc, b: Loc) -> f64 {
        (a.metres(b) / self.params.metres_per_min).ceil()
    }

    /// The restaurant's place of order `o`.
    pub fn pickup_loc(&self, o: usize) -> Loc {
        self.restaurants[self.orders[o].restaurant].loc
    }

    /// The fastest click-to-door of order `o`: its preparation, the drive from its restaurant to
    /// its customer and the halves of the two service times around them (a courier waiting at the
    /// restaurant, picking up at the ready time and driving straight there).
    pub fn lower_bound_min(&self, o: usize) -> f64 {
        let order = &self.orders[o];
        let p = &self.params;
        (order.ready - order.placement)
            + p.pickup_service_min / 2.0
            + self.travel_min(self.pickup_loc(o), order.loc)
            + p.dropoff_service_min / 2.0
    }

    /// Whether some courier of the instance could serve order `o` on its own: be told at or
    /// after the placement and its shift's start, drive from its start place and pick up by its
    /// off-time. Orders no courier could ever serve are not counted against a policy.
    pub fn serveable(&self, o: usize) -> bool {
        let order = &self.orders[o];
        let r = self.pickup_loc(o);
        let half = self.params.pickup_service_min / 2.0;
        self.couriers.iter().any(|c| {
            let depart = c.on.max(order.placement);
            let pickup = order.ready.max(depart + self.travel_min(c.loc, r) + half);
            pickup <= c.off
        })
    }

    /// Total shift hours of the couriers.
    pub fn courier_hours(&self) -> f64 {
        self.couriers.iter().map(|c| c.off - c.on).sum::<f64>() / 60.0
    }
}

/// The data rows of a file (after its header), each split on tabs or spaces into at least `n`
/// fields, with its 1-based line number.
fn rows<'a>(
    file: &'static str,
    text: &'a str,
    n: usize,
) -> Result<Vec<(usize, Vec<&'a str>)>, InstanceError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < n {
            return Err(InstanceError::Parse {
                file,
                line: i + 1,
                what: format!("{} fields, expected {n}", fields.len()),
            });
        }
        out.push((i + 1, fields));
    }
    Ok(out)
}

fn num(file: &'static str, line: usize, field: &str) -> Result<f64, InstanceError> {
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(InstanceError::Parse {
            file,
            line,
            what: format!("{field:?} is not a number"),
        }),
    }
}

fn parse_params(text: &str) -> Result<Params, InstanceError> {
    const FILE: &str = "instance_parameters.txt";
    let rows = rows(FILE, text, 7)?;
    let Some((line, f)) = rows.first() else {
        return Err(InstanceError::Parse {
            file: FILE,
            line: 2,
            what: "no parameter line".to_owned(),
        });
    };
    let v = |i: usize| num(FILE, *line, f[i]);
    let params = Params {
        metres_per_min: v(0)?,
        pickup_service_min: v(1)?,
        dropoff_service_min: v(2)?,
        target_ctd_min: v(3)?,
        max_ctd_min: v(4)?,
        pay_per_order: v(5)?,
        pay_per_hour: v(6)?,
    };
    if params.metres_per_min <= 0.0 {
        return Err(InstanceError::Invalid(
            "the speed must be positive".to_owned(),
        ));
    }
    if params.pickup_service_min < 0.0 || params.dropoff_service_min < 0.0 {
        return Err(InstanceError::Invalid(
            "service times must not be negative".to_owned(),
        ));
    }
    Ok(params)
}
