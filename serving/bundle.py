"""Plotly's browser bundle as the app serves it: read once from the plotly package, named by its
version and content hash, and gzipped once, so a browser may keep it for a year."""

from __future__ import annotations

import gzip
import hashlib
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


def source_path() -> Path:
    """Plotly's browser bundle inside the installed plotly package."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


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
