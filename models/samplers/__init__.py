"""Samplers: the schedule and a denoiser in, steps out (`models.samplers.base` describes the interface).

==========================  ==============================  ====================================================
class                       file                            paper
==========================  ==============================  ====================================================
`DDIMSampler`               ``ddim.py``                     Song et al. 2021, eq. 12 and 16 (eta: DDIM to DDPM)
`InpaintingSampler`         ``inpainting.py``               Lugmayr et al. 2022 (RePaint), eq. 8, Algorithm 1
`DDIMInversion`             ``inversion.py``                Song et al. 2021, Sec. 4.3
==========================  ==============================  ====================================================
"""

from models.samplers.base import Sampler, SeededNoise, check_eta, check_steps
from models.samplers.ddim import DDIMSampler
from models.samplers.inpainting import InpaintingSampler, renoise
from models.samplers.inversion import DDIMInversion

__all__ = [
    "DDIMInversion",
    "DDIMSampler",
    "InpaintingSampler",
    "Sampler",
    "SeededNoise",
    "check_eta",
    "check_steps",
    "renoise",
]
