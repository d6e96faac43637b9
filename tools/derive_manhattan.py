#!/usr/bin/env python3
"""Derive the compact Manhattan city data of `data/manhattan/` from the pyhailing data folder.

Reads the four files of the pyhailing 0.0.9 data folder (taxizones.geojson, trips.csv, speeds.csv,
lots.csv, plus its LICENSE) and writes the files that `crates/geo` embeds at compile time. The
formats are described in `data/manhattan/README.md`; this script is their reference encoder and
checks that every binary file decodes back to exactly what it read.

Usage (from the repository root):

    python3 tools/derive_manhattan.py --source ../shared/data/nyc-manhattan
    python3 tools/derive_manhattan.py --source ../shared/data/nyc-manhattan --check

`--check` writes nothing and fails if the committed files differ from a fresh derivation.
Python 3.11 standard library only; the output is byte-for-byte deterministic.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import struct
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data" / "nyc-manhattan"
DEFAULT_OUT = REPO_ROOT / "data" / "manhattan"

WEEKDAYS = 5  # 0 = Monday .. 4 = Friday
WINDOWS = 96  # 15-minute windows of a day
UTM_DECIMALS = 6  # kilometres: 1 mm
WGS84_DECIMALS = 6  # degrees: about 0.1 m

# ---------------------------------------------------------------------------------------------
# Transverse Mercator (UTM zone 18N, WGS84), Krueger series to order n^6 (Karney 2011).
# The same algorithm is implemented in crates/geo/src/projection.rs.
# ---------------------------------------------------------------------------------------------
A_KM = 6378.137
F = 1.0 / 298.257223563
K0 = 0.9996
FALSE_EASTING_KM = 500.0
LNG0_DEG = -75.0  # central meridian of UTM zone 18
N = F / (2.0 - F)
E2 = F * (2.0 - F)
E = math.sqrt(E2)
RECTIFYING_RADIUS = A_KM / (1.0 + N) * (1.0 + N**2 / 4.0 + N**4 / 64.0 + N**6 / 256.0)
BETA = [
    N / 2 - 2 * N**2 / 3 + 37 * N**3 / 96 - N**4 / 360 - 81 * N**5 / 512 + 96199 * N**6 / 604800,
    N**2 / 48 + N**3 / 15 - 437 * N**4 / 1440 + 46 * N**5 / 105 - 1118711 * N**6 / 3870720,
    17 * N**3 / 480 - 37 * N**4 / 840 - 209 * N**5 / 4480 + 5569 * N**6 / 90720,
    4397 * N**4 / 161280 - 11 * N**5 / 504 - 830251 * N**6 / 7257600,
    4583 * N**5 / 161280 - 108847 * N**6 / 3991680,
    20648693 * N**6 / 638668800,
]


def _tau_prime(tau: float) -> float:
    sigma = math.sinh(E * math.atanh(E * tau / math.hypot(1.0, tau)))
    return tau * math.hypot(1.0, sigma) - sigma * math.hypot(1.0, tau)


def utm18n_km_to_lnglat(x: float, y: float) -> tuple[float, float]:
    """Inverse transverse Mercator: UTM 18N kilometres to (longitude, latitude) in degrees."""
    xi = y / (K0 * RECTIFYING_RADIUS)
    eta = (x - FALSE_EASTING_KM) / (K0 * RECTIFYING_RADIUS)
    xi_p, eta_p = xi, eta
    for j, b in enumerate(BETA, start=1):
        xi_p -= b * math.sin(2 * j * xi) * math.cosh(2 * j * eta)
        eta_p -= b * math.cos(2 * j * xi) * math.sinh(2 * j * eta)
    tau_p = math.sin(xi_p) / math.hypot(math.sinh(eta_p), math.cos(xi_p))
    dlng = math.atan2(math.sinh(eta_p), math.cos(xi_p))
    tau = tau_p
    for _ in range(10):
        tp = _tau_prime(tau)
        dtau = (
            (tau_p - tp)
            / math.hypot(1.0, tp)
            * (1.0 + (1.0 - E2) * tau * tau)
            / ((1.0 - E2) * math.hypot(1.0, tau))
        )
        tau += dtau
        if abs(dtau) < 1e-14:
            break
    return LNG0_DEG + math.degrees(dlng), math.degrees(math.atan(tau))


# ---------------------------------------------------------------------------------------------
# Encoders
# ---------------------------------------------------------------------------------------------


def leb128(value: int) -> bytes:
    """Unsigned LEB128: 7 bits per byte, least significant group first, high bit = more follows."""
    if value < 0:
        raise ValueError("LEB128 encodes non-negative integers only")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_leb128(buf: bytes, pos: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def compact_json(obj: object) -> bytes:
    return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def derive_zones(source: Path) -> tuple[list[int], bytes, bytes]:
    """Return the sorted zone ids, the UTM GeoJSON and the WGS84 GeoJSON."""
    raw = json.loads((source / "taxizones.geojson").read_text(encoding="utf-8"))
    zones = []
    for feature in raw["features"]:
        geometry = feature["geometry"]
        if geometry["type"] != "Polygon" or len(geometry["coordinates"]) != 1:
            raise ValueError("every zone must be a polygon with a single ring")
        ring = geometry["coordinates"][0]
        if ring[0] != ring[-1]:
            raise ValueError("polygon rings must be closed")
        zones.append((int(feature["properties"]["zone_id"]), feature["properties"]["zone_name"], ring))
    zones.sort(key=lambda z: z[0])
    ids = [z[0] for z in zones]
    if len(set(ids)) != len(ids) or len(ids) > 255:
        raise ValueError("zone ids must be unique and fit a u8 index")

    utm_features = []
    wgs_features = []
    for index, (zone_id, name, ring) in enumerate(zones):
        props = {"zone_id": zone_id, "zone_name": name, "index": index}
        utm_ring = [[round(x, UTM_DECIMALS), round(y, UTM_DECIMALS)] for x, y in ring]
        utm_features.append(
            {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [utm_ring]}}
        )
        # RFC 7946 wants exterior rings counter-clockwise; the source rings are clockwise.
        lnglat = [utm18n_km_to_lnglat(x, y) for x, y in ring]
        if signed_area(lnglat) < 0:
            lnglat.reverse()
        wgs_ring = [[round(lng, WGS84_DECIMALS), round(lat, WGS84_DECIMALS)] for lng, lat in lnglat]
        wgs_features.append(
            {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [wgs_ring]}}
        )
    utm = compact_json({"type": "FeatureCollection", "crs_note": "UTM zone 18N (EPSG:32618) in kilometres", "features": utm_features})
    wgs = compact_json({"type": "FeatureCollection", "features": wgs_features})
    return ids, utm, wgs


def signed_area(ring: list[tuple[float, float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:])) / 2.0


def derive_speeds(source: Path, ids: list[int]) -> bytes:
    index = {zone_id: i for i, zone_id in enumerate(ids)}
    z = len(ids)
    table: list[tuple[float, float] | None] = [None] * (z * z * WINDOWS)
    with open(source / "speeds.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        for row in reader:
            minute = int(row["min"])
            if minute % 15 or not 0 <= minute < 24 * 60:
                raise ValueError(f"bad minute {minute}")
            slot = (index[int(row["puzone"])] * z + index[int(row["dozone"])]) * WINDOWS + minute // 15
            if table[slot] is not None:
                raise ValueError("duplicate speed row")
            table[slot] = (float(row["speed_mean"]), float(row["speed_stddev"]))
    if any(entry is None for entry in table):
        raise ValueError("speeds.csv does not cover every (pickup, drop-off, window)")
    out = bytearray()
    for mean, stddev in table:  # type: ignore[misc]
        out += struct.pack("<ff", mean, stddev)
    # Round trip: every value must decode to the nearest f32 of what was read.
    for slot, (mean, stddev) in enumerate(table):  # type: ignore[arg-type]
        got = struct.unpack_from("<ff", out, slot * 8)
        want = struct.unpack("<ff", struct.pack("<ff", mean, stddev))
        if got != want or abs(got[0] - mean) > 1e-6 * mean:
            raise AssertionError("speeds round trip failed")
    return bytes(out)


def derive_trips(source: Path, ids: list[int]) -> tuple[bytes, int, int]:
    index = {zone_id: i for i, zone_id in enumerate(ids)}
    z = len(ids)
    counts = [0] * (WEEKDAYS * WINDOWS * z * z)
    rows = []
    with open(source / "trips.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header != ["dow", "t_15min", "puzone", "dozone", "n_trips"]:
            raise ValueError(f"unexpected trips.csv header {header}")
        for dow, window, pu, do, n in reader:
            key = (int(dow), int(window), index[int(pu)], index[int(do)])
            n = int(n)
            if n <= 0:
                raise ValueError("zero counts cannot be told apart from missing rows")
            slot = ((key[0] * WINDOWS + key[1]) * z + key[2]) * z + key[3]
            if counts[slot]:
                raise ValueError("duplicate trips row")
            counts[slot] = n
            rows.append((*key, n))
    out = bytearray()
    for n in counts:
        out += leb128(n)
    # Round trip: decode and compare with the rows in file order.
    decoded = []
    pos = 0
    for slot in range(len(counts)):
        n, pos = read_leb128(out, pos)
        if n:
            pu_do = slot % (z * z)
            dw = slot // (z * z)
            decoded.append((dw // WINDOWS, dw % WINDOWS, pu_do // z, pu_do % z, n))
    if pos != len(out) or decoded != rows:
        raise AssertionError("trips round trip failed (are the rows of trips.csv sorted?)")
    return bytes(out), len(rows), sum(r[4] for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the pyhailing data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write (data/manhattan)")
    parser.add_argument("--check", action="store_true", help="compare with the files in --out instead of writing")
    args = parser.parse_args()

    ids, zones_utm, zones_wgs = derive_zones(args.source)
    speeds = derive_speeds(args.source, ids)
    trips, n_rows, n_trips = derive_trips(args.source, ids)
    files = {
        "zones.utm.geojson": zones_utm,
        "zones.wgs84.geojson": zones_wgs,
        "speeds.bin": speeds,
        "trips.bin": trips,
        "lots.csv": (args.source / "lots.csv").read_bytes(),
        "LICENSE": (args.source / "LICENSE").read_bytes(),
    }
    print(f"{len(ids)} zones, {n_rows} trip rows, {n_trips} trips", file=sys.stderr)
    if args.check:
        stale = [name for name, data in files.items() if (args.out / name).read_bytes() != data]
        if stale:
            print(f"out of date: {', '.join(stale)}", file=sys.stderr)
            return 1
        print("data/manhattan is up to date", file=sys.stderr)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
        print(f"wrote {name}: {len(data)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
