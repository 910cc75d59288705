"""Change data capture: the shop's changes -> ``warehouse.raw`` (Debezium, embedded).

``capture.run_capture`` is the entry point (DAG, CLI, tests). The pieces:
``java`` finds a JVM, ``connector`` renders the Debezium configuration (and
documents how offsets are kept), ``worker`` runs the engine in a child
process, ``envelope`` parses change events, ``landing`` lands them
idempotently with their offsets, ``slot`` and ``runs`` report where things
stand.
"""
