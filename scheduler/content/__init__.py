"""Post files: models, loading, rules and caption composition."""
