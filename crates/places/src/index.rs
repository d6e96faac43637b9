//! The name index: every searchable name as canonical tokens ([`crate::text`]), an inverted index from
//! token to names, the sorted spellings of the tokens for prefix matching, and a deletion index of the
//! spellings for typo matching ([`DeletionIndex`]).

use crate::geom::Xy;
use crate::text;
use crate::{Kind, Precision};
use std::collections::HashMap;

/// Other names of streets: (what people say, the data's name).
pub const STREET_ALIASES: &[(&str, &str)] = &[
    ("Avenue of the Americas", "6th Avenue"),
    ("Lenox Avenue", "Malcolm X Boulevard"),
    ("Fashion Avenue", "7th Avenue"),
    ("Avenue of the Finest", "Avenue of the Finest"),
];

/// One searchable name.
#[derive(Debug, Clone)]
pub struct Entry {
    /// What is shown.
    pub label: String,
    /// What is indexed (the label, or an alias of it).
    pub key: String,
    /// The first part of the address line ("350 5th Avenue"), else "".
    pub address: String,
    /// What it is.
    pub kind: Kind,
    /// Where.
    pub p: Xy,
    /// How precise `p` is.
    pub precision: Precision,
    /// Estimated error, metres.
    pub precision_m: f64,
    /// Rank bonus of well-known things (landmarks, stations) and malus of minor ones (platforms).
    pub importance: f64,
    /// The street, for street entries.
    pub street: Option<u32>,
    /// Token ids of `key`.
    pub tokens: Vec<u32>,
}

impl Entry {
    fn new(label: String, kind: Kind, p: Xy, precision: Precision, precision_m: f64) -> Entry {
        Entry {
            key: label.clone(),
            label,
            address: String::new(),
            kind,
            p,
            precision,
            precision_m,
            importance: 0.0,
            street: None,
            tokens: Vec::new(),
        }
    }

    /// A whole street, placed at its middle node.
    pub fn street(name: &str, id: u32, mid: Xy, len_m: f64) -> Entry {
        let mut e = Entry::new(
            name.to_owned(),
            Kind::Street,
            mid,
            Precision::Street,
            (len_m / 2.0).clamp(50.0, 5_000.0).round(),
        );
        e.importance = 0.06;
        e.street = Some(id);
        e
    }

    /// A place of the city's list (upper-case names; neighbourhoods are rows of category
    /// `neighborhood`).
    pub fn city_place(name: &str, category: &str, subcategory: &str, p: Xy) -> Entry {
        if category == "neighborhood" {
            let mut e = Entry::new(
                name.to_owned(),
                Kind::Neighborhood,
                p,
                Precision::Area,
                800.0,
            );
            e.importance = 0.08;
            return e;
        }
        let area = matches!(subcategory, "park" | "playground" | "garden" | "cemetery");
        let mut e = Entry::new(
            text::title_case(name),
            Kind::Place,
            p,
            if area {
                Precision::Area
            } else {
                Precision::Exact
            },
            if area { 200.0 } else { 30.0 },
        );
        e.importance = match subcategory {
            "official landmark" => 0.15,
            "museum" | "park" | "bridge" | "tunnel" => 0.1,
            "hotel/motel" | "other" => 0.01,
            _ => 0.04,
        };
        e
    }

    /// A place of OpenStreetMap (category `key=value`).
    pub fn osm_place(name: &str, category: &str, p: Xy) -> Entry {
        let area = matches!(
            category,
            "leisure=park" | "leisure=garden" | "leisure=playground"
        );
        let mut e = Entry::new(
            name.to_owned(),
            Kind::Place,
            p,
            if area {
                Precision::Area
            } else {
                Precision::Exact
            },
            if area { 200.0 } else { 20.0 },
        );
        e.importance = match category {
            "tourism=attraction" | "place=square" => 0.16,
            "railway=station" | "tourism=museum" | "leisure=park" => 0.1,
            "building=address" => 0.05,
            "railway=platform"
            | "public_transport=platform"
            | "railway=buffer_stop"
            | "railway=stop"
            | "public_transport=stop_position" => -0.1,
            "railway=subway_entrance" => -0.02,
            c if c.starts_with("building=") || c.starts_with("tourism=") => 0.04,
            c if c.starts_with("historic=") || c.starts_with("office=") => 0.02,
            _ => 0.0,
        };
        e
    }
}

/// Drops repeats: the same name of the same kind within 400 m is one place (the city's list and OSM
/// often both have it, OSM often several times: a station's platforms and entrances). The most
/// important copy stays, with the mixed-case spelling if either has one.
pub fn dedup(entries: Vec<Entry>) -> Vec<Entry> {
    let mut kept: Vec<Entry> = Vec::with_capacity(entries.len());
    let mut by_key: HashMap<(String, u8), Vec<usize>> = HashMap::new();
    for e in entries {
        if e.kind == Kind::Street {
            kept.push(e);
            continue;
        }
        let key = (text::tokens(&e.key).join(" "), e.kind as u8);
        let slot = by_key.entry(key).or_default();
        match slot.iter().copied().find(|&i| kept[i].p.dist(e.p) < 400.0) {
            Some(i) => {
                let old = &mut kept[i];
                let mixed = |s: &str| s.chars().any(char::is_lowercase);
                let label = if mixed(&old.label) || !mixed(&e.label) {
                    old.label.clone()
                } else {
                    e.label.clone()
                };
                let address = if old.address.is_empty() {
                    e.address.clone()
                } else {
                    old.address.clone()
                };
                if e.importance > old.importance {
                    *old = e;
                }
                old.label = label;
                old.address = address;
            }
            None => {
                slot.push(kept.len());
                kept.push(e);
            }
        }
    }
    kept
}

/// A query word's matching tokens with their weights (1 exact, less for a prefix or a typo), sorted by
/// token id.
pub type Matches = Vec<(u32, f64)>;

/// The inverted index.
#[derive(Debug, Clone)]
pub struct TokenIndex {
    /// The names.
    pub entries: Vec<Entry>,
    ids: HashMap<String, u32>,
    postings: Vec<Vec<u32>>,
    /// Spellings (the tokens themselves and the long forms of [`text::SURFACES`]), sorted.
    surfaces: Vec<(String, u32)>,
    /// Indices into `surfaces` by spelling length (the linear typo scan's baseline).
    by_len: Vec<Vec<u32>>,
    /// The typo candidates of a word.
    deletions: DeletionIndex,
    /// How typos are looked up: the deletion index, or (the benchmark's and tests' baseline) a scan of
    /// every spelling of a similar length.
    pub(crate) fuzzy: Fuzzy,
}

/// How [`TokenIndex::matches`] finds the spellings within a word's typo allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fuzzy {
    /// Candidates from the [`DeletionIndex`], each checked by edit distance.
    Index,
    /// Every spelling whose length is within the allowance, each checked by edit distance (the
    /// baseline the index is tested and measured against; the same answers, slower).
    Scan,
}

/// The deepest deletion kept: two typos, the most [`text::typos_allowed`] gives.
const MAX_DELETIONS: usize = 2;

/// Bits of a [`DeletionIndex`] posting that hold the spelling's index; the two above hold how many
/// bytes were deleted from it.
const SPELLING_BITS: u32 = 30;

/// A deletion index of spellings (the SymSpell idea): every spelling is filed under each string made by
/// deleting up to two of its bytes. If a word is within `k` typos of a spelling (insertions, deletions,
/// substitutions, swaps of neighbours), deleting at most `k` bytes from each gives the same string — a
/// substitution or a swap deletes one byte on both sides, an insertion or a deletion one byte on one side
/// — so the word's own deletions up to `k` reach every spelling within `k` typos. Those candidates are then
/// checked by edit distance, so the answers are exactly a full scan's; a typo query touches tens of
/// spellings instead of thousands.
///
/// Only what a typo query can need is filed: a spelling of `n` bytes can be within reach of a word of at
/// least 4 bytes (the shortest word allowed a typo) only if `n >= 3`, and within two typos of a word of at
/// least 7 bytes (the shortest allowed two) only if `n >= 5`. Strings are filed by a 64-bit hash: a
/// collision only adds a candidate that the edit distance then refuses.
#[derive(Debug, Clone, Default)]
pub struct DeletionIndex {
    /// Hashes of the deleted-from strings, sorted.
    keys: Vec<u64>,
    /// Beside each key: the spelling's index in `surfaces` and (top bits) how many bytes were deleted.
    postings: Vec<u32>,
}

/// FNV-1a of `bytes` without the bytes at `skip` (sorted positions).
fn hash_without(bytes: &[u8], skip: &[usize]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut next = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if skip.get(next) == Some(&i) {
            next += 1;
            continue;
        }
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Calls `f(hash, deleted)` for `bytes` itself and every string made by deleting up to `depth` of its
/// bytes (one call per choice of positions; equal strings from different choices repeat).
fn for_each_deletion(bytes: &[u8], depth: usize, mut f: impl FnMut(u64, usize)) {
    f(hash_without(bytes, &[]), 0);
    if depth >= 1 {
        for i in 0..bytes.len() {
            f(hash_without(bytes, &[i]), 1);
            if depth >= 2 {
                for j in i + 1..bytes.len() {
                    f(hash_without(bytes, &[i, j]), 2);
                }
            }
        }
    }
}

impl DeletionIndex {
    /// Files every spelling of `surfaces` (see the type's documentation for which ones and how deep).
    fn build(surfaces: &[(String, u32)]) -> DeletionIndex {
        let mut pairs: Vec<(u64, u32)> = Vec::new();
        let mut own: Vec<(u64, u32)> = Vec::new();
        for (i, (s, _)) in surfaces.iter().enumerate() {
            let depth = match s.len() {
                0..=2 => continue,
                3..=4 => 1,
                _ => MAX_DELETIONS,
            };
            own.clear();
            for_each_deletion(s.as_bytes(), depth, |h, deleted| {
                own.push((h, (deleted as u32) << SPELLING_BITS | i as u32));
            });
            // The same string by fewer deletions is the one to keep.
            own.sort_unstable();
            own.dedup_by_key(|p| p.0);
            pairs.extend_from_slice(&own);
        }
        pairs.sort_unstable();
        DeletionIndex {
            keys: pairs.iter().map(|p| p.0).collect(),
            postings: pairs.iter().map(|p| p.1).collect(),
        }
    }

    /// The spellings that `word` may be within `max` typos of (a superset of them): indices into the
    /// spellings, each once, in no particular order.
    fn candidates(&self, word: &[u8], max: usize, out: &mut Vec<u32>) {
        let max = max.min(MAX_DELETIONS);
        for_each_deletion(word, max, |h, _| {
            let start = self.keys.partition_point(|&k| k < h);
            for (&k, &p) in self.keys[start..].iter().zip(&self.postings[start..]) {
                if k != h {
                    break;
                }
                if (p >> SPELLING_BITS) as usize <= max {
                    out.push(p & ((1 << SPELLING_BITS) - 1));
                }
            }
        });
        out.sort_unstable();
        out.dedup();
    }

    /// Entries held.
    fn len(&self) -> usize {
        self.keys.len()
    }
}

impl TokenIndex {
    /// The index of `entries`.
    pub fn build(mut entries: Vec<Entry>) -> TokenIndex {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<u32>> = Vec::new();
        for (i, e) in entries.iter_mut().enumerate() {
            let mut toks: Vec<u32> = Vec::new();
            for t in text::tokens(&e.key) {
                let next = ids.len() as u32;
                let id = *ids.entry(t).or_insert(next);
                if id == next {
                    postings.push(Vec::new());
                }
                if !toks.contains(&id) {
                    toks.push(id);
                    postings[id as usize].push(i as u32);
                }
            }
            e.tokens = toks;
        }
        let mut surfaces: Vec<(String, u32)> = ids.iter().map(|(t, &id)| (t.clone(), id)).collect();
        for (long, short) in text::SURFACES {
            if let Some(&id) = ids.get(*short) {
                surfaces.push(((*long).to_owned(), id));
            }
        }
        surfaces.sort();
        surfaces.dedup();
        let mut by_len: Vec<Vec<u32>> = Vec::new();
        for (i, (s, _)) in surfaces.iter().enumerate() {
            if by_len.len() <= s.len() {
                by_len.resize(s.len() + 1, Vec::new());
            }
            by_len[s.len()].push(i as u32);
        }
        let deletions = DeletionIndex::build(&surfaces);
        TokenIndex {
            entries,
            ids,
            postings,
            surfaces,
            by_len,
            deletions,
            fuzzy: Fuzzy::Index,
        }
    }

    /// Distinct tokens.
    pub fn token_count(&self) -> usize {
        self.ids.len()
    }

    /// Strings filed in the deletion index.
    pub fn deletion_count(&self) -> usize {
        self.deletions.len()
    }

    /// Bytes held (approximately).
    pub fn heap_bytes(&self) -> usize {
        let entries: usize = self
            .entries
            .iter()
            .map(|e| {
                std::mem::size_of::<Entry>()
                    + e.label.len()
                    + e.key.len()
                    + e.address.len()
                    + e.tokens.len() * 4
            })
            .sum();
        let postings: usize = self.postings.iter().map(|p| 24 + p.len() * 4).sum();
        let surfaces: usize = self.surfaces.iter().map(|(s, _)| 28 + s.len()).sum();
        entries
            + postings
            + surfaces * 2
            + self.by_len.iter().map(|b| b.len() * 4).sum::<usize>()
            + self.deletions.len() * 12
    }

    /// The tokens a query word matches: its canonical form exactly; when it is the word being typed
    /// (`prefix`), every spelling it begins; and when that finds nothing, spellings within the typos
    /// its length allows ([`text::typos_allowed`]), found as [`TokenIndex::fuzzy`] says.
    pub fn matches(&self, word: &str, prefix: bool) -> Matches {
        let mut found: HashMap<u32, f64> = HashMap::new();
        fn add(found: &mut HashMap<u32, f64>, id: u32, w: f64) {
            let slot = found.entry(id).or_insert(0.0);
            *slot = slot.max(w);
        }
        if let Some(&id) = self.ids.get(&text::canonical(word)) {
            add(&mut found, id, 1.0);
        }
        if prefix && !word.is_empty() {
            let start = self.surfaces.partition_point(|(s, _)| s.as_str() < word);
            for (s, id) in self.surfaces[start..]
                .iter()
                .take_while(|(s, _)| s.starts_with(word))
                .take(400)
            {
                add(
                    &mut found,
                    *id,
                    0.7 + 0.25 * word.len() as f64 / s.len() as f64,
                );
            }
        }
        if found.is_empty() {
            let max = text::typos_allowed(word.len());
            if max > 0 {
                let mut typo = |i: u32| {
                    let (s, id) = &self.surfaces[i as usize];
                    if let Some(d) = text::edit_distance_within(word.as_bytes(), s.as_bytes(), max)
                    {
                        add(&mut found, *id, 0.8 - 0.15 * d as f64);
                    }
                };
                match self.fuzzy {
                    Fuzzy::Index => {
                        let mut candidates = Vec::new();
                        self.deletions
                            .candidates(word.as_bytes(), max, &mut candidates);
                        candidates.into_iter().for_each(&mut typo);
                    }
                    Fuzzy::Scan => {
                        let lo = word.len().saturating_sub(max);
                        let hi = (word.len() + max).min(self.by_len.len().saturating_sub(1));
                        for len in lo..=hi {
                            self.by_len[len].iter().copied().for_each(&mut typo);
                        }
                    }
                }
            }
        }
        let mut out: Matches = found.into_iter().collect();
        out.sort_by_key(|m| m.0);
        out
    }

    /// The best entries for the query words' `matches`, best first, at most `limit`. Every word must
    /// match a token of the entry, but for queries of three words or more, one may miss (at a cost).
    /// The score adds the words' weights, how much of the entry's name they cover, its importance, and
    /// nearness to `near`.
    pub fn rank(
        &self,
        query: &[Matches],
        near: Option<Xy>,
        limit: usize,
        keep: impl Fn(&Entry) -> bool,
    ) -> Vec<(u32, f64)> {
        if query.is_empty() || query.iter().all(Vec::is_empty) {
            return Vec::new();
        }
        let allow_missing = usize::from(query.len() >= 3);
        let mut order: Vec<(usize, usize)> = query
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let n = m
                    .iter()
                    .map(|(t, _)| self.postings[*t as usize].len())
                    .sum::<usize>();
                (if m.is_empty() { usize::MAX } else { n }, i)
            })
            .collect();
        order.sort();
        let mut seen = vec![false; self.entries.len()];
        let mut candidates = Vec::new();
        for &(_, qi) in order.iter().take(1 + allow_missing) {
            for (t, _) in &query[qi] {
                for &e in &self.postings[*t as usize] {
                    if !seen[e as usize] {
                        seen[e as usize] = true;
                        candidates.push(e);
                    }
                }
            }
        }
        let weight = |m: &Matches, t: u32| -> Option<f64> {
            m.binary_search_by_key(&t, |x| x.0).ok().map(|i| m[i].1)
        };
        let mut scored: Vec<(u32, f64)> = Vec::new();
        for e in candidates {
            let entry = &self.entries[e as usize];
            if !keep(entry) || entry.tokens.is_empty() {
                continue;
            }
            let mut sum = 0.0;
            let mut missing = 0;
            let mut covered = vec![false; entry.tokens.len()];
            for m in query {
                let mut best: Option<(f64, usize)> = None;
                for (k, &t) in entry.tokens.iter().enumerate() {
                    if let Some(w) = weight(m, t)
                        && best.is_none_or(|(b, _)| w > b)
                    {
                        best = Some((w, k));
                    }
                }
                match best {
                    Some((w, k)) => {
                        sum += w;
                        covered[k] = true;
                    }
                    None => missing += 1,
                }
            }
            if missing > allow_missing {
                continue;
            }
            let coverage =
                covered.iter().filter(|c| **c).count() as f64 / entry.tokens.len() as f64;
            let first = weight(&query[0], entry.tokens[0]).map_or(0.0, |_| 0.05);
            let nearness = near.map_or(0.0, |p| 0.15 * (-p.dist(entry.p) / 3_000.0).exp());
            let score = sum / query.len() as f64 - 0.3 * missing as f64
                + 0.3 * coverage
                + entry.importance
                + first
                + nearness;
            scored.push((e, score));
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(limit);
        scored
    }
}
