"""Print pip constraints pinning each required dependency to its declared floor.

``numpy>=1.23.5`` in pyproject.toml becomes ``numpy==1.23.5``: CI installs the
oldest stack that pyproject.toml declares supported, so the floor is tested
rather than assumed.
"""

import re
import sys
from pathlib import Path

import tomllib

project = tomllib.loads(Path(sys.argv[1]).read_text())["project"]
for requirement in project["dependencies"]:
    match = re.fullmatch(
        r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*", requirement
    )
    if match is None:
        sys.exit(f"cannot pin {requirement!r}: declare its floor as 'name>=version'")
    print(f"{match[1]}=={match[2]}")
