"""Latent consistency distillation (Luo et al. 2023, Algorithm 1) as diffusers'
examples/consistency_distillation/train_lcm_distill_sd_wds.py does it: a DDIM solver over 50 skipping-step
timesteps (k = 20), the teacher's classifier-free-guidance estimate, boundary-condition scalings with
timestep_scaling 10, an EMA target network and a Huber (or L2) loss.

Guidance convention: w is the pipeline's (LatentConsistencyModelPipeline embeds w = guidance_scale − 1), and the
teacher estimate is cond + w·(cond − uncond), i.e. classifier-free guidance at scale w + 1. The distillation
script's "LCM form" w is the same number, so a model distilled with w ∈ [w_min, w_max] is meant to be run with
guidance_scale ∈ [w_min + 1, w_max + 1]."""

import numpy as np
import torch
import torch.nn.functional as F

TIME_COND_PROJ_DIM = 256


def guidance_scale_embedding(w: torch.Tensor, embedding_dim: int = TIME_COND_PROJ_DIM) -> torch.Tensor:
    """LatentConsistencyModelPipeline.get_guidance_scale_embedding: [sin, cos] of w·1000·10000^(−i/(half−1))."""
    w = w * 1000.0
    half = embedding_dim // 2
    scale = torch.log(torch.tensor(10000.0)) / (half - 1)
    frequencies = torch.exp(torch.arange(half, dtype=torch.float32) * -scale)
    angles = w.float()[:, None] * frequencies[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def boundary_scalings(timesteps: torch.Tensor, sigma_data: float = 0.5, timestep_scaling: float = 10.0):
    """c_skip, c_out of LCMScheduler.get_scalings_for_boundary_condition_discrete, shaped [B, 1, 1, 1]."""
    scaled = timestep_scaling * timesteps.float()
    c_skip = sigma_data ** 2 / (scaled ** 2 + sigma_data ** 2)
    c_out = scaled / (scaled ** 2 + sigma_data ** 2) ** 0.5
    return c_skip[:, None, None, None], c_out[:, None, None, None]


class DDIMSolver:
    """One DDIM step from the solver timestep ddim_timesteps[i] to the previous one (ᾱ_prev = ᾱ[0] at i = 0)."""

    def __init__(self, alphas_cumprod: torch.Tensor, train_timesteps: int = 1000, solver_timesteps: int = 50):
        self.skip = train_timesteps // solver_timesteps
        self.timesteps = torch.from_numpy(np.arange(1, solver_timesteps + 1) * self.skip - 1).long()
        previous = torch.cat([alphas_cumprod[:1], alphas_cumprod[self.timesteps[:-1]]])
        self.alphas_cumprod_prev = previous.float()

    def step(self, pred_x0: torch.Tensor, pred_noise: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        alpha_prev = self.alphas_cumprod_prev[index][:, None, None, None]
        return alpha_prev.sqrt() * pred_x0 + (1 - alpha_prev).sqrt() * pred_noise


def student_from_teacher(teacher):
    """The teacher's UNet config plus time_cond_proj_dim 256, initialised from the teacher's weights; the new
    guidance projection (time_embedding.cond_proj, no bias) starts at zero, so the student starts as the teacher."""
    from diffusers import UNet2DConditionModel

    config = {k: v for k, v in teacher.config.items() if not k.startswith("_")}
    student = UNet2DConditionModel.from_config({**config, "time_cond_proj_dim": TIME_COND_PROJ_DIM})
    missing, unexpected = student.load_state_dict(teacher.state_dict(), strict=False)
    if missing != ["time_embedding.cond_proj.weight"] or unexpected:
        raise RuntimeError(f"student/teacher mismatch: missing {missing}, unexpected {unexpected}")
    torch.nn.init.zeros_(student.time_embedding.cond_proj.weight)
    return student


class ConsistencyDistiller:
    """Computes the LCD loss of the online student for a batch; the caller optimises it and updates the
    EMA target. `noise(latents)` draws the forward-process noise (the teacher's training noise)."""

    def __init__(self, teacher, student, target, alphas_cumprod: torch.Tensor, w_min: float, w_max: float,
                 loss_type: str = "huber", huber_c: float = 0.001, timestep_scaling: float = 10.0,
                 noise=torch.randn_like):
        self.teacher, self.student, self.target = teacher, student, target
        self.alphas = alphas_cumprod.sqrt().float()
        self.sigmas = (1 - alphas_cumprod).sqrt().float()
        self.solver = DDIMSolver(alphas_cumprod)
        self.w_min, self.w_max = w_min, w_max
        self.loss_type, self.huber_c, self.timestep_scaling = loss_type, huber_c, timestep_scaling
        self.noise = noise

    def _x0(self, eps: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return (x - self.sigmas[t][:, None, None, None] * eps) / self.alphas[t][:, None, None, None]

    def loss(self, latents: torch.Tensor, prompt_embeds: torch.Tensor, uncond_embeds: torch.Tensor) -> torch.Tensor:
        batch = latents.shape[0]
        index = torch.randint(0, len(self.solver.timesteps), (batch,))
        start = self.solver.timesteps[index]
        end = (start - self.solver.skip).clamp(min=0)
        c_skip_start, c_out_start = boundary_scalings(start, timestep_scaling=self.timestep_scaling)
        c_skip_end, c_out_end = boundary_scalings(end, timestep_scaling=self.timestep_scaling)

        noise = self.noise(latents)
        a, s = self.alphas[start][:, None, None, None], self.sigmas[start][:, None, None, None]
        noisy = a * latents + s * noise
        w = (self.w_max - self.w_min) * torch.rand(batch) + self.w_min
        w_embedding = guidance_scale_embedding(w)
        w = w[:, None, None, None]

        eps = self.student(noisy, start, encoder_hidden_states=prompt_embeds, timestep_cond=w_embedding).sample
        prediction = c_skip_start * noisy + c_out_start * self._x0(eps, start, noisy)

        with torch.no_grad():
            both = self.teacher(torch.cat([noisy, noisy]), torch.cat([start, start]),
                                encoder_hidden_states=torch.cat([prompt_embeds, uncond_embeds])).sample
            cond_eps, uncond_eps = both.chunk(2)
            cond_x0, uncond_x0 = self._x0(cond_eps, start, noisy), self._x0(uncond_eps, start, noisy)
            guided_x0 = cond_x0 + w * (cond_x0 - uncond_x0)
            guided_eps = cond_eps + w * (cond_eps - uncond_eps)
            x_prev = self.solver.step(guided_x0, guided_eps, index)

            target_eps = self.target(x_prev, end, encoder_hidden_states=prompt_embeds,
                                     timestep_cond=w_embedding).sample
            target = c_skip_end * x_prev + c_out_end * self._x0(target_eps, end, x_prev)

        if self.loss_type == "l2":
            return F.mse_loss(prediction, target)
        return torch.mean(torch.sqrt((prediction - target) ** 2 + self.huber_c ** 2) - self.huber_c)
