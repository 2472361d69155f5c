"""serving/preload.py: the Streamlit chunks the first paint needs, read from Streamlit's own
index.js, for the page shell's <link rel=modulepreload>."""

from __future__ import annotations

from pathlib import Path

from streamlit import file_util

from serving import preload
from serving.web import shell_html

INDEX = (
    'const x=1;__vite__mapDeps=(i,m=__vite__mapDeps,d=(m.f||(m.f=["./Slider.aa.js","./common.bb.js",'
    '"./Other.cc.js","./evil/../x.js"])));'
    "A=lazy(()=>H(()=>import(`./Slider.aa.js`),__vite__mapDeps([0,1]),import.meta.url));"
    "B=lazy(()=>H(()=>import(`./Radio.dd.js`),__vite__mapDeps([1,3,9]),import.meta.url));"
    "C=lazy(()=>H(()=>import(`./Other.cc.js`),__vite__mapDeps([2]),import.meta.url));"
)


def test_the_chunks_of_the_named_elements_in_order_each_once():
    assert preload.chunk_files(INDEX, ("Slider", "Radio")) == ["Slider.aa.js", "common.bb.js", "Radio.dd.js"]
    # A path that is not a plain file name, and an index past the list, are left out.
    assert preload.chunk_files(INDEX, ("Radio",)) == ["Radio.dd.js", "common.bb.js"]
    assert preload.chunk_files(INDEX, ("Missing",)) == []


def test_an_unrecognised_index_gives_no_preloads():
    assert preload.chunk_files("import('./Slider.js')", ("Slider",)) == []
    assert preload.chunk_files("m.f=[not json]", ("Slider",)) == []


def test_the_installed_streamlits_chunks_exist_and_are_not_fetched_by_index_html_already():
    chunks = preload.first_paint_chunks()
    names = {c.split(".")[0] for c in chunks}
    assert {"Slider", "Selectbox", "NumberInput", "BidiComponent"} <= names
    js_dir = Path(file_util.get_static_dir()) / "static" / "js"
    assert all((js_dir / c).is_file() for c in chunks)
    html = (Path(file_util.get_static_dir()) / "index.html").read_text()
    assert not any(f"/{c}" in html for c in chunks)
    assert len(chunks) == len(set(chunks))


def test_the_shell_preloads_them_before_streamlits_own_script():
    html = (Path(file_util.get_static_dir()) / "index.html").read_text()
    shell = shell_html(html, "/vendor/plotly-x.min.js")
    first_script = shell.index('<script type="module"')
    for chunk in preload.first_paint_chunks():
        link = f'<link rel="modulepreload" href="./static/js/{chunk}">'
        assert link in shell and shell.index(link) < first_script
