"""The `hirestream` command and its subcommands (serve, doctor, demo, analyze, imports)."""
