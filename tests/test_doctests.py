"""The examples in ltot's docstrings run and print what they say, and every public function
(the ``__all__`` of each package below) has one."""

import doctest
import importlib
import pkgutil

import pytest

import ltot

MODULES = sorted(m.name for m in pkgutil.walk_packages(ltot.__path__, "ltot."))
PACKAGES = ("ltot.configs", "ltot.data", "ltot.discrepancy", "ltot.methods", "ltot.metrics", "ltot.metrics.classifier",
            "ltot.metrics.evaluation", "ltot.metrics.inception", "ltot.nn", "ltot.ot", "ltot.tessellation", "ltot.train", "ltot.train.parallel",
            "ltot.viz")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
  module = importlib.import_module(name)
  runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
  report = []
  for test in doctest.DocTestFinder().find(module, name):
    runner.run(test, out=report.append)
  assert runner.failures == 0, "".join(report)


@pytest.mark.parametrize("package", PACKAGES)
def test_public_functions_have_examples(package):
  module = importlib.import_module(package)
  public = {name: getattr(module, name) for name in module.__all__}
  functions = {name: f for name, f in public.items() if callable(f) and not isinstance(f, type)}
  assert functions
  missing = sorted(name for name, f in functions.items() if ">>>" not in (f.__doc__ or ""))
  assert not missing, f"{package}: public functions without an example: {missing}"
