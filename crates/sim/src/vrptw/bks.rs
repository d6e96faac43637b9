//! The table of best known solutions (`bks_dimacs_distance.tsv`): tab-separated, a header naming the
//! columns, one instance a line. The columns read are `instance`, `bks_distance_dimacs` and, when present,
//! `set` and `bks_routes`; others are ignored.

use std::collections::HashMap;
use std::path::Path;

/// The best known solution of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bks {
    /// The set the table files it under (`Solomon`, `GH200`), if it says.
    pub set: Option<String>,
    /// Its routes, if the table says.
    pub routes: Option<usize>,
    /// Its DIMACS distance in tenths.
    pub distance: i64,
}

/// A BKS table: instance name → its best known solution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BksTable(pub HashMap<String, Bks>);

/// Why a BKS table was refused.
#[derive(Debug, thiserror::Error)]
pub enum BksError {
    /// The file could not be read.
    #[error("reading {file}")]
    Io {
        /// The file.
        file: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A line does not parse.
    #[error("{file}:{line}: {what}")]
    Syntax {
        /// The file.
        file: String,
        /// The line (from 1).
        line: usize,
        /// What is wrong.
        what: String,
    },
}

impl BksTable {
    /// Reads a table from a file.
    pub fn read(path: &Path) -> Result<BksTable, BksError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BksError::Io {
            file: file.clone(),
            source,
        })?;
        BksTable::parse(&file, &text)
    }

    /// Parses a table's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<BksTable, BksError> {
        let err = |line: usize, what: String| BksError::Syntax {
            file: file.to_owned(),
            line,
            what,
        };
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(err(1, "empty table (expected a header line)".to_owned()));
        };
        let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
        let column = |name: &str| columns.iter().position(|&c| c == name);
        let instance = column("instance")
            .ok_or_else(|| err(1, "the header has no `instance` column".to_owned()))?;
        let distance = column("bks_distance_dimacs").ok_or_else(|| {
            err(
                1,
                "the header has no `bks_distance_dimacs` column".to_owned(),
            )
        })?;
        let (set, routes) = (column("set"), column("bks_routes"));
        let mut table = HashMap::new();
        for (i, line) in lines {
            let line_no = i + 1;
            let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
            if fields.len() != columns.len() {
                return Err(err(
                    line_no,
                    format!("{} field(s) for {} column(s)", fields.len(), columns.len()),
                ));
            }
            let value: f64 = fields[distance]
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    err(
                        line_no,
                        format!("distance {:?} is not a positive number", fields[distance]),
                    )
                })?;
            let routes = match routes {
                Some(r) => Some(fields[r].parse::<usize>().map_err(|_| {
                    err(
                        line_no,
                        format!("routes {:?} is not a whole number", fields[r]),
                    )
                })?),
                None => None,
            };
            let name = fields[instance].to_owned();
            let bks = Bks {
                set: set.map(|s| fields[s].to_owned()),
                routes,
                distance: (10.0 * value).round() as i64,
            };
            if table.insert(name.clone(), bks).is_some() {
                return Err(err(line_no, format!("instance {name} is listed twice")));
            }
        }
        Ok(BksTable(table))
    }

    /// The best known solution of an instance, by name.
    pub fn get(&self, instance: &str) -> Option<&Bks> {
        self.0.get(instance)
    }
}
