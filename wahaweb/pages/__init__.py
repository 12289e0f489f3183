"""Page modules: importing them registers their routes through `@template`."""
