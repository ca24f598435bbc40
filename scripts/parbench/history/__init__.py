"""Results over time: every sweep (or Google Benchmark file) of every commit and machine in one
SQLite file, step changes found in them, and a dashboard.

    ingest (a folder or a file -> Entry) -> store (SQLite) -> changepoints -> dashboard

records.py holds the typed records passed between them; commands.py is `./parbench history`.
The results folders stay the source of truth: `history rebuild` makes the database again.
"""
