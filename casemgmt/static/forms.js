// Searchable selects and character counters: progressive, the forms work without it.
