"""Where each recorded layer's module was constructed in the user's source (``layers[].source``).

Two mechanisms, tried in this order for every layer:

1. ``track_sources()`` patches ``torch.nn.Module.__init__`` so that every module built while it is
   active remembers the first stack frame outside torch and cnnslicer that is not one of its own
   ``__init__`` methods: the line that constructed it. This is exact, whatever the model's code
   looks like.
2. For a model built without it, the source of the model class's ``__init__`` (and of the classes
   of its submodules) is parsed with ``ast``: ``self.<attr> = X(...)`` gives the line of
   ``<attr>``, and the arguments of ``nn.Sequential(...)``, ``nn.ModuleList([...])`` and
   ``nn.ModuleDict({...})`` calls give the lines of ``<attr>.0``, ``<attr>.1``, … Anything this
   cannot tie to one construction unambiguously gets no source: a missing link is better than a
   wrong one.

This module imports torch only when a function that needs it is called, so ``import cnnslicer``
works without torch.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import os
import re
import sys
import threading
from typing import Any, Dict, Iterator, List, Optional, Tuple

__all__ = ["track_sources", "layer_sources", "tracked_source", "ast_sources", "display_path"]

# Set on a module's __dict__ (not a registered attribute) so it follows deepcopy and pickling but
# never reaches state_dict.
SOURCE_ATTR = "_cnnslicer_source"

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

Location = Tuple[str, int]

_lock = threading.Lock()
_depth = 0
_original_init: Any = None
_patched_init: Any = None
_skip_dirs: Tuple[str, ...] = ()
_library_cache: Dict[str, bool] = {}


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


# ipykernel compiles each notebook cell under the name <tempdir>/ipykernel_<pid>/<hash>.py. The
# file exists only once a debugger has dumped the cell into it, and it goes with the kernel: a
# link to it would be dead, or point at another kernel's cell, by the time the run is viewed.
_NOTEBOOK_CELL_FOLDER = re.compile(r"^ipykernel_\d+$")


def _is_source_file(path: str) -> bool:
    """Whether code compiled from ``path`` has a file a link can open: not ``<stdin>``,
    ``<string>``, IPython's ``<ipython-input-…>`` or a notebook cell."""
    if not os.path.isfile(path):
        return False
    return _NOTEBOOK_CELL_FOLDER.match(os.path.basename(os.path.dirname(os.path.abspath(path)))) is None


def _is_skipped_file(filename: str) -> bool:
    cached = _library_cache.get(filename)
    if cached is None:
        absolute = os.path.abspath(filename)
        cached = any(_inside(absolute, d) for d in _skip_dirs)
        _library_cache[filename] = cached
    return cached


def _construction_site(module: Any, frame: Any) -> Optional[Location]:
    """The first frame outside torch/cnnslicer that is not an ``__init__`` of ``module`` itself.

    Skipping the module's own ``__init__`` frames matters for user-defined modules: their
    ``super().__init__()`` line is not where they were built, their caller's line is.
    """
    f = frame
    while f is not None:
        code = f.f_code
        if _is_skipped_file(code.co_filename):
            f = f.f_back
            continue
        if code.co_name == "__init__" and code.co_argcount > 0 and f.f_locals.get(code.co_varnames[0]) is module:
            f = f.f_back
            continue
        break
    if f is None:
        return None
    filename = f.f_code.co_filename
    if not _is_source_file(filename):
        return None
    return os.path.abspath(filename), int(f.f_lineno)


def _start() -> None:
    global _depth, _original_init, _patched_init, _skip_dirs
    import torch
    import torch.nn as nn

    with _lock:
        if _depth == 0:
            _skip_dirs = (os.path.dirname(os.path.abspath(torch.__file__)), _PACKAGE_DIR)
            _library_cache.clear()
            if _patched_init is None or nn.Module.__init__ is not _patched_init:
                original = nn.Module.__init__

                @functools.wraps(original)
                def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                    original(self, *args, **kwargs)
                    # _depth is read without the lock: a module built while tracking stops may or
                    # may not get a source, and either is correct.
                    if _depth > 0 and SOURCE_ATTR not in self.__dict__:
                        site = _construction_site(self, sys._getframe(1))
                        if site is not None:
                            self.__dict__[SOURCE_ATTR] = site

                _original_init = original
                _patched_init = __init__
                nn.Module.__init__ = __init__
        _depth += 1


def _stop() -> None:
    global _depth, _patched_init
    import torch.nn as nn

    with _lock:
        if _depth == 0:
            return
        _depth -= 1
        # Someone may have wrapped __init__ after us; unwinding their patch would break it, so the
        # wrapper is then left in place, inert while _depth is 0.
        if _depth == 0 and nn.Module.__init__ is _patched_init:
            nn.Module.__init__ = _original_init
            _patched_init = None


class track_sources:
    """Records where every ``torch.nn.Module`` built from now on was constructed.

    Use it around the model's construction::

        with cnnslicer.track_sources():
            model = Net()

    or call ``cnnslicer.track_sources()`` once before building the model, which leaves tracking
    on for the rest of the process (``.stop()`` turns it off). Calls nest. The cost is a short
    walk up the stack per module constructed; forward passes are not affected.
    """

    def __init__(self) -> None:
        self._active = False
        _start()
        self._active = True

    def stop(self) -> None:
        if self._active:
            self._active = False
            _stop()

    def __enter__(self) -> "track_sources":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def tracked_source(module: Any) -> Optional[Location]:
    """The (absolute file, line) ``track_sources`` recorded for ``module``, if any."""
    site = module.__dict__.get(SOURCE_ATTR)
    if isinstance(site, tuple) and len(site) == 2:
        return site
    return None


# --- The ast fallback ---------------------------------------------------------------------------


def _is_library_file(path: str) -> bool:
    # Installed libraries are left out: their __init__ says how the library builds a model, and a
    # user who then replaces a submodule (model.fc = nn.Linear(...)) would get the library's line.
    parts = os.path.abspath(path).split(os.sep)
    return "site-packages" in parts or "dist-packages" in parts


_parse_cache: Dict[Tuple[str, int, float], Optional[ast.Module]] = {}


def _parse_file(path: str) -> Optional[ast.Module]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_size, st.st_mtime)
    if key not in _parse_cache:
        linecache.checkcache(path)
        source = "".join(linecache.getlines(path))
        try:
            _parse_cache[key] = ast.parse(source, filename=path) if source else None
        except (SyntaxError, ValueError):
            _parse_cache[key] = None
    return _parse_cache[key]


def _function_node(path: str, code: Any) -> Optional[ast.FunctionDef]:
    tree = _parse_file(path)
    if tree is None:
        return None
    found: List[ast.FunctionDef] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if first == code.co_firstlineno:
                found.append(node)  # type: ignore[arg-type]
    # A file edited since it was imported may no longer line up with the code object.
    return found[0] if len(found) == 1 else None


def _own_nodes(fn: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, not descending into nested functions, lambdas or classes."""
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _call_name(node: ast.AST) -> Optional[str]:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


# (file, ast value) per attribute; None marks an attribute whose construction is ambiguous.
_Table = Dict[str, Optional[Tuple[str, ast.AST]]]


def _self_assignments(fn: ast.FunctionDef, path: str, table: _Table) -> None:
    if not fn.args.args:
        return
    self_name = fn.args.args[0].arg
    seen: Dict[str, List[ast.AST]] = {}

    def target(t: ast.AST, value: Optional[ast.AST]) -> None:
        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == self_name:
            seen.setdefault(t.attr, []).append(value if value is not None else t)
        elif isinstance(t, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(t.elts) else None
            for i, el in enumerate(t.elts):
                target(el, values[i] if values is not None else None)

    for node in _own_nodes(fn):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                target(t, node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            target(node.target, node.value if isinstance(node, ast.AnnAssign) else None)

    for attr, values in seen.items():
        # `self.x = None` next to one constructing assignment is the optional-submodule idiom;
        # any other second assignment (or one not a call) leaves the attribute unresolved.
        calls = [v for v in values if isinstance(v, ast.Call)]
        others = [v for v in values if not isinstance(v, ast.Call) and not (isinstance(v, ast.Constant) and v.value is None)]
        if len(calls) == 1 and not others:
            table[attr] = None if attr in table else (path, calls[0])
        elif calls or others:
            table[attr] = None


_init_cache: Dict[type, Optional[_Table]] = {}


def _init_table(cls: type) -> Optional[_Table]:
    """attr -> (file, call) from the ``__init__`` methods of ``cls`` and its user-defined bases."""
    if cls in _init_cache:
        return _init_cache[cls]
    table: _Table = {}
    for klass in cls.__mro__:
        if klass is object or klass.__module__.split(".")[0] == "torch":
            continue
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            code = inspect.unwrap(init).__code__
        except (AttributeError, ValueError):
            continue
        path = code.co_filename
        if not _is_source_file(path) or _is_library_file(path):
            continue
        fn = _function_node(path, code)
        if fn is None:
            continue
        _self_assignments(fn, os.path.abspath(path), table)
    _init_cache[cls] = table or None
    return _init_cache[cls]


def _plausible(node: ast.AST, child: Any) -> bool:
    """Whether a call may have built ``child``: a class-like name must be one of its classes."""
    name = _call_name(node)
    if name is None:
        return False
    # Factory functions (lowercase by convention) are taken at their word; a capitalised name is
    # checked, which catches a submodule replaced after construction by one of another class.
    if name[:1].isupper():
        return name in {k.__name__ for k in type(child).__mro__}
    return True


def _children_names(child: Any) -> List[str]:
    return [n for n, _ in child.named_children()]


def _container_nodes(node: ast.Call, child: Any, path: str) -> Optional[_Table]:
    """For a container built by a literal call, the call of each of its children."""
    import torch.nn as nn

    name = _call_name(node)
    names = _children_names(child)
    pairs: Optional[List[Tuple[str, ast.AST]]] = None
    if name == "Sequential" and isinstance(child, nn.Sequential) and not node.keywords:
        args = node.args
        if len(args) == 1 and _call_name(args[0]) == "OrderedDict":
            od = args[0]
            assert isinstance(od, ast.Call)
            if len(od.args) == 1 and not od.keywords and isinstance(od.args[0], (ast.List, ast.Tuple)):
                pairs = []
                for el in od.args[0].elts:
                    if not (isinstance(el, ast.Tuple) and len(el.elts) == 2 and isinstance(el.elts[0], ast.Constant) and isinstance(el.elts[0].value, str)):
                        return None
                    pairs.append((el.elts[0].value, el.elts[1]))
        elif not any(isinstance(a, ast.Starred) for a in args):
            pairs = [(str(i), a) for i, a in enumerate(args)]
    elif name == "ModuleList" and isinstance(child, nn.ModuleList) and len(node.args) == 1 and not node.keywords:
        arg = node.args[0]
        if isinstance(arg, (ast.List, ast.Tuple)) and not any(isinstance(a, ast.Starred) for a in arg.elts):
            pairs = [(str(i), a) for i, a in enumerate(arg.elts)]
    elif name == "ModuleDict" and isinstance(child, nn.ModuleDict) and len(node.args) == 1 and not node.keywords:
        arg = node.args[0]
        if isinstance(arg, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in arg.keys):
            pairs = [(k.value, v) for k, v in zip(arg.keys, arg.values)]  # type: ignore[union-attr]
    if pairs is None:
        return None
    # Children added or removed after construction would shift the mapping; then none is trusted.
    if sorted(n for n, _ in pairs) != sorted(names) or len(pairs) != len(names):
        return None
    return {n: (path, v) for n, v in pairs}


def ast_sources(model: Any) -> Dict[str, Location]:
    """``named_modules`` name -> (absolute file, line) found by reading the model's source."""
    out: Dict[str, Location] = {}

    def visit(module: Any, prefix: str, table: Optional[_Table]) -> None:
        for name, child in module.named_children():
            full = prefix + name
            entry = table.get(name) if table is not None else None
            sub: Optional[_Table] = None
            if entry is not None:
                path, node = entry
                if _plausible(node, child):
                    out[full] = (path, int(node.lineno))
                    assert isinstance(node, ast.Call)
                    sub = _container_nodes(node, child, path)
            visit(child, full + ".", sub if sub is not None else _init_table(type(child)))

    try:
        visit(model, "", _init_table(type(model)))
    except RecursionError:
        return {}
    return out


def display_path(file: str, source_root: Optional[str]) -> str:
    """``file`` relative to ``source_root`` (with '/') when it lies inside it, else absolute."""
    absolute = os.path.abspath(file)
    if source_root is not None:
        root = os.path.abspath(os.fspath(source_root))
        if _inside(absolute, root) and absolute != root:
            return os.path.relpath(absolute, root).replace(os.sep, "/")
    return absolute


def layer_sources(model: Any, names: List[str], source_root: Optional[str] = None) -> Dict[str, Dict[str, Any]]:
    """name -> ``{"file", "line"}`` for the layers whose construction site is known."""
    modules = dict(model.named_modules())
    fallback: Optional[Dict[str, Location]] = None
    out: Dict[str, Dict[str, Any]] = {}
    for name in names:
        site = tracked_source(modules[name])
        if site is None:
            if fallback is None:
                fallback = ast_sources(model)
            site = fallback.get(name)
        if site is not None:
            out[name] = {"file": display_path(site[0], source_root), "line": int(site[1])}
    return out
