"""The README's functional-API example runs as written."""

import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def test_functional_api_example_runs(capsys):
  text = open(README).read()
  section = text[text.index("## Functional API"):text.index("## Results")]
  blocks = re.findall(r"```python\n(.*?)```", section, re.S)
  assert len(blocks) == 1
  exec(compile(blocks[0], "README.md", "exec"), {})
  printed = capsys.readouterr().out.splitlines()
  assert printed[1].endswith("[100 100 100 100 100 100 100 100 100 100]")  # LCM fills every region to capacity
