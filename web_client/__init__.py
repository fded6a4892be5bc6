"""Browser pages (plain ES modules, no build step); served by server/ from static/."""
