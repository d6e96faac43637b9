#!/usr/bin/env python3
"""Derive the compact Manhattan streets, addresses and places that Doorstep ships in
`data/manhattan-streets/` from the staged data set (`../shared/data/nyc-manhattan/streets`).

What it does: drops provenance columns the product does not use (source, OSM id, BIN), keeps the
properties the geocoder, the road graph and the map need, and rounds line and polygon coordinates to
5 decimals (about 1 m). Rows and geometries are otherwise unchanged. Standard library only; the output
is deterministic, so `--check` tells whether the committed files are current.

    python3 tools/derive_streets.py --source ../shared/data/nyc-manhattan/streets
    python3 tools/derive_streets.py --source ../shared/data/nyc-manhattan/streets --check
"""
import argparse
import csv
import io
import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "data" / "manhattan-streets"


def rnd(coords, nd):
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], nd), round(coords[1], nd)]
    return [rnd(c, nd) for c in coords]


def geojson(src, keep, nd=5):
    gj = json.loads(src.read_text())
    feats = []
    for f in gj["features"]:
        g = f["geometry"]
        feats.append({
            "type": "Feature",
            "properties": {k: f["properties"].get(k) for k in keep},
            "geometry": {"type": g["type"], "coordinates": rnd(g["coordinates"], nd)},
        })
    out = {"type": "FeatureCollection", "features": feats}
    return "\n".join(
        ['{"type":"FeatureCollection","features":[']
        + [json.dumps(f, separators=(",", ":"), ensure_ascii=False) + ("," if i + 1 < len(feats) else "")
           for i, f in enumerate(feats)]
        + ["]}"]
    ) + "\n"


def table(src, keep):
    rows = list(csv.DictReader(src.open(newline="", encoding="utf-8")))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keep)
    for r in rows:
        w.writerow([r[k] for k in keep])
    return buf.getvalue()


def build(src):
    return {
        "streets.geojson": geojson(src / "streets.geojson", ["name", "class"]),
        "parks.geojson": geojson(src / "parks.geojson", ["name", "kind"]),
        "land.geojson": geojson(src / "land.geojson", []),
        "neighborhoods.geojson": geojson(src / "neighborhoods.geojson", ["name", "nta2020"]),
        "zipcodes.geojson": geojson(src / "zipcodes.geojson", ["zip", "label"]),
        "addresses.csv": table(src / "addresses.csv", ["number", "street", "zip", "lat", "lng", "name"]),
        "places.csv": table(src / "places.csv", ["name", "category", "subcategory", "lat", "lng"]),
        "places_osm.csv": table(src / "places_osm.csv", ["name", "category", "lat", "lng", "housenumber", "street"]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, type=pathlib.Path)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    files = build(a.source)
    stale = []
    for name, text in files.items():
        p = OUT / name
        if a.check:
            if not p.exists() or p.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
            print(f"{name}: {len(text.encode()) / 1000:.0f} kB")
    if stale:
        print("out of date:", ", ".join(stale), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
