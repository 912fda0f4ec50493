"""Domain-free helpers: pagination cursors, dates, spreadsheets."""
