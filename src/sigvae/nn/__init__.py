"""Reusable network blocks shared by sigvae's models."""

from .conv import ConvDecoder, ConvEncoder, conv_plan

__all__ = ["ConvEncoder", "ConvDecoder", "conv_plan"]
