"""The version of sigvae (bottom layer: imports nothing, so any module may import it)."""

__version__ = "0.1.0"
