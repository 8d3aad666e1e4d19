"""The execution engine. Its core is pure functions over plain dicts, no Django or database
(`walk`, `mapping`, `kazaam`, `transformations`, `templating`); its rim leases, runs nodes and
persists (`runner`, `nodes`, `state`, `retry`)."""
