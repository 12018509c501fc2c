"""Importing: a file into the workspace, after a preview of its first records.

workspace.py   import_file (read, detect, validate every record, commit all at once) and the signals that follow
parse.py       the parse itself: read, detect, convert, and build the column chunks the store inserts
parsers.py     where the parse runs (a thread, or a worker process for big files and uploads) and its pipe
worker.py      the worker process's main
preview.py     the first records of a file, bounded, as the Import page shows them
rejects.py     the rejects file: bad records and their reasons, never written over anything
uploads.py     an upload saved where the import reads it
"""
