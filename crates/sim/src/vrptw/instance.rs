//! The VRPLIB reader for VRPTW instances and the DIMACS convention that turns an instance into integers.

use std::path::Path;

use doorstep_dispatch::vrptw::{Problem, Vehicle};

/// A VRPTW instance as its file gives it (coordinates, windows and service times unscaled), with one depot.
///
/// Node indices count from 0 in the order of the file's node ids (id 1 is node 0). The DIMACS quantities
/// ([`Instance::distance`], [`Instance::ready`], ...) are computed from the raw figures on every call, so
/// the feasibility check and the solver's [`Problem`] derive from the same file independently.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// `NAME`.
    name: String,
    /// `VEHICLES`: the most routes a solution may have.
    vehicles: usize,
    /// `CAPACITY` of every vehicle.
    capacity: i64,
    /// The depot's node index.
    depot: usize,
    /// Per node: x and y as written.
    coords: Vec<(f64, f64)>,
    /// Whether every coordinate is a whole number (then distances are computed exactly in integers).
    integral: bool,
    /// Per node: demand (0 at the depot).
    demand: Vec<i64>,
    /// Per node: the time window `[ready, due]` as written (the depot's is the vehicles' shift).
    window: Vec<(f64, f64)>,
    /// Per node: service time as written (0 at the depot).
    service: Vec<f64>,
}

/// Why a VRPLIB file was refused: the file and line, and what is wrong there.
#[derive(Debug, thiserror::Error)]
pub enum VrplibError {
    /// The file could not be read.
    #[error("reading {file}")]
    Io {
        /// The file.
        file: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a VRPTW instance this reader understands.
    #[error("{file}:{line}: {what}")]
    Syntax {
        /// The file.
        file: String,
        /// The line (from 1; the last line for something missing at the end).
        line: usize,
        /// What is wrong.
        what: String,
    },
}

/// The sections of a VRPLIB file this reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Coords,
    Demand,
    Windows,
    Service,
    Depot,
}

impl Section {
    fn parse(line: &str) -> Option<Section> {
        match line.trim_end_matches(':').trim() {
            "NODE_COORD_SECTION" => Some(Section::Coords),
            "DEMAND_SECTION" => Some(Section::Demand),
            "TIME_WINDOW_SECTION" => Some(Section::Windows),
            "SERVICE_TIME_SECTION" => Some(Section::Service),
            "DEPOT_SECTION" => Some(Section::Depot),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Section::Coords => "NODE_COORD_SECTION",
            Section::Demand => "DEMAND_SECTION",
            Section::Windows => "TIME_WINDOW_SECTION",
            Section::Service => "SERVICE_TIME_SECTION",
            Section::Depot => "DEPOT_SECTION",
        }
    }

    /// Numbers on a row after the node id.
    fn width(self) -> usize {
        match self {
            Section::Coords | Section::Windows => 2,
            Section::Demand | Section::Service => 1,
            Section::Depot => 0,
        }
    }
}

/// Rows of one per-node section: the numbers given for each node (by index), and whether the section was seen.
#[derive(Debug, Default)]
struct Rows {
    values: Vec<Option<Vec<f64>>>,
    seen: bool,
}

impl Instance {
    /// Reads and parses a `.vrp` file.
    pub fn read(path: &Path) -> Result<Instance, VrplibError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| VrplibError::Io {
            file: file.clone(),
            source,
        })?;
        Instance::parse(&file, &text)
    }

    /// Parses the text of a `.vrp` file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Instance, VrplibError> {
        let err = |line: usize, what: String| VrplibError::Syntax {
            file: file.to_owned(),
            line,
            what,
        };
        let mut name = None;
        let mut dimension: Option<usize> = None;
        let mut vehicles: Option<usize> = None;
        let mut capacity: Option<i64> = None;
        let mut service_all: Option<f64> = None;
        let mut edge_type_seen = false;
        let mut sections: [Rows; 4] = Default::default();
        let mut depots: Vec<(usize, usize)> = Vec::new();
        let mut depot_ended = false;
        let mut current: Option<Section> = None;
        let mut last_line = 0;
        let mut ended = false;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            last_line = line_no;
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            if line == "EOF" {
                ended = true;
                break;
            }
            if let Some(section) = Section::parse(line) {
                let n = dimension
                    .ok_or_else(|| err(line_no, format!("{} before DIMENSION", section.name())))?;
                if let Some(rows) = section_rows(&mut sections, section) {
                    if rows.seen {
                        return Err(err(line_no, format!("{} given twice", section.name())));
                    }
                    rows.seen = true;
                    rows.values = vec![None; n];
                }
                current = Some(section);
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                let (key, value) = (key.trim(), value.trim());
                if key.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !key.is_empty() {
                    current = None;
                    let number = |what: &str| -> Result<f64, VrplibError> {
                        value
                            .parse::<f64>()
                            .ok()
                            .filter(|x| x.is_finite())
                            .ok_or_else(|| {
                                err(line_no, format!("{what} {value:?} is not a number"))
                            })
                    };
                    let whole = |what: &str| -> Result<u64, VrplibError> {
                        value.parse::<u64>().map_err(|_| {
                            err(line_no, format!("{what} {value:?} is not a whole number"))
                        })
                    };
                    match key {
                        "NAME" => name = Some(value.to_owned()),
                        "COMMENT" => {}
                        "TYPE" => {
                            if !matches!(value, "CVRPTW" | "VRPTW") {
                                return Err(err(
                                    line_no,
                                    format!(
                                        "TYPE {value:?} is not a VRPTW (expected CVRPTW or VRPTW)"
                                    ),
                                ));
                            }
                        }
                        "DIMENSION" => {
                            let n = whole("DIMENSION")?;
                            if n < 2 {
                                return Err(err(
                                    line_no,
                                    "DIMENSION must be at least 2".to_owned(),
                                ));
                            }
                            dimension =
                                Some(usize::try_from(n).map_err(|_| {
                                    err(line_no, "DIMENSION is too large".to_owned())
                                })?);
                        }
                        "VEHICLES" => {
                            let v = whole("VEHICLES")?;
                            if v == 0 {
                                return Err(err(line_no, "VEHICLES must be at least 1".to_owned()));
                            }
                            vehicles =
                                Some(usize::try_from(v).map_err(|_| {
                                    err(line_no, "VEHICLES is too large".to_owned())
                                })?);
                        }
                        "CAPACITY" => {
                            capacity =
                                Some(i64::try_from(whole("CAPACITY")?).map_err(|_| {
                                    err(line_no, "CAPACITY is too large".to_owned())
                                })?);
                        }
                        "SERVICE_TIME" => {
                            let s = number("SERVICE_TIME")?;
                            if s < 0.0 {
                                return Err(err(line_no, "SERVICE_TIME is negative".to_owned()));
                            }
                            service_all = Some(s);
                        }
                        "EDGE_WEIGHT_TYPE" => {
                            if value != "EUC_2D" {
                                return Err(err(
                                    line_no,
                                    format!(
                                        "EDGE_WEIGHT_TYPE {value:?} is not supported (only EUC_2D)"
                                    ),
                                ));
                            }
                            edge_type_seen = true;
                        }
                        other => {
                            return Err(err(line_no, format!("unknown key {other}")));
                        }
                    }
                    continue;
                }
            }
            let Some(section) = current else {
                return Err(err(
                    line_no,
                    format!("expected a KEY : value line or a section name, found {line:?}"),
                ));
            };
            let n = dimension.unwrap_or(0);
            let fields: Vec<&str> = line.split_whitespace().collect();
            let id = |s: &str| -> Result<usize, VrplibError> {
                match s.parse::<usize>() {
                    Ok(id) if (1..=n).contains(&id) => Ok(id - 1),
                    _ => Err(err(
                        line_no,
                        format!("node id {s:?} is not between 1 and DIMENSION ({n})"),
                    )),
                }
            };
            if section == Section::Depot {
                if depot_ended {
                    return Err(err(line_no, "DEPOT_SECTION continues after -1".to_owned()));
                }
                if fields.len() != 1 {
                    return Err(err(line_no, "expected one depot id per line".to_owned()));
                }
                if fields[0] == "-1" {
                    depot_ended = true;
                } else {
                    depots.push((id(fields[0])?, line_no));
                }
                continue;
            }
            let width = section.width();
            if fields.len() != 1 + width {
                return Err(err(
                    line_no,
                    format!(
                        "{} rows have a node id and {width} number(s), found {} field(s)",
                        section.name(),
                        fields.len()
                    ),
                ));
            }
            let node = id(fields[0])?;
            let mut values = Vec::with_capacity(width);
            for f in &fields[1..] {
                let x = f
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| err(line_no, format!("{f:?} is not a number")))?;
                values.push(x);
            }
            let Some(rows) = section_rows(&mut sections, section) else {
                continue;
            };
            if rows.values[node].is_some() {
                return Err(err(
                    line_no,
                    format!("node {} appears twice in {}", node + 1, section.name()),
                ));
            }
            rows.values[node] = Some(values);
        }
        if !ended {
            return Err(err(last_line, "missing EOF".to_owned()));
        }
        let missing = |what: &str| err(last_line, format!("missing {what}"));
        let n = dimension.ok_or_else(|| missing("DIMENSION"))?;
        let vehicles = vehicles.ok_or_else(|| missing("VEHICLES"))?;
        let capacity = capacity.ok_or_else(|| missing("CAPACITY"))?;
        if !edge_type_seen {
            return Err(missing("EDGE_WEIGHT_TYPE"));
        }
        let [coords, demand, windows, service] = sections;
        let complete = |rows: Rows, section: Section| -> Result<Vec<Vec<f64>>, VrplibError> {
            if !rows.seen {
                return Err(missing(section.name()));
            }
            rows.values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    v.ok_or_else(|| {
                        err(
                            last_line,
                            format!("node {} has no row in {}", i + 1, section.name()),
                        )
                    })
                })
                .collect()
        };
        let coords: Vec<(f64, f64)> = complete(coords, Section::Coords)?
            .into_iter()
            .map(|v| (v[0], v[1]))
            .collect();
        let demand_rows = complete(demand, Section::Demand)?;
        let window: Vec<(f64, f64)> = complete(windows, Section::Windows)?
            .into_iter()
            .map(|v| (v[0], v[1]))
            .collect();
        let mut service: Vec<f64> = if service.seen {
            complete(service, Section::Service)?
                .into_iter()
                .map(|v| v[0])
                .collect()
        } else {
            vec![service_all.ok_or_else(|| missing("SERVICE_TIME or SERVICE_TIME_SECTION"))?; n]
        };
        let depot = match depots.as_slice() {
            [] => return Err(missing("DEPOT_SECTION with one depot")),
            [(d, _)] => *d,
            [_, (_, line), ..] => {
                return Err(err(*line, "only one depot is supported".to_owned()));
            }
        };
        if !depot_ended {
            return Err(err(
                last_line,
                "DEPOT_SECTION is not ended by -1".to_owned(),
            ));
        }
        service[depot] = 0.0;
        let mut demand = Vec::with_capacity(n);
        for (i, v) in demand_rows.iter().enumerate() {
            let d = v[0];
            if d < 0.0 || d.fract() != 0.0 {
                return Err(err(
                    last_line,
                    format!("node {}: demand {d} is not a whole number ≥ 0", i + 1),
                ));
            }
            if i == depot && d != 0.0 {
                return Err(err(
                    last_line,
                    format!("the depot (node {}) has a demand", i + 1),
                ));
            }
            // A whole number (checked above).
            demand.push(d as i64);
        }
        for (i, &(a, b)) in window.iter().enumerate() {
            if a > b {
                return Err(err(
                    last_line,
                    format!(
                        "node {}: its time window [{a}, {b}] ends before it starts",
                        i + 1
                    ),
                ));
            }
        }
        if service.iter().any(|&s| s < 0.0) {
            return Err(err(last_line, "a service time is negative".to_owned()));
        }
        let integral = coords
            .iter()
            .all(|&(x, y)| x.fract() == 0.0 && y.fract() == 0.0 && x.abs() < 1e9 && y.abs() < 1e9);
        let name = name.unwrap_or_else(|| {
            Path::new(file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        Ok(Instance {
            name,
            vehicles,
            capacity,
            depot,
            coords,
            integral,
            demand,
            window,
            service,
        })
    }

    /// `NAME` (the file's stem when the file has none).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of nodes (`DIMENSION`: the depot and the customers).
    pub fn nodes(&self) -> usize {
        self.coords.len()
    }

    /// Number of customers.
    pub fn customers(&self) -> usize {
        self.coords.len() - 1
    }

    /// The customers' node indices, in order.
    pub fn customer_nodes(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes()).filter(|&i| i != self.depot)
    }

    /// The most routes a solution may have (`VEHICLES`).
    pub fn vehicles(&self) -> usize {
        self.vehicles
    }

    /// Every vehicle's capacity.
    pub fn capacity(&self) -> i64 {
        self.capacity
    }

    /// The depot's node index.
    pub fn depot(&self) -> usize {
        self.depot
    }

    /// A node's demand.
    pub fn demand(&self, node: usize) -> i64 {
        self.demand[node]
    }

    /// DIMACS distance from `a` to `b` in tenths: `floor(10 × euclid)`, which is also the travel time.
    pub fn distance(&self, a: usize, b: usize) -> i64 {
        let ((ax, ay), (bx, by)) = (self.coords[a], self.coords[b]);
        if self.integral {
            let (dx, dy) = ((ax - bx).abs() as u64, (ay - by).abs() as u64);
            // Exact: floor(sqrt(100 d²)) = floor(10 d) with no rounding of a float square root.
            let tenths = (100 * (dx * dx + dy * dy)).isqrt();
            i64::try_from(tenths).unwrap_or(i64::MAX)
        } else {
            truncate_tenths((ax - bx).hypot(ay - by))
        }
    }

    /// DIMACS earliest start of service at a node (the window's start × 10).
    pub fn ready(&self, node: usize) -> i64 {
        scale(self.window[node].0)
    }

    /// DIMACS latest start of service at a node (× 10); at the depot, the latest return.
    pub fn due(&self, node: usize) -> i64 {
        scale(self.window[node].1)
    }

    /// DIMACS service time at a node (× 10).
    pub fn service(&self, node: usize) -> i64 {
        scale(self.service[node])
    }

    /// The solver's problem under the DIMACS convention: integer matrices (travel time = distance), `VEHICLES`
    /// identical vehicles from and to the depot within its window, any vehicle allowed everywhere.
    pub fn problem(&self) -> Problem {
        let n = self.nodes();
        let mut cost = Vec::with_capacity(n * n);
        for a in 0..n {
            for b in 0..n {
                cost.push(self.distance(a, b));
            }
        }
        let vehicle = Vehicle {
            start: self.depot,
            end: self.depot,
            shift_start: self.ready(self.depot),
            shift_end: self.due(self.depot),
            capacity: self.capacity,
        };
        Problem {
            nodes: n,
            time: cost.clone(),
            cost,
            demand: self.demand.clone(),
            ready: (0..n).map(|i| self.ready(i)).collect(),
            due: (0..n).map(|i| self.due(i)).collect(),
            service: (0..n).map(|i| self.service(i)).collect(),
            customers: self.customer_nodes().collect(),
            vehicles: vec![vehicle; self.vehicles],
            allowed: vec![None; n],
        }
    }
}

fn section_rows(sections: &mut [Rows; 4], section: Section) -> Option<&mut Rows> {
    match section {
        Section::Coords => Some(&mut sections[0]),
        Section::Demand => Some(&mut sections[1]),
        Section::Windows => Some(&mut sections[2]),
        Section::Service => Some(&mut sections[3]),
        Section::Depot => None,
    }
}

/// A euclidean distance in DIMACS tenths: `floor(10 × d)`. (A tiny allowance absorbs float error just
/// below a whole tenth, e.g. 10 × 0.3 computed as 2.9999999999999996.)
pub fn truncate_tenths(d: f64) -> i64 {
    (10.0 * d + 1e-9).floor() as i64
}

/// A time as written, in DIMACS tenths (× 10, rounded to the nearest tenth).
fn scale(x: f64) -> i64 {
    (10.0 * x).round() as i64
}

/// Tenths as units with one decimal, for reports (`8273` → `827.3`).
pub fn units(tenths: i64) -> f64 {
    tenths as f64 / 10.0
}
