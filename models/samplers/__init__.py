"""Samplers: the schedule and a denoiser in, steps out (`models.samplers.base` describes the interface).

==========================  ==============================  ====================================================
class                       file                            paper
==========================  ==============================  ====================================================
`DDIMSampler`               ``ddim.py``                     Song et al. 2021, eq. 12 and 16 (eta: DDIM to DDPM)
`InpaintingSampler`         ``inpainting.py``               Lugmayr et al. 2022 (RePaint), eq. 8, Algorithm 1
`DDIMInversion`             ``inversion.py``                Song et al. 2021, Sec. 4.3
`DPMSolverPlusPlus2MSampler` ``dpm_solver.py``              Lu et al. 2022 (DPM-Solver++), Algorithm 2
==========================  ==============================  ====================================================

`SAMPLERS` names the samplers that make new samples from noise (``--sampler`` of the CLIs).
"""

from common.errors import ParameterError
from models.samplers.base import Sampler, SeededNoise, check_eta, check_steps
from models.samplers.ddim import DDIMSampler
from models.samplers.dpm_solver import DPMSolverPlusPlus2MSampler
from models.samplers.inpainting import InpaintingSampler, renoise
from models.samplers.inversion import DDIMInversion

SAMPLERS = ("ddim", "dpm++2m")


def build_sampler(name, schedule, diffusion_steps, eta=0.0):
    """The sampler called ``name`` in `SAMPLERS`.

    Args:
        name: ``"ddim"`` (`DDIMSampler`, with ``eta``) or ``"dpm++2m"`` (`DPMSolverPlusPlus2MSampler`,
            deterministic).
        schedule: the model's noise schedule.
        diffusion_steps: int >= 1, network evaluations.
        eta: float in [0, 1], DDIM only.
    Raises:
        ParameterError: for an unknown name, bad steps or eta, or ``eta > 0`` with a deterministic sampler.
    """
    if name == "ddim":
        return DDIMSampler(schedule, diffusion_steps, eta)
    if name == "dpm++2m":
        if check_eta(eta) != 0.0:
            raise ParameterError(f"DPM-Solver++(2M) is deterministic; eta applies to ddim only. Received: eta={eta!r}")
        return DPMSolverPlusPlus2MSampler(schedule, diffusion_steps)
    raise ParameterError(f"sampler must be one of {SAMPLERS}. Received: sampler={name!r}")


__all__ = [
    "SAMPLERS",
    "DDIMInversion",
    "DDIMSampler",
    "DPMSolverPlusPlus2MSampler",
    "build_sampler",
    "InpaintingSampler",
    "Sampler",
    "SeededNoise",
    "check_eta",
    "check_steps",
    "renoise",
]
