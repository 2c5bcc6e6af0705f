"""The engine: runs a job's stages in a sandbox and streams its events.

The web layer talks to a backend (`executor.backends`); the backend talks to
a supervisor process (`executor.supervisor`) that starts one sandbox per stage
(`executor.sandbox`). Nothing in this package imports Django.
"""
