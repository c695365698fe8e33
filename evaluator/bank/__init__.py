"""The question bank: loading and validating it, its quality checks, the user's own entries and grades."""
