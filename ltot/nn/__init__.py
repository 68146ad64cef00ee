"""Flax linen modules: the papers' encoders, decoders, generators and potentials."""

from ltot.nn.architectures import ARCHITECTURES, Autoencoder, make_autoencoder, model_options
from ltot.nn.modules import (BN_MOMENTUM, CONV_IMPLS, MLP, BatchNorm, ConvDecoder, ConvEncoder, ConvTranspose4x4,
                             DownConv4x4, LineStart, MLPDecoder, MLPEncoder, UpConv4x4, conv_impl, init_variables)

__all__ = ["ARCHITECTURES", "Autoencoder", "make_autoencoder", "model_options", "init_variables", "BN_MOMENTUM",
           "BatchNorm", "MLP", "LineStart", "ConvDecoder", "ConvEncoder", "MLPDecoder", "MLPEncoder", "DownConv4x4",
           "UpConv4x4", "ConvTranspose4x4", "CONV_IMPLS", "conv_impl"]
