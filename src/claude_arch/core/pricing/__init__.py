"""What calls cost: the catalog (models, aliases, families, limits, list prices, prompt-size
tiers, where a call runs; the data is ``core/models.toml``) and the worst case of a call, which
budgets hold."""
