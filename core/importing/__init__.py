"""Importing: a file into the workspace, after a preview of its first records.

workspace.py     import_file (read, detect, validate every record, commit all at once) and the signals that follow
parse.py         the parse itself: read, detect, and convert the records one of the two ways below
columns.py       the exact way, record by record, and the column chunks the store inserts
alpaca_lines.py  the vectorised way for Alpaca JSON lines, in DuckDB: it stores what the exact way would
parsers.py       where the parse runs (a thread, or a worker process for big files and uploads) and its pipe
worker.py        the worker process's main
preview.py       the first records of a file, bounded, as the Import page shows them
rejects.py       the rejects file: bad records and their reasons, never written over anything
uploads.py       an upload saved where the import reads it
"""
