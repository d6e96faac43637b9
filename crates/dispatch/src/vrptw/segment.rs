//! Route segments summarised for O(1) concatenation: distance, load and the time-warp data of Nagata et al.
//! (2010) and Vidal et al. (2013).
//!
//! A segment is a run of consecutive visits. Its summary says how long it takes from the start of service at its
//! first visit to the end of service at its last (`duration`, waiting included), how much "time warp" (going back
//! in time to meet a window) it needs at the least, and the window `[earliest, latest]` of start times at its first
//! visit that achieve that minimum. Concatenating two summaries with the edge between them is O(1), which is what
//! makes every local-search move cost O(1) to evaluate.

use super::Problem;

/// The summary of a run of consecutive nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    /// The first node of the run.
    pub first: usize,
    /// The last node of the run.
    pub last: usize,
    /// Sum of the edge costs inside the run.
    pub distance: i64,
    /// Service, travel and waiting time from the start of the first service to the end of the last.
    pub duration: i64,
    /// The least total time warp the run needs.
    pub time_warp: i64,
    /// Earliest start of service at `first` that achieves `time_warp` without needless waiting.
    pub earliest: i64,
    /// Latest start of service at `first` that achieves `time_warp`.
    pub latest: i64,
    /// Sum of the demands.
    pub load: i64,
}

impl Segment {
    /// A single node with its window `[ready, due]` (a window that closes before it opens is warped by its
    /// width), its service time and its demand.
    pub fn node(node: usize, ready: i64, due: i64, service: i64, demand: i64) -> Self {
        let (latest, time_warp) = if due < ready {
            (ready, ready - due)
        } else {
            (due, 0)
        };
        Self {
            first: node,
            last: node,
            distance: 0,
            duration: service,
            time_warp,
            earliest: ready,
            latest,
            load: demand,
        }
    }

    /// `self` followed by `next`, joined by the edge from `self.last` to `next.first`.
    #[inline]
    pub fn then(&self, next: &Self, problem: &Problem) -> Self {
        let edge = problem.time(self.last, next.first);
        let at_next = self.duration - self.time_warp + edge;
        let wait = (next.earliest - at_next - self.latest).max(0);
        let warp = (self.earliest + at_next - next.latest).max(0);
        Self {
            first: self.first,
            last: next.last,
            distance: self.distance + next.distance + problem.cost(self.last, next.first),
            duration: self.duration + next.duration + edge + wait,
            time_warp: self.time_warp + next.time_warp + warp,
            earliest: (next.earliest - at_next).max(self.earliest) - wait,
            latest: (next.latest - at_next).min(self.latest) + warp,
            load: self.load + next.load,
        }
    }
}
