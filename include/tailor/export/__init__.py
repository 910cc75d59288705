"""Exports: audiences out of the warehouse to files and SMTP, with an audit trail.

Public entry points: :func:`tailor.export.audience.build_audience`,
:func:`tailor.export.csvfile.export_csv`, :func:`tailor.export.send.send_campaign`
and :func:`tailor.export.run.run_export` (what the DAG and CLI call).
"""
