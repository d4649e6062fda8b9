"""Reading tables, bundled data, column roles and helpers, validation, export."""
