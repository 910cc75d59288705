"""Database lifecycle, connections and versioned migrations."""
