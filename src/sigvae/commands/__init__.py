"""CLI subcommands, one module each (see ``sigvae.cli``)."""
