//! A monotone priority queue for Dijkstra over non-negative `f64` distances.

/// A radix heap: a min-priority queue whose keys never go below the last key popped, which is exactly how Dijkstra
/// uses its queue. Non-negative `f64` values order like their bit patterns read as `u64`, so the keys are those bit
/// patterns and item `k` lives in the bucket of the highest bit in which it differs from the last key popped.
/// Pushes are `O(1)` and pops amortised `O(64)` per item, independent of how many items share a distance (the
/// binary heap's weak spot on the large equal-distance plateaus of assignment problems).
///
/// Items of equal keys come out in a deterministic order that depends only on the sequence of operations.
#[derive(Debug)]
pub(crate) struct RadixHeap {
    /// `buckets[b]` holds the items whose key first differs from `last` in bit `b - 1` (bucket 0: equal to `last`).
    buckets: Vec<Vec<(u64, usize)>>,
    /// The last key popped (`0` when the heap is fresh or cleared).
    last: u64,
    /// Number of items stored.
    len: usize,
}

impl RadixHeap {
    /// An empty heap.
    pub(crate) fn new() -> Self {
        RadixHeap {
            buckets: (0..65).map(|_| Vec::new()).collect(),
            last: 0,
            len: 0,
        }
    }

    /// The bucket of `key` relative to the last key popped.
    fn bucket(&self, key: u64) -> usize {
        (64 - (key ^ self.last).leading_zeros()) as usize
    }

    /// Adds `item` at `distance`, which must be `>=` the distance last popped (and so `>= 0`).
    pub(crate) fn push(&mut self, distance: f64, item: usize) {
        // Adding `0.0` turns a negative zero into a positive one, whose bits are all zero.
        let key = (distance + 0.0).to_bits();
        debug_assert!(key >= self.last, "radix heap keys must not decrease");
        let bucket = self.bucket(key);
        self.buckets[bucket].push((key, item));
        self.len += 1;
    }

    /// Removes an item of the smallest distance, and returns it with its distance.
    pub(crate) fn pop(&mut self) -> Option<(f64, usize)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            // Move the first non-empty bucket's minimum to `last`, and spread that bucket over the lower ones.
            let first = self.buckets.iter().position(|bucket| !bucket.is_empty())?;
            let spread = std::mem::take(&mut self.buckets[first]);
            self.last = spread.iter().map(|&(key, _)| key).min()?;
            for &(key, item) in &spread {
                let bucket = self.bucket(key);
                self.buckets[bucket].push((key, item));
            }
            // Give the (now empty) bucket its allocation back for later use.
            let mut spread = spread;
            spread.clear();
            self.buckets[first] = spread;
        }
        let (key, item) = self.buckets[0].pop()?;
        self.len -= 1;
        Some((f64::from_bits(key), item))
    }

    /// Removes every item and forgets the last key popped, keeping the allocations.
    pub(crate) fn clear(&mut self) {
        for bucket in &mut self.buckets {
            bucket.clear();
        }
        self.last = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::RadixHeap;
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;

    #[test]
    fn radix_heap_pops_in_distance_order_under_dijkstra_like_use() {
        let mut rng = Pcg64::seed_from_u64(1);
        let mut heap = RadixHeap::new();
        for _ in 0..20 {
            heap.clear();
            let mut reference: Vec<f64> = Vec::new();
            let mut last = 0.0;
            for step in 0..2000 {
                if step % 3 != 2 {
                    // Keys never below the last one popped; many exact repeats.
                    let distance = last + f64::from(rng.random_range(0..5u32)) * 0.5;
                    heap.push(distance, step);
                    reference.push(distance);
                } else if let Some((distance, _)) = heap.pop() {
                    let position = reference
                        .iter()
                        .position(|&d| d == distance)
                        .expect("popped a pushed distance");
                    let smallest = reference.iter().copied().fold(f64::INFINITY, f64::min);
                    assert_eq!(distance, smallest);
                    reference.swap_remove(position);
                    last = distance;
                }
            }
            while let Some((distance, _)) = heap.pop() {
                assert!(distance >= last);
                last = distance;
                reference.pop();
            }
            assert!(reference.is_empty());
        }
        heap.clear();
        heap.push(-0.0, 7);
        assert_eq!(heap.pop(), Some((0.0, 7)));
        assert_eq!(heap.pop(), None);
    }
}
