//! Planar polygon geometry in UTM kilometres: containment, distance to the boundary, convex hull,
//! and the hull's triangulation and centroid.

use crate::Utm;

/// Whether `p` lies inside the closed or open `ring` (even–odd rule; points exactly on an edge
/// may go either way, callers that care also test the distance to the boundary).
pub(crate) fn contains(ring: &[Utm], p: Utm) -> bool {
    let mut inside = false;
    for (a, b) in edges(ring) {
        if (a.y > p.y) != (b.y > p.y) {
            let x_cross = a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x);
            if p.x < x_cross {
                inside = !inside;
            }
        }
    }
    inside
}

/// The distance in kilometres from `p` to the nearest point of the ring's boundary.
pub(crate) fn distance_to_boundary(ring: &[Utm], p: Utm) -> f64 {
    edges(ring)
        .map(|(a, b)| distance_to_segment(p, a, b))
        .fold(f64::INFINITY, f64::min)
}

fn distance_to_segment(p: Utm, a: Utm, b: Utm) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.x - (a.x + t * dx)).hypot(p.y - (a.y + t * dy))
}

/// The edges of a ring, closing it if its last point is not its first.
fn edges(ring: &[Utm]) -> impl Iterator<Item = (Utm, Utm)> + '_ {
    let closing = match (ring.first(), ring.last()) {
        (Some(first), Some(last)) if first != last => Some((*last, *first)),
        _ => None,
    };
    ring.windows(2).map(|w| (w[0], w[1])).chain(closing)
}

/// The convex hull of `points`, counter-clockwise, without collinear points (Andrew's monotone
/// chain). Fewer than three distinct points give a degenerate hull of that many points.
pub(crate) fn convex_hull(points: &[Utm]) -> Vec<Utm> {
    let mut pts: Vec<Utm> = points.to_vec();
    pts.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let mut hull = half_hull(pts.iter().copied());
    let mut upper = half_hull(pts.iter().rev().copied());
    // The last point of each chain is the first point of the other one.
    hull.pop();
    upper.pop();
    hull.append(&mut upper);
    hull
}

/// One chain of the monotone-chain algorithm: the points turning left only.
fn half_hull(points: impl Iterator<Item = Utm>) -> Vec<Utm> {
    let cross = |o: Utm, a: Utm, b: Utm| (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
    let mut chain: Vec<Utm> = Vec::new();
    for p in points {
        while let [.., o, a] = chain[..] {
            if cross(o, a, p) > 0.0 {
                break;
            }
            chain.pop();
        }
        chain.push(p);
    }
    chain
}

/// A triangle fan over a convex polygon, with each triangle's area.
pub(crate) fn fan_triangles(hull: &[Utm]) -> Vec<([Utm; 3], f64)> {
    let Some(&apex) = hull.first() else {
        return Vec::new();
    };
    hull.windows(2)
        .skip(1)
        .map(|w| {
            let tri = [apex, w[0], w[1]];
            (tri, triangle_area(tri))
        })
        .collect()
}

fn triangle_area([a, b, c]: [Utm; 3]) -> f64 {
    0.5 * ((b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y)).abs()
}

/// The area-weighted centroid of a set of triangles (the centroid of their union when they do
/// not overlap). `None` if the total area is zero.
pub(crate) fn centroid(triangles: &[([Utm; 3], f64)]) -> Option<Utm> {
    let total: f64 = triangles.iter().map(|(_, area)| area).sum();
    if total <= 0.0 {
        return None;
    }
    let (mut x, mut y) = (0.0, 0.0);
    for ([a, b, c], area) in triangles {
        x += area * (a.x + b.x + c.x) / 3.0;
        y += area * (a.y + b.y + c.y) / 3.0;
    }
    Some(Utm {
        x: x / total,
        y: y / total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(x: f64, y: f64) -> Utm {
        Utm { x, y }
    }

    #[test]
    fn the_hull_of_a_square_with_inner_points_is_its_corners() {
        let pts = [
            u(0.0, 0.0),
            u(1.0, 0.0),
            u(0.5, 0.5),
            u(1.0, 1.0),
            u(0.0, 1.0),
            u(0.5, 0.0),
            u(0.0, 0.0),
        ];
        let hull = convex_hull(&pts);
        assert_eq!(hull.len(), 4);
        let tris = fan_triangles(&hull);
        let area: f64 = tris.iter().map(|t| t.1).sum();
        assert!((area - 1.0).abs() < 1e-12);
        let c = centroid(&tris).expect("non-degenerate");
        assert!((c.x - 0.5).abs() < 1e-12 && (c.y - 0.5).abs() < 1e-12);
    }

    #[test]
    fn containment_and_boundary_distance_agree_on_a_square() {
        let ring = [u(0.0, 0.0), u(2.0, 0.0), u(2.0, 2.0), u(0.0, 2.0)];
        assert!(contains(&ring, u(1.0, 1.0)));
        assert!(!contains(&ring, u(3.0, 1.0)));
        assert!((distance_to_boundary(&ring, u(3.0, 1.0)) - 1.0).abs() < 1e-12);
        assert!((distance_to_boundary(&ring, u(1.0, 0.5)) - 0.5).abs() < 1e-12);
    }
}
