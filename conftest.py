"""Set before anything imports scipy: scipy reads SCIPY_ARRAY_API once, at import.

scikit-learn's Array API checks (and ours) need it; without it they skip. The
whole suite runs with it, so the NumPy paths are tested as users of array
libraries run them too.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
