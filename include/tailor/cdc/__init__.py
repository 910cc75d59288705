"""Change data capture: the shop's changes -> ``warehouse.raw`` (Debezium, embedded).

``capture.run_capture`` is the entry point (DAG, CLI, tests). The pieces:
``java`` finds a JVM, ``connector`` renders the Debezium configuration (and
documents how offsets are kept), ``worker`` runs the engine in a child
process, ``engine_batch`` takes a batch of records over from Java in a few
calls, ``batch_encode`` turns it into COPY text (``envelope`` parses single
change events for the other paths), ``landing`` lands them idempotently with
their offsets, ``faults`` holds the crash points the crash-safety tests use,
``slot``, ``runs`` and ``status`` report where things stand (``runs``
documents the lag and freshness columns of ``raw.cdc_runs``), ``resnapshot``
asks Debezium to re-read tables.
"""
