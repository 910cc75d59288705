"""Third-party enrichment: data-vendor deliveries and weather context.

Vendor attributes are stored keyed by the SHA-256 of the normalised email
only (never the address); dbt joins them to people who granted the
'enrichment' consent. Weather comes from a pluggable provider, by default a
bundled offline file.
"""
