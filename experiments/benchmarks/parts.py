"""Each side's encoder and decoder alone, forward + backward, beside a ltot-vs-PyTorch benchmark, and
the ceiling the decoder sets on ltot's speed (issue 24: where the MNIST conv net's step loses).

Used by ``wae_vs_pythae --parts`` and ``twae_round --torch --parts``: both sides' parts are timed in
the benchmark's own run, in alternating blocks of calls after a warm-up (train-mode BatchNorm, one batch of
the step; gradients of the sum of squared outputs in the parameters, and for the decoder in its codes
too, as in training). Needs ``pip install torch==2.13.0``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from experiments.benchmarks.timing import alternating_medians
from ltot.data.pipeline import to_unit_float
from ltot.train.parallel import map_step

PARTS = ("encoder", "decoder")


def part_calls(method, state, images: np.ndarray, encoder, decoder) -> dict:
  """{"<side> <part>": call}: ltot's parts of ``method`` at ``state`` (replicated on one device) and the
  torch modules ``encoder`` / ``decoder`` on uint8 ``images`` [n, 28, 28, 1]; each call blocks until
  its gradients are ready."""
  import torch

  from experiments.benchmarks.torch_mnist import to_nchw

  def ltot_encoder(s, b, rng):
    out = lambda p: method.encoder_outputs({**s.params, "encoder": p}, s.batch_stats, to_unit_float(b), True)[0]
    return jax.grad(lambda p: jnp.sum(out(p) ** 2))(s.params["encoder"])

  def ltot_decoder(s, b, rng):
    z = jax.random.normal(rng, (b.shape[0], method.latent_dim))
    out = lambda p, v: method.decoder_logits({**s.params, "decoder": p}, s.batch_stats, v, True)[0]
    return jax.grad(lambda p, v: jnp.sum(out(p, v) ** 2), (0, 1))(s.params["decoder"], z)

  device = jax.local_devices()[:1]
  batch, rng = jax.device_put(images[None], device[0]), jax.random.key(2)
  x = to_nchw(images)
  z = torch.randn(len(images), method.latent_dim, requires_grad=True)

  def ours(fn):
    step = map_step(fn, device)
    return lambda: jax.block_until_ready(step(state, batch, rng))

  def peer(net, v):
    def call():
      net.zero_grad()
      v.grad = None
      (net(v) ** 2).sum().backward()
    return call
  return {"ltot encoder": ours(ltot_encoder), "ltot decoder": ours(ltot_decoder),
          "torch encoder": peer(encoder, x), "torch decoder": peer(decoder, z)}


def time_parts(calls: dict, repeats: int, block: int = 5) -> dict[str, float]:
  """Median milliseconds per call of each of ``calls``: ``repeats`` rounds in which each runs ``block``
  times in a row, the first call of each block not counted. Call by call alternation slowed both
  sides by 10-20% (each framework's worker threads still spinning after the other's call)."""
  seconds, _ = alternating_medians(calls, repeats, block=block, uncounted=1)
  return {k: 1000 * v for k, v in seconds.items()}


def parts_notes(ms: dict[str, float], ltot_ms: float, peer_ms: float, decoder_calls: int) -> tuple[float, str]:
  """(ceiling, notes) for a timed unit (a step, a round) that took ``ltot_ms`` and ``peer_ms`` and runs
  each side's decoder forward + backward ``decoder_calls`` times. The ceiling is ltot's speed over the
  peer's if everything in ltot's unit but its decoder took no time: no other change can pass it."""
  k = decoder_calls
  ceiling = peer_ms / (k * ms["ltot decoder"])
  freed = peer_ms / (ltot_ms - k * (ms["ltot decoder"] - ms["torch decoder"]))
  parts = "; ".join(f"{p}: ltot {ms[f'ltot {p}']:.1f} ms, torch {ms[f'torch {p}']:.1f} ms" for p in PARTS)
  notes = (f"forward + backward alone (train mode, one batch), medians over alternating blocks: {parts}; ltot {ltot_ms:.1f} ms "
           f"against the peer's {peer_ms:.1f} ms with {k} decoder pass(es) each; value: ltot's speed over the peer's "
           f"if all but its decoder took no time (its ceiling with this decoder); with only its decoder at torch's "
           f"speed: {freed:.2f}x")
  return ceiling, notes
