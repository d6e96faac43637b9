//! Search: names, house numbers on streets, and intersections.
//!
//! A house number is placed, in this order of precision, at its address point; between the nearest
//! lower and higher numbers of the same side of the same street (linear interpolation); by the Manhattan
//! address arithmetic — on the avenues the classic formula (drop the last digit, halve, add the avenue's
//! key number: the nearest cross street), on the numbered streets 100 numbers per avenue block from the
//! dividing avenue (Fifth Avenue, or Central Park West on the Upper West Side) — at the crossing with
//! that street; or else only the street is found (precision `street`).

use crate::geom::Xy;
use crate::text;
use crate::{Kind, PlaceHit, Places, Precision, leading_number, xy};
use doorstep_geo::LatLng;

/// The side of Fifth Avenue (or Broadway) a cross street's name starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    East,
    West,
}

/// The cross street nearest a house number on an avenue, by the classic Manhattan formula, and the
/// side to try first.
fn avenue_cross_street(avenue: &str, n: u32) -> Option<(u32, Side)> {
    let n = i64::from(n);
    let half = |key: i64| n / 10 / 2 + key;
    let tenth = |key: i64| n / 10 + key;
    use Side::{East, West};
    let (street, side) = match avenue {
        "Avenue A" | "Avenue B" | "Avenue C" | "Avenue D" | "1st Avenue" | "2nd Avenue" => {
            (half(3), East)
        }
        "3rd Avenue" => (half(10), East),
        "Lexington Avenue" => (half(22), East),
        "Madison Avenue" => (half(26), East),
        "Park Avenue" => (half(35), East),
        "Park Avenue South" => (half(8), East),
        "York Avenue" => (half(4), East),
        "5th Avenue" => (
            match n {
                0..=200 => half(13),
                201..=400 => half(16),
                401..=600 => half(18),
                601..=775 => half(20),
                776..=1286 => tenth(-18),
                1287..=1500 => half(45),
                _ => half(24),
            },
            East,
        ),
        "6th Avenue" => (half(-12), West),
        "7th Avenue" => (if n <= 1800 { half(12) } else { half(20) }, West),
        "8th Avenue" => (half(10), West),
        "9th Avenue" => (half(13), West),
        "10th Avenue" => (half(14), West),
        "11th Avenue" => (half(15), West),
        "Amsterdam Avenue" | "Columbus Avenue" | "West End Avenue" => (half(60), West),
        "Central Park West" => (tenth(60), West),
        "Riverside Drive" => (tenth(72), West),
        "Broadway" => (
            match n {
                754..=857 => half(-29),
                858..=999 => half(-25),
                1000.. => half(-31),
                _ => return None,
            },
            West,
        ),
        "Malcolm X Boulevard" | "Saint Nicholas Avenue" => (half(110), West),
        "Manhattan Avenue" => (half(100), West),
        "Convent Avenue" => (half(127), West),
        "Edgecombe Avenue" => (half(134), West),
        "Fort Washington Avenue" => (half(158), West),
        "Audubon Avenue" => (half(165), West),
        "Wadsworth Avenue" => (half(173), West),
        _ => return None,
    };
    u32::try_from(street)
        .ok()
        .filter(|s| (1..=220).contains(s))
        .map(|s| (s, side))
}

/// The avenues that divide a numbered street into blocks of 100 house numbers, from the start of
/// its numbering; each boundary lists the names the avenue has there.
fn street_blocks(side: Side, street: u32) -> Option<&'static [(&'static [&'static str], u32)]> {
    const EAST: &[(&[&str], u32)] = &[
        (&["5th Avenue"], 0),
        (&["Park Avenue", "Park Avenue South"], 100),
        (&["Lexington Avenue"], 140),
        (&["3rd Avenue"], 200),
        (&["2nd Avenue"], 300),
        (&["1st Avenue"], 400),
        (&["York Avenue"], 500),
    ];
    const WEST_MIDTOWN: &[(&[&str], u32)] = &[
        (&["5th Avenue"], 0),
        (&["6th Avenue"], 100),
        (&["7th Avenue"], 200),
        (&["8th Avenue"], 300),
        (&["9th Avenue"], 400),
        (&["10th Avenue"], 500),
        (&["11th Avenue"], 600),
        (&["12th Avenue"], 700),
    ];
    const WEST_UPPER: &[(&[&str], u32)] = &[
        (&["Central Park West"], 0),
        (&["Columbus Avenue"], 100),
        (&["Amsterdam Avenue"], 200),
        (&["West End Avenue"], 300),
        (&["Riverside Drive"], 400),
    ];
    match (side, street) {
        (Side::East, 14..=110) => Some(EAST),
        (Side::West, 14..=58) => Some(WEST_MIDTOWN),
        (Side::West, 60..=110) => Some(WEST_UPPER),
        _ => None,
    }
}

/// "West 52nd Street" → (West, 52).
fn numbered_street(name: &str) -> Option<(Side, u32)> {
    let mut parts = name.split(' ');
    let side = match parts.next()? {
        "East" => Side::East,
        "West" => Side::West,
        _ => return None,
    };
    let number = parts.next()?;
    if parts.next()? != "Street" || parts.next().is_some() {
        return None;
    }
    let digits = number.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    Some((side, digits.parse().ok()?))
}

fn cross_street_name(side: Side, n: u32) -> String {
    let side = match side {
        Side::East => "East",
        Side::West => "West",
    };
    format!("{side} {} Street", text::ordinal(n))
}

fn lerp(a: Xy, b: Xy, t: f64) -> Xy {
    Xy {
        x: a.x + (b.x - a.x) * t,
        y: a.y + (b.y - a.y) * t,
    }
}

/// A resolved house number.
struct House {
    label: String,
    first: String,
    zip: String,
    p: Xy,
    precision: Precision,
    precision_m: f64,
}

impl Places {
    /// The best hits for a query as typed, best first, at most `limit` (1 to 50). The last word is
    /// taken as a prefix unless the query ends with a space. `near` favours what is close to it.
    pub fn search(&self, query: &str, near: Option<LatLng>, limit: usize) -> Vec<PlaceHit> {
        let limit = limit.clamp(1, 50);
        let near = near.map(xy);
        let words = text::words(&query.replace(['/', '@'], " & "));
        if words.is_empty() {
            return Vec::new();
        }
        let typing = !query.ends_with(char::is_whitespace);
        let mut hits = Vec::new();
        if let Some(k) = words
            .iter()
            .position(|w| matches!(w.as_str(), "&" | "and" | "at"))
            && k > 0
            && k + 1 < words.len()
        {
            hits.extend(self.intersections(&words[..k], &words[k + 1..], typing, near));
        }
        if words.len() >= 2 && text::is_house_number(&words[0]) {
            hits.extend(self.house_numbers(&words[0], &words[1..], typing, near));
        }
        let matches = self.word_matches(&words, typing);
        for (e, score) in self.index.rank(&matches, near, limit * 2, |_| true) {
            hits.push(self.hit_of_entry(e, score, near));
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut out: Vec<PlaceHit> = Vec::with_capacity(limit);
        for h in hits {
            let same = |o: &PlaceHit| {
                o.label.eq_ignore_ascii_case(&h.label)
                    && Xy::of(o.lat, o.lng).dist(Xy::of(h.lat, h.lng)) < 150.0
            };
            if !out.iter().any(same) {
                out.push(h);
            }
            if out.len() == limit {
                break;
            }
        }
        out
    }

    fn word_matches(&self, words: &[String], typing: bool) -> Vec<crate::index::Matches> {
        let last = words.len().saturating_sub(1);
        words
            .iter()
            .enumerate()
            .map(|(i, w)| self.index.matches(w, typing && i == last))
            .collect()
    }

    fn hit_of_entry(&self, e: u32, score: f64, near: Option<Xy>) -> PlaceHit {
        let entry = &self.index.entries[e as usize];
        let p = match (entry.street, near) {
            (Some(s), Some(near)) => self.street_point_near(s, near).unwrap_or(entry.p),
            _ => entry.p,
        };
        let (lat, lng) = p.lat_lng();
        PlaceHit {
            label: entry.label.clone(),
            address: entry.address.clone(),
            kind: entry.kind,
            lat,
            lng,
            precision: entry.precision,
            precision_m: entry.precision_m,
            score,
        }
    }

    /// The node of street `s` nearest `p`.
    fn street_point_near(&self, s: u32, p: Xy) -> Option<Xy> {
        self.streets[s as usize]
            .nodes
            .iter()
            .map(|&n| self.graph.nodes[n as usize])
            .min_by(|a, b| a.dist(p).total_cmp(&b.dist(p)))
    }

    /// The streets the words name, best first, with their scores.
    fn streets_for(
        &self,
        words: &[String],
        typing: bool,
        near: Option<Xy>,
        n: usize,
    ) -> Vec<(u32, f64)> {
        let matches = self.word_matches(words, typing);
        let mut out: Vec<(u32, f64)> = Vec::new();
        for (e, score) in self
            .index
            .rank(&matches, near, n * 3, |e| e.kind == Kind::Street)
        {
            if let Some(s) = self.index.entries[e as usize].street
                && !out.iter().any(|(o, _)| *o == s)
            {
                out.push((s, score));
            }
        }
        out.truncate(n);
        out
    }

    fn intersections(
        &self,
        a: &[String],
        b: &[String],
        typing: bool,
        near: Option<Xy>,
    ) -> Vec<PlaceHit> {
        let sa = self.streets_for(a, false, near, 4);
        let sb = self.streets_for(b, typing, near, 4);
        let mut pairs: Vec<(u32, u32, f64)> = sa
            .iter()
            .flat_map(|&(x, sx)| sb.iter().map(move |&(y, sy)| (x, y, (sx + sy) / 2.0)))
            .filter(|(x, y, _)| x != y)
            .collect();
        pairs.sort_by(|p, q| q.2.total_cmp(&p.2));
        let mut hits = Vec::new();
        for (x, y, score) in pairs {
            let Some(p) = self.crossing(x, y, near) else {
                continue;
            };
            let label = format!(
                "{} & {}",
                self.streets[x as usize].name, self.streets[y as usize].name
            );
            let (lat, lng) = p.lat_lng();
            hits.push(PlaceHit {
                address: self.address_line("", p),
                label,
                kind: Kind::Intersection,
                lat,
                lng,
                precision: Precision::Exact,
                precision_m: 15.0,
                score: 3.0 + score,
            });
            if hits.len() == 3 {
                break;
            }
        }
        hits
    }

    /// Where streets `a` and `b` cross: a shared node (the one nearest `near` if several), else their
    /// closest points if within 40 m (a crossing drawn without a shared point).
    fn crossing(&self, a: u32, b: u32, near: Option<Xy>) -> Option<Xy> {
        let (na, nb) = (
            &self.streets[a as usize].nodes,
            &self.streets[b as usize].nodes,
        );
        let mut common = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < na.len() && j < nb.len() {
            match na[i].cmp(&nb[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common.push(self.graph.nodes[na[i] as usize]);
                    i += 1;
                    j += 1;
                }
            }
        }
        if common.is_empty() {
            // Each point of the shorter street against the other street's segments nearby.
            let (short, other) = if na.len() <= nb.len() {
                (na, b)
            } else {
                (nb, a)
            };
            let mut best: Option<(Xy, Xy, f64)> = None;
            for &u in short {
                let pu = self.graph.nodes[u as usize];
                if let Some(q) = self.graph.snap_to(pu, 40.0, other)
                    && best.is_none_or(|b| q.dist_m < b.2)
                {
                    best = Some((pu, q.point, q.dist_m));
                }
            }
            return best.map(|(pu, pv, _)| lerp(pu, pv, 0.5));
        }
        match near {
            Some(n) => common
                .into_iter()
                .min_by(|p, q| p.dist(n).total_cmp(&q.dist(n))),
            None => common.get(common.len() / 2).copied(),
        }
    }

    /// The crossing of street `a` with the street named `b`, if both exist.
    fn crossing_named(&self, a: u32, b: &str) -> Option<Xy> {
        let b = *self.street_ids.get(b)?;
        self.crossing(a, b, None)
    }

    fn house_numbers(
        &self,
        number: &str,
        rest: &[String],
        typing: bool,
        near: Option<Xy>,
    ) -> Vec<PlaceHit> {
        let mut hits = Vec::new();
        for (s, score) in self.streets_for(rest, typing, near, 3) {
            let Some(h) = self.house(number, s, near) else {
                continue;
            };
            let bonus = match h.precision {
                Precision::Exact => 0.1,
                Precision::Interpolated => 0.05,
                _ => 0.0,
            };
            let (lat, lng) = h.p.lat_lng();
            let address = if h.zip.is_empty() {
                self.address_line(&h.first, h.p)
            } else {
                format!("{}, New York, NY {}", h.first, h.zip)
            };
            hits.push(PlaceHit {
                label: h.label,
                address,
                kind: if h.precision == Precision::Street {
                    Kind::Street
                } else {
                    Kind::Address
                },
                lat,
                lng,
                precision: h.precision,
                precision_m: h.precision_m,
                score: 2.0 + score + bonus,
            });
        }
        hits
    }

    /// House `number` on street `s`; see the module documentation for the order of methods.
    fn house(&self, number: &str, s: u32, near: Option<Xy>) -> Option<House> {
        let n = leading_number(number)?;
        let street = &self.streets[s as usize];
        let first = format!("{number} {}", street.name);
        let (lo, hi) = self.address_ranges[s as usize];
        let points = &self.addresses[lo as usize..hi as usize];
        let closest = |a: &&crate::Address, b: &&crate::Address| match near {
            Some(p) => a.p.dist(p).total_cmp(&b.p.dist(p)),
            None => std::cmp::Ordering::Equal,
        };
        // The address point itself.
        let exact = points
            .iter()
            .filter(|a| a.text.eq_ignore_ascii_case(number))
            .min_by(closest)
            .or_else(|| points.iter().filter(|a| a.number == n).min_by(closest));
        if let Some(a) = exact {
            let first = format!("{} {}", a.text, street.name);
            return Some(House {
                label: if a.name.is_empty() {
                    first.clone()
                } else {
                    a.name.clone()
                },
                first,
                zip: a.zip.clone(),
                p: a.p,
                precision: Precision::Exact,
                precision_m: 10.0,
            });
        }
        let interpolated = |p: Xy, precision_m: f64| House {
            label: first.clone(),
            first: first.clone(),
            zip: String::new(),
            p,
            precision: Precision::Interpolated,
            precision_m: precision_m.round(),
        };
        // Between the neighbours on the same side.
        let below = points
            .iter()
            .filter(|a| a.number < n && a.number % 2 == n % 2)
            .max_by_key(|a| a.number);
        let above = points
            .iter()
            .filter(|a| a.number > n && a.number % 2 == n % 2)
            .min_by_key(|a| a.number);
        if let (Some(b), Some(a)) = (below, above)
            && a.number - b.number <= 200
            && a.p.dist(b.p) <= 800.0
        {
            let t = f64::from(n - b.number) / f64::from(a.number - b.number);
            return Some(interpolated(lerp(b.p, a.p, t), 15.0 + 0.15 * a.p.dist(b.p)));
        }
        // The Manhattan arithmetic: avenues.
        if let Some((cross, side)) = avenue_cross_street(&street.name, n) {
            let other = match side {
                Side::East => Side::West,
                Side::West => Side::East,
            };
            for side in [side, other] {
                if let Some(p) = self.crossing_named(s, &cross_street_name(side, cross)) {
                    return Some(interpolated(p, 120.0));
                }
            }
        }
        // Numbered streets: 100 numbers per avenue block.
        if let Some((side, k)) = numbered_street(&street.name)
            && let Some(blocks) = street_blocks(side, k)
        {
            let at = |names: &[&str]| names.iter().find_map(|a| self.crossing_named(s, a));
            for w in blocks.windows(2) {
                let ((a_names, a_n), (b_names, b_n)) = (w[0], w[1]);
                if (a_n..b_n).contains(&n)
                    && let (Some(pa), Some(pb)) = (at(a_names), at(b_names))
                {
                    let t = f64::from(n - a_n) / f64::from(b_n - a_n);
                    return Some(interpolated(lerp(pa, pb, t), 40.0));
                }
            }
        }
        // Only the street.
        let p = match near {
            Some(near) => self.street_point_near(s, near),
            None => street
                .nodes
                .get(street.nodes.len() / 2)
                .map(|&u| self.graph.nodes[u as usize]),
        }?;
        Some(House {
            label: first.clone(),
            first,
            zip: String::new(),
            p,
            precision: Precision::Street,
            precision_m: (street.len_m / 2.0).clamp(50.0, 5_000.0).round(),
        })
    }
}

/// A position as a `LatLng` (for tests).
#[cfg(test)]
pub(crate) fn hit_point(h: &PlaceHit) -> LatLng {
    crate::lat_lng(Xy::of(h.lat, h.lng))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_avenue_formula() {
        // The Empire State Building, 350 Fifth Avenue, is at 34th Street; the Met, 1000 Fifth, at 82nd.
        assert_eq!(
            avenue_cross_street("5th Avenue", 350),
            Some((33, Side::East))
        );
        assert_eq!(
            avenue_cross_street("5th Avenue", 1000),
            Some((82, Side::East))
        );
        assert_eq!(
            avenue_cross_street("Central Park West", 250),
            Some((85, Side::West))
        );
        assert_eq!(
            avenue_cross_street("Broadway", 2000),
            Some((69, Side::West))
        );
        assert_eq!(avenue_cross_street("Broadway", 100), None);
        assert_eq!(avenue_cross_street("Mercer Street", 100), None);
        assert_eq!(numbered_street("West 52nd Street"), Some((Side::West, 52)));
        assert_eq!(numbered_street("West Street"), None);
        assert_eq!(cross_street_name(Side::East, 82), "East 82nd Street");
    }
}
