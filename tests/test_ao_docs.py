"""The device example in docs/devices.md runs as written."""

import re
from pathlib import Path

from hyperbeam_fast import ao


def test_devices_doc_example():
    src = (Path(__file__).resolve().parents[1] / "docs" / "devices.md").read_text()
    code = re.search(r"```python\n(.*?)```", src, re.S).group(1)
    try:
        exec(compile(code, "docs/devices.md", "exec"), {})
    finally:
        ao.unregister_device("counter@1.0")
