"""``ltot.train.keep_freed_host_memory``: applies on glibc, can be refused, and keeps XLA's per-run
temporaries from being faulted in afresh at every call."""

import os
import subprocess
import sys

import pytest

from ltot.train import keep_freed_host_memory
from ltot.train.host import glibc

# The 1/16-width MNIST decoder's gradient (the cpu presets' widest temporaries: about 56 MB, above
# glibc's largest dynamic mmap threshold, 32 MB): its page faults per call, then its temporaries' pages.
_FAULTS_PER_CALL = """
import resource, jax, jax.numpy as jnp
from ltot.nn import make_autoencoder
from ltot.train import keep_freed_host_memory
keep_freed_host_memory()
decoder = make_autoencoder("mnist_conv", latent_dim=8, width=1 / 16).decoder
z = jnp.ones((100, 8))
v = decoder.init(jax.random.key(0), z, train=True)
loss = lambda p: jnp.sum(decoder.apply({**v, "params": p}, z, train=True, mutable=["batch_stats"])[0] ** 2)
grad = jax.jit(jax.grad(loss))
for _ in range(10):
  jax.block_until_ready(grad(v["params"]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
  jax.block_until_ready(grad(v["params"]))
temp = grad.lower(v["params"]).compile().memory_analysis().temp_size_in_bytes
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10, temp / 4096)
"""


def test_refused_where_the_environment_says_so(monkeypatch):
  monkeypatch.setenv("LTOT_KEEP_HOST_MEMORY", "0")
  assert keep_freed_host_memory() is False


@pytest.mark.skipif(not glibc(), reason="a setting of glibc's malloc")
def test_applies_on_glibc(monkeypatch):
  monkeypatch.delenv("LTOT_KEEP_HOST_MEMORY", raising=False)
  assert keep_freed_host_memory() is True


@pytest.mark.slow
@pytest.mark.skipif(not glibc(), reason="a setting of glibc's malloc")
def test_a_programs_temporaries_are_reused_not_faulted_in_again():
  def faults_and_pages(setting):
    out = subprocess.run([sys.executable, "-c", _FAULTS_PER_CALL], env={**os.environ, "LTOT_KEEP_HOST_MEMORY": setting},
                         check=True, capture_output=True, text=True).stdout
    return tuple(map(float, out.split()[-2:]))

  (default, pages), (kept, _) = faults_and_pages("0"), faults_and_pages("1")
  assert pages > 32 * 2 ** 20 / 4096  # above the dynamic threshold: malloc's defaults map it per call
  assert default > 0.8 * pages, (default, pages)  # ... and the kernel faults it in at every call
  assert kept < 0.25 * pages, (kept, pages)  # kept: most calls fault none of it (0-11% measured)
