"""The tree reads as the architecture: the root holds the design card's three modules, every other
module sits in a package, imports run one way between the layers, and no imports form a circle.

Each package's __init__ docstring says which other packages it may import, on a line
``Imports: a, b.`` (or ``Imports: none.``). This test reads those lines, walks every import
statement of the project with ast (including the ones inside functions, where a circle likes to
hide) and fails on an import that a line does not allow, and on any circle between modules.
"""
import ast
import os
import re

import pytest

from conftest import ROOT

CARD_MODULES = {"server", "client", "protocol"}
# The root modules' allowed imports: protocol is the bottom, server.py the top, client.py the user's entry.
ROOT_IMPORTS = {"protocol": set(), "client": {"clientlib", "protocol"}, "server": None}  # None: anything
OUTSIDE = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis"}
SCRIPT_FOLDERS = {"tests", "bench", "tools"}  # not imported by the project; they may import any of it
IMPORTS_LINE = re.compile(r"^Imports: (.+)\.$", re.MULTILINE)


def _python_files(root):
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in OUTSIDE)
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.relpath(os.path.join(folder, name), root)


def _module_name(path):
    """commands/keys.py -> commands.keys, commands/__init__.py -> commands; tests/x.py -> tests:x (they
    import each other by bare name, with tests/ on the path)."""
    parts = path[:-3].split(os.sep)
    if parts[0] in SCRIPT_FOLDERS:
        return "%s:%s" % (parts[0], parts[-1])
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module):
    return module.split(":")[0].split(".")[0]


def project_modules(root=ROOT):
    """{module name: its parsed tree} for every .py file of the project."""
    modules = {}
    for path in _python_files(root):
        with open(os.path.join(root, path), encoding="utf-8") as file:
            modules[_module_name(path)] = (path, ast.parse(file.read(), path))
    return modules


def _resolve(importer, node, modules):
    """The project modules one import statement names (an imported name that is a submodule counts
    as that submodule; a package's own implicit import on the way to a submodule does not)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the importer's package
            package = importer.split(".")
            package = package[:len(package) - node.level + (1 if importer in modules and
                                                            modules[importer][0].endswith("__init__.py") else 0)]
            base = ".".join(package + ([base] if base else []))
        names = ["%s.%s" % (base, alias.name) if "%s.%s" % (base, alias.name) in modules else base
                 for alias in node.names]
    if ":" in importer:  # scripts import their neighbours by bare name
        folder = importer.split(":")[0]
        names = ["%s:%s" % (folder, name) if "%s:%s" % (folder, name) in modules else name for name in names]
    return {name for name in names if name in modules}


def import_graph(modules):
    """{module: the project modules it imports}."""
    graph = {}
    for name, (_, tree) in modules.items():
        graph[name] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name] |= _resolve(name, node, modules) - {name}
    return graph


def circles(graph):
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def allowed_imports(modules):
    """{layer: the layers it may import, or None for any}: the packages' Imports lines, the root table."""
    allowed = dict(ROOT_IMPORTS)
    for name, (path, tree) in modules.items():
        if path.endswith("__init__.py") and "." not in name:
            match = IMPORTS_LINE.search(ast.get_docstring(tree) or "")
            assert match, "%s: its docstring has no 'Imports: ...' line" % path
            listed = match.group(1)
            allowed[name] = set() if listed == "none" else {word.strip() for word in listed.split(",")}
    for folder in SCRIPT_FOLDERS:
        allowed[folder] = None
    return allowed


def wrong_way(graph, allowed):
    """(importer, imported) pairs whose layers the Imports lines do not allow."""
    bad = []
    for importer, targets in sorted(graph.items()):
        permitted = allowed[_layer(importer)]
        for target in sorted(targets):
            layer = _layer(target)
            if layer == _layer(importer) or permitted is None:
                continue
            if layer in SCRIPT_FOLDERS or layer not in permitted:
                bad.append((importer, target))
    return bad


@pytest.fixture(scope="module")
def modules():
    return project_modules()


def test_the_root_holds_only_the_design_cards_modules(modules):
    at_root = {name for name, (path, _) in modules.items() if os.sep not in path}
    assert at_root == CARD_MODULES


def test_every_package_says_what_it_holds_and_may_import(modules):
    packages = [name for name, (path, _) in modules.items() if path.endswith("__init__.py") and "." not in name]
    assert packages
    allowed = allowed_imports(modules)
    for package in packages:
        for layer in allowed[package]:
            assert layer in allowed and layer not in SCRIPT_FOLDERS, (package, layer)


def test_the_layers_themselves_form_no_circle(modules):
    allowed = allowed_imports(modules)
    layer_graph = {layer: set(targets or ()) for layer, targets in allowed.items() if targets is not None}
    assert circles(layer_graph) == []


def test_imports_run_one_way(modules):
    assert wrong_way(import_graph(modules), allowed_imports(modules)) == []


def test_no_import_circles(modules):
    assert circles(import_graph(modules)) == []


def test_the_client_library_never_imports_server_code(modules):
    graph = import_graph(modules)
    for name in graph:
        if _layer(name) in ("client", "clientlib"):
            assert {_layer(target) for target in graph[name]} <= {"client", "clientlib", "protocol"}, name


def test_a_circle_and_a_wrong_way_import_are_caught(tmp_path):
    """The checks themselves: a tiny tree with a lazy circle and a storage module importing commands."""
    (tmp_path / "storage").mkdir()
    (tmp_path / "commands").mkdir()
    (tmp_path / "storage" / "__init__.py").write_text('"""Values.\n\nImports: none.\n"""\n')
    (tmp_path / "commands" / "__init__.py").write_text('"""Table.\n\nImports: storage.\n"""\n')
    (tmp_path / "storage" / "keyspace.py").write_text("def f():\n    from commands.keys import g\n")
    (tmp_path / "commands" / "keys.py").write_text("from storage import keyspace\n")
    modules = project_modules(str(tmp_path))
    graph = import_graph(modules)
    assert circles(graph) == [["commands.keys", "storage.keyspace"]]
    assert wrong_way(graph, allowed_imports(modules)) == [("storage.keyspace", "commands.keys")]


def _readme_tree():
    """The paths the README's Layout tree names: a file or folder at the start of a line, or a file two
    spaces in, under the folder above it (a subfolder's files as `sub/file.py`); lines indented further
    continue a description."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as file:
        section = file.read().split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    paths, folder = set(), ""
    for line in section.split("```", 2)[1].splitlines():
        match = re.match(r"( {0,2})(\w[\w./]*\.py|\w[\w/]*/)(?:\s|$)", line)
        if not match:
            continue
        indent, entry = match.groups()
        if indent:
            paths.add(folder + entry)
        else:
            folder = entry if entry.endswith("/") else ""
            paths.add(entry)
    return paths


def test_the_readme_layout_matches_the_tree(modules):
    """The README's tree names every package and module of the server and the client library, and
    nothing that is not there."""
    listed = _readme_tree()
    package_files = {path.replace(os.sep, "/") for path, _ in modules.values()
                     if _layer(_module_name(path)) not in SCRIPT_FOLDERS and not path.endswith("__init__.py")}
    packages = {path.split(os.sep)[0] + "/" for path, _ in modules.values() if os.sep in path}
    assert listed >= package_files | packages
    for path in listed:
        assert os.path.exists(os.path.join(ROOT, path)), path
