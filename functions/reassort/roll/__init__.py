"""Electoral roll: CSV format, validation and the per-chunk import worker.

The same code runs in the ``reassort-import-roll`` CLI (one process per core) and in the
Step Functions Distributed Map worker (one Lambda invocation per batch of rows).
"""
