"""The house rules (DESIGN.md's layout): which room may import what, and no import cycles.

Imports are read with `ast` from every project module, function-level imports included."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("engine", "surfaces", "lab", "figures", "ui", "classroom", "serving")


def _modules() -> dict[str, Path]:
    out = {"app": ROOT / "app.py"}
    for room in ROOMS:
        for path in sorted((ROOT / room).glob("*.py")):
            name = room if path.stem == "__init__" else f"{room}.{path.stem}"
            out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module name this file imports (absolute; `from a import b` gives a and a.b)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _top(name: str) -> str:
    return name.split(".")[0]


def _project_edges() -> dict[str, set[str]]:
    return {mod: {n for n in _imports(path) if n in MODULES and n != mod}
            for mod, path in MODULES.items()}


def test_the_rooms_exist_and_views_is_gone():
    for room in ROOMS:
        assert (ROOT / room / "__init__.py").exists(), room
    assert not (ROOT / "views").exists()


def test_numpy_rooms_import_neither_streamlit_nor_plotly():
    for mod, path in MODULES.items():
        # classroom/ (the class store and logic) is plain Python too.
        if _top(mod) in ("engine", "surfaces", "lab", "classroom"):
            tops = {_top(n) for n in _imports(path)}
            assert not tops & {"streamlit", "plotly"}, f"{mod} imports {tops & {'streamlit', 'plotly'}}"


def test_engine_and_surfaces_import_no_page_room():
    for mod, path in MODULES.items():
        if _top(mod) in ("engine", "surfaces"):
            tops = {_top(n) for n in _imports(path)}
            assert not tops & {"lab", "figures", "ui", "app"}, mod


def test_only_ui_and_app_import_streamlit():
    for mod, path in MODULES.items():
        if "streamlit" in {_top(n) for n in _imports(path)}:
            # serving/ is the entry point around the page (st.App, Streamlit's own protocol).
            assert _top(mod) in ("ui", "app", "serving"), f"{mod} imports streamlit"


def test_serving_reaches_the_page_only_through_app_py():
    """The entry point serves app.py; it imports no page code (ui/), and the page takes from
    serving/ only the bundle's URL (serving.bundle, plain Python)."""
    for mod, path in MODULES.items():
        tops = {_top(n) for n in _imports(path)}
        if _top(mod) == "serving":
            assert not tops & {"ui", "app"}, f"{mod} imports {tops & {'ui', 'app'}}"
        elif _top(mod) in ("ui", "app") and "serving" in tops:
            used = {n for n in _imports(path) if _top(n) == "serving"} - {"serving"}
            assert used <= {"serving.bundle"}, f"{mod} imports {used}"
    assert "streamlit" in {_top(n) for n in _imports(MODULES["serving.web"])}


def test_the_class_server_launcher_is_plain_python_and_lab_reaches_only_it():
    """`descent-lab serve` starts Streamlit replicas and HAProxy; it is not one itself, so the
    command stays light. lab/ (the command's home) imports from serving/ only the launcher."""
    assert not {_top(n) for n in _imports(MODULES["serving.launcher"])} & {"streamlit", "plotly",
                                                                          "ui", "app"}
    for mod, path in MODULES.items():
        if _top(mod) == "lab":
            used = {n for n in _imports(path) if _top(n) == "serving"} - {"serving"}
            assert used <= {"serving.launcher"}, f"{mod} imports {used}"
    assert "serving.launcher" in _imports(MODULES["lab.cli"])


def test_figures_import_no_ui():
    for mod, path in MODULES.items():
        if _top(mod) == "figures":
            assert "ui" not in {_top(n) for n in _imports(path)}, mod


def test_no_private_names_imported_across_modules():
    for mod, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in MODULES:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{mod} imports {private} from {node.module}"


def test_no_import_cycle_among_the_project_modules():
    edges = _project_edges()
    done: set[str] = set()

    def visit(mod: str, stack: list[str]) -> None:
        if mod in stack:
            raise AssertionError("import cycle: " + " → ".join(stack[stack.index(mod):] + [mod]))
        if mod in done:
            return
        for dep in sorted(edges[mod]):
            visit(dep, stack + [mod])
        done.add(mod)

    for mod in sorted(edges):
        visit(mod, [])


def test_the_import_walker_sees_the_project_edges():
    """The walker above is not vacuous: it finds the edges of a known chain of imports."""
    edges = _project_edges()
    assert "lab.config" in edges["lab.link"]
    assert "ui.sidebar" in edges["app"]
