"""Flax linen modules: the papers' encoders, decoders, generators and potentials."""

from ltot.nn.architectures import ARCHITECTURES, Autoencoder, make_autoencoder
from ltot.nn.modules import (BN_MOMENTUM, MLP, BatchNorm, ConvDecoder, ConvEncoder, DownConv4x4, LineStart, MLPDecoder,
                             MLPEncoder, UpConv4x4, init_variables)

__all__ = ["ARCHITECTURES", "Autoencoder", "make_autoencoder", "init_variables", "BN_MOMENTUM", "BatchNorm", "MLP",
           "LineStart", "ConvDecoder", "ConvEncoder", "MLPDecoder", "MLPEncoder", "DownConv4x4", "UpConv4x4"]
