"""The execution engine core: pure functions over plain dicts, no Django or database."""
