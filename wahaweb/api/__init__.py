"""HTTP routes beside the Reflex app (mounted with `api_transformer`)."""
