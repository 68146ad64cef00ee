"""Tessellations of the uniform unit-ball prior (TWAE Sec. 2.4-2.5)."""

from ltot.tessellation.cvt import Tessellation, assign_regions, cvt, quantization_energy, sample_ball

__all__ = ["Tessellation", "assign_regions", "cvt", "quantization_energy", "sample_ball"]
