#!/usr/bin/env python3
"""Derives feeds/shadowserver-reports.toml from Shadowserver's published schema.

Usage: tools/shadowserver-table.py ../shared/data/shadowserver > feeds/shadowserver-reports.toml

It keeps only the facts schakel needs per report type: its name in file names, its title,
its classification, its default severity (severity.md, types.md), and which columns hold
the address, host name, URL, email, ASN, port and severity. `schakel feed ingest
--shadowserver-schema intelmq.json` reads the full schema at run time instead.
"""
import json
import re
import sys
from pathlib import Path

src = Path(sys.argv[1])
schema = json.loads((src / "intelmq.json").read_text())
severity = {}
for name in ("severity.md", "types.md"):
    for line in (src / name).read_text().splitlines():
        m = re.match(r"\|\s*([a-z0-9_]+)\s*\|.*\|\s*(critical|high|medium|low|info)\s*\|?\s*$", line.strip())
        if m:
            severity.setdefault(m.group(1), m.group(2))

FIELDS = {
    "source.ip": "ip", "source.network": "network", "source.reverse_dns": "host",
    "source.fqdn": "fqdn", "source.url": "url", "source.asn": "asn", "source.port": "port",
    "severity": "severity",
}
print("# Shadowserver report types: derived by tools/shadowserver-table.py from the")
print("# Shadowserver Foundation's report schema (intelmq.json, severity.md, types.md, 2026-03).")
print("# Columns name the CSV header that holds each value; a report without `ip` resolves by")
print("# host name, URL or ASN where it has them.")
print()
for key, r in sorted(schema.items(), key=lambda kv: kv[1].get("file_name", "") if kv[0] != "_meta" else ""):
    if key == "_meta":
        continue
    file_name = r["file_name"]
    c = r.get("constant_fields", {})
    cols = {}
    for field, column, *rest in r.get("required_fields", []) + r.get("optional_fields", []):
        # Columns IntelMQ keeps as `extra.` that still locate a constituent (as schakel's
        # `merge_intelmq` reads them): a compromised account's email, a victim's website.
        short = {"email": "email", "website": "url"}.get(column) if field == "extra." else FIELDS.get(field)
        if short and short not in cols:
            cols[short] = column
    parts = [f'name = "{r["feed_name"]}"',
             f'identifier = "{c.get("classification.identifier", file_name)}"',
             f'taxonomy = "{c.get("classification.taxonomy", "other")}"',
             f'type = "{c.get("classification.type", "other")}"',
             f'default_severity = "{severity.get(file_name, "medium")}"']
    parts += [f'{k} = "{v}"' for k, v in cols.items()]
    print(f"[{file_name}]")
    print("\n".join(parts))
    print()
