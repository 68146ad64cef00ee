"""Tessellations of the uniform unit-ball prior (TWAE Sec. 2.4-2.5)."""

from ltot.tessellation.cvt import Tessellation, assign_regions, cvt, quantization_energy, sample_ball
from ltot.tessellation.e8 import E8_SCALE, e8_roots, e8_tessellation
from ltot.tessellation.regions import SAMPLERS, region_masses, sample_regions

__all__ = ["E8_SCALE", "SAMPLERS", "Tessellation", "assign_regions", "cvt", "e8_roots", "e8_tessellation",
           "quantization_energy", "region_masses", "sample_ball", "sample_regions"]
