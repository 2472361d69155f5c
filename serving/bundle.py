"""Plotly's browser bundle as the app serves it: read once, named by its version and content hash,
and gzipped once, so a browser may keep it for a year.

The bundle is Descent Lab's subset of plotly.js (assets/plotly/plotly-descent.min.js: the core,
scatter, scatter3d, surface, contour and heatmap; 1.8 MB against the full 4.8 MB, and evaluated in
about a third of the time) when it was built from the same plotly.js version as the installed
plotly package's own bundle, so the figures plotly.py writes are always read by the plotly.js they
were written for. Otherwise (a newer plotly package on a fresh install) the package's full bundle
is served, and the log says why."""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

# The app's route for vendored browser code; not under Streamlit's reserved prefixes (/_stcore/,
# /static/, /media/, /component/).
PREFIX = "vendor"
# A versioned URL never changes its content, so the browser need not even ask again.
CACHE_CONTROL = "public, max-age=31536000, immutable"
# Level 9 costs about 0.2 s once at start and saves a few KB on every first visit.
GZIP_LEVEL = 9


@dataclass
class Bundle:
    """The bundle's bytes, its versioned file name, and (made once, on first need) its gzip."""

    raw: bytes
    name: str
    _gzip: bytes | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def etag(self) -> str:
        return f'"{self.name}"'

    def gzipped(self) -> bytes:
        """The gzip of the bundle, compressed the first time it is asked for and then kept."""
        if self._gzip is None:
            with self._lock:
                if self._gzip is None:
                    # mtime=0: the same bytes on every replica and every start.
                    self._gzip = gzip.compress(self.raw, GZIP_LEVEL, mtime=0)
        return self._gzip

    @property
    def ready(self) -> bool:
        return self._gzip is not None


SUBSET = Path(__file__).resolve().parent.parent / "assets" / "plotly" / "plotly-descent.min.js"
# The subset's first line: /*! plotly.js v4.1.1 (...): Descent Lab's subset, traces: scatter,... */
_BANNER = re.compile(rb"^/\*! plotly\.js v([0-9][0-9A-Za-z.+-]*) .*?traces: ([a-z0-9,]+) \*/")
LOG = logging.getLogger("descent_lab.bundle")


def full_path() -> Path:
    """Plotly's full browser bundle inside the installed plotly package."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def subset_info(path: Path | None = None) -> tuple[str, frozenset[str]] | None:
    """The subset bundle's (or `path`'s) plotly.js version and trace types, from its first line
    (None if the file is missing or does not start with that line)."""
    try:
        with open(path or SUBSET, "rb") as handle:
            head = handle.read(400)
    except OSError:
        return None
    found = _BANNER.match(head)
    if not found:
        return None
    return found.group(1).decode(), frozenset(found.group(2).decode().split(","))


@cache
def choice() -> tuple[Path, frozenset[str] | None]:
    """The bundle to serve and the trace types it draws (None: every type, the full bundle)."""
    from plotly.offline import get_plotlyjs_version

    info = subset_info()
    wanted = get_plotlyjs_version()
    if info is not None and info[0] == wanted:
        return SUBSET, info[1]
    LOG.warning("serving Plotly's full bundle: the subset %s is %s, the plotly package's is plotly.js %s "
                "(rebuild it with `make plotly-bundle`)", SUBSET.name,
                f"plotly.js {info[0]}" if info else "missing or unreadable", wanted)
    return full_path(), None


def source_path() -> Path:
    """The browser bundle the app serves: the subset when it matches the plotly package, else the
    package's full bundle."""
    return choice()[0]


def traces() -> frozenset[str] | None:
    """The trace types the served bundle draws; None when it is the full bundle (every type)."""
    return choice()[1]


@cache
def load() -> Bundle:
    """The bundle, read and hashed once per process (about 10 ms for 4.8 MB)."""
    from plotly.offline import get_plotlyjs_version

    raw = source_path().read_bytes()
    digest = hashlib.blake2b(raw, digest_size=6).hexdigest()
    return Bundle(raw=raw, name=f"plotly-{get_plotlyjs_version()}.{digest}.min.js")


def url_path(base_url_path: str = "") -> str:
    """The bundle's absolute URL path on the app, under Streamlit's server.baseUrlPath."""
    base = (base_url_path or "").strip("/")
    return f"{'/' + base if base else ''}/{PREFIX}/{load().name}"


# Set by the app entry (serving/web.py) when it serves the bundle's route in this process; the
# descent view then loads Plotly from it. A script run without the entry falls back to
# Streamlit's static file serving.
_served = threading.Event()


def mark_served() -> None:
    _served.set()


def is_served() -> bool:
    return _served.is_set()
