#!/usr/bin/env python3
"""Writes eight days of ccmeter history, one point a minute (11,520 lines, ~1.7 MB), ending at NOW,
in the exact line format ccmeter appends: the 5-hour window climbing through each period and
resetting at RESET5 (and every 5 h before), the 7-day and an `opus` window climbing slowly and
resetting at RESET7 (and a week before). Given a store entry (STORE), also adds that opus window
to its snapshot, as an endpoint reading a minute old, so the line projects three windows.
For scripts/bench (f) and scripts/bench-history.

    history-8days.py OUT NOW RESET5 RESET7 [STORE]
"""
import json
import sys

out, now, reset5, reset7 = sys.argv[1], *map(int, sys.argv[2:5])
L5, L7 = 5 * 3600, 7 * 86400
lines = []
for i in range(8 * 1440 - 1, -1, -1):
    t = now - i * 60
    r5 = reset5 - ((reset5 - t) // L5) * L5
    r7 = reset7 - ((reset7 - t) // L7) * L7
    p5 = round(100.0 * (t - (r5 - L5)) / L5 * 0.9, 1)
    p7 = round(100.0 * (t - (r7 - L7)) / L7 * 0.5, 1)
    po = round(100.0 * (t - (r7 - L7)) / L7 * 0.7, 1)
    point = {
        "taken_at": t,
        "source": "oauth" if t % 900 == 0 else "stdin",
        "windows": {
            "5h": {"p": p5, "r": r5},
            "7d": {"p": p7, "r": r7},
            "opus": {"p": po, "r": r7},
        },
    }
    lines.append(json.dumps(point, separators=(",", ":")))
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")

if len(sys.argv) > 5:
    store = sys.argv[5]
    with open(store) as f:
        entry = json.load(f)
    entry["snapshot"]["scoped"] = [
        {
            "name": "opus",
            "window": {
                "used": {"percent": po},
                "resets_at": reset7,
                "at": {"source": "oauth", "taken_at": now - 60},
            },
        }
    ]
    with open(store, "w") as f:
        json.dump(entry, f, indent=2)
