"""Serving one app to a class: shared data links and a bounded pool for fits.

- ``lib.serve.share_store``  a table kept on disk under an unguessable token
                             (``?data=shared:TOKEN``), with expiry, caps and withdrawal
- ``lib.serve.shared_table`` what the store keeps and returns (values, errors, Parquet)
- ``lib.serve.fit_pool``     fits run in worker processes with a time limit, a memory
                             limit, cancellation and single flight per key
- ``lib.serve.fit_jobs``     a job as callers see it: the handle, the errors
- ``lib.serve.fit_worker``   the worker process's side of the pool
- ``lib.serve.settings``     the environment variables that configure both

Pure library code (no Streamlit); ``docs/sharing.md`` describes the design and how
the app wires it in.
"""
