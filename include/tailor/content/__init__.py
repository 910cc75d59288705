"""Email content: templates, per-segment blocks, tokens with fallbacks, subjects/preheaders.

Public entry point: :func:`tailor.content.render.render_email`.
"""
