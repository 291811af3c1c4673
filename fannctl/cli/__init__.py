"""The command line: a thin layer of typer commands over the fannctl library."""
