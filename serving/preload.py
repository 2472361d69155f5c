"""The Streamlit chunks the page's first paint needs, named for the page shell to fetch at once.

Streamlit loads the code of each kind of element (a slider, a select box, a custom component…)
only when the script's first message of that kind arrives, and then the chunks that code imports,
one round after another: on a first visit that waterfall took about 0.45 s after the script's
messages had come. The page shell (serving/web.py) lists those files as <link rel=modulepreload>,
so the browser fetches them beside Streamlit's own start, before the script has run.

The names are read from Streamlit's own index.*.js (its list of chunk files and, for each lazily
imported element, the indexes of the files it needs), so they follow Streamlit's version; if the
file's form is not recognised, nothing is preloaded and the page works as before."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

# The kinds of element on the page before its first paint (the sidebar's widgets, the title's
# HTML and the descent view). The panels' data frame and tabs come after the first paint.
FIRST_PAINT_ELEMENTS = ("Selectbox", "Checkbox", "Button", "ButtonGroup", "FileUploader",
                        "Multiselect", "Slider", "NumberInput", "Radio", "Html", "BidiComponent",
                        # Markdown with HTML in it (the title) imports this one lazily too.
                        "rehype-raw")

_FILES = re.compile(r"m\.f=(\[[^\]]*\])")
_IMPORT = r"import\(`\./({name}\.[A-Za-z0-9_-]+\.js)`\),__vite__mapDeps\(\[([0-9,]*)\]\)"


def chunk_files(index_js: str, names=FIRST_PAINT_ELEMENTS) -> list[str]:
    """The chunk files (names in Streamlit's static/js/) that the given elements import, in the
    order found, each once; [] when index.js's form is not recognised."""
    if not any(f"import(`./{name}." in index_js for name in names):
        return []
    found = _FILES.search(index_js)
    if not found:
        return []
    try:
        files = json.loads(found.group(1))
    except ValueError:
        return []
    out: list[str] = []
    for name in names:
        if f"import(`./{name}." not in index_js:
            continue
        match = re.search(_IMPORT.format(name=re.escape(name)), index_js)
        if not match:
            continue
        wanted = [match.group(1)]
        for index in filter(None, match.group(2).split(",")):
            if int(index) < len(files):
                wanted.append(files[int(index)].removeprefix("./"))
        for f in wanted:
            if f not in out and re.fullmatch(r"[A-Za-z0-9_.-]+\.js", f):
                out.append(f)
    return out


@cache
def first_paint_chunks() -> tuple[str, ...]:
    """chunk_files of the installed Streamlit (read once per process): the lazy imports are found
    in its entry index.*.js and in the chunks with import tables of their own (Markdown's)."""
    from streamlit import file_util

    static = Path(file_util.get_static_dir())
    js_dir = static / "static" / "js"
    html = (static / "index.html").read_text(encoding="utf-8")
    # The entry module index.html loads (other chunks are named index.* too) goes first.
    entry = re.search(r'<script[^>]*type="module"[^>]*src="\./static/js/([A-Za-z0-9_.-]+\.js)"', html)
    if not entry or not (js_dir / entry.group(1)).is_file():
        return ()
    sources = [js_dir / entry.group(1)] + sorted(f for f in js_dir.glob("*.js") if f.name != entry.group(1))
    out: list[str] = []
    for source in sources:
        text = source.read_text(encoding="utf-8")
        if "__vite__mapDeps" not in text:
            continue
        for name in chunk_files(text):
            # What index.html fetches itself (its entry and that entry's own preloads) is left out.
            if name not in out and (js_dir / name).is_file() and f"/{name}" not in html:
                out.append(name)
    return tuple(out)


def links() -> str:
    """The <link rel=modulepreload> lines for the page shell (relative, as Streamlit's own)."""
    return "".join(f'<link rel="modulepreload" href="./static/js/{name}">\n' for name in first_paint_chunks())
