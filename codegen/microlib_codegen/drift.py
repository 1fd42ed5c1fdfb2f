"""Contract drift: how a user stub no longer matches its service, OpenAPI, AsyncAPI or jobs contract.

The stub module is parsed with :mod:`ast`, never imported, so a broken or
slow-to-import module still gets a report.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from microlib_codegen import jobs
from microlib_codegen._openapi_ops import snake
from microlib_codegen._signatures import ServerSignature, server_signature
from microlib_codegen.asyncapi import Application, Handler, stub_names
from microlib_codegen.jobs import JobsContract
from microlib_codegen.openapi import HandlerStub
from microlib_codegen.stubs import Stub, stub_class

__all__ = ["consumer_drift", "handlers_drift", "import_drift", "jobs_drift", "stub_drift"]

_QUALIFIED = re.compile(r"\b(?:\w+\.)+(\w+)")


def _norm(annotation: ast.expr | None) -> str:
    if annotation is None:
        return ""
    text = ast.unparse(annotation).replace("'", "").replace('"', "")
    return _QUALIFIED.sub(r"\1", text).replace(" ", "")


def _missing(where: str, cls: ast.ClassDef, name: str, what: str, expected: str) -> str:
    # The contract may have gained it or the user may have deleted it: the
    # stub alone cannot tell which, so the line says what is true either way.
    return (
        f"{where}:{cls.lineno}: {cls.name}.{name}: missing, {what} has no method here "
        f"(the service refuses to start until it is written); expected: {expected}"
    )


def _is_generator(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(node, ast.Yield | ast.YieldFrom) for node in ast.walk(fn))


_Defs = dict[str, ast.FunctionDef | ast.AsyncFunctionDef]


def _stub_class(where: str, source: str, protocol: str, impl: str) -> tuple[ast.ClassDef, _Defs] | str:
    """The stub's class that subclasses ``protocol``, with its methods by name;
    or the one line saying why there is none."""
    try:
        tree = ast.parse(source, filename=where)
    except SyntaxError as exc:
        return f"{where}:{exc.lineno}: cannot check the stub: {exc.msg}"
    cls = _find_class(tree, protocol)
    if cls is None:
        return f"{where}: no class subclasses {protocol} (expected {impl}({protocol}))"
    return cls, {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _find_class(tree: ast.Module, protocol: str) -> ast.ClassDef | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
                if name == protocol:
                    return node
    return None


def _problems(fn: ast.FunctionDef | ast.AsyncFunctionDef, expected: ServerSignature) -> list[str]:
    found: list[str] = []
    is_async = isinstance(fn, ast.AsyncFunctionDef)
    if expected.is_async and (not is_async or _is_generator(fn)):
        found.append("must be `async def` returning one response")
    if not expected.is_async and is_async and not _is_generator(fn):
        found.append("must be an async generator (`async def` with `yield`) or return an AsyncIterator")
    params = (fn.args.posonlyargs + fn.args.args)[1:]
    if len(params) != 2:
        found.append(f"takes {len(params)} parameter(s) after self, expected 2 ({expected.parameter}, ctx)")
    elif _norm(params[0].annotation) not in ("", expected.parameter_type.replace(" ", "")):
        found.append(f"{params[0].arg} is annotated {ast.unparse(params[0].annotation)!s}")  # type: ignore[arg-type]
    returns = _norm(fn.returns)
    if returns and returns != expected.return_type.replace(" ", ""):
        found.append(f"returns {ast.unparse(fn.returns)}")  # type: ignore[arg-type]
    return found


def stub_drift(stub: Stub, source: str) -> list[str]:
    """Every way the stub at ``stub.path`` (content ``source``) differs from its service.

    Returns:
        Lines ``file:line: Class.method: problem; expected: signature``; empty
        when the stub matches.
    """
    where = str(stub.path)
    service = stub.service
    found = _stub_class(where, source, service.name, stub_class(service))
    if isinstance(found, str):
        return [found]
    cls, defs = found
    report: list[str] = []
    rpc_names = set()
    for method in service.methods:
        rpc_names.add(method.python_name)
        expected = server_signature(method, stub.names[method.input], stub.names[method.output])
        fn = defs.get(method.python_name)
        if fn is None:
            report.append(_missing(where, cls, method.python_name, f"RPC {method.name}", expected.text))
            continue
        for problem in _problems(fn, expected):
            report.append(f"{where}:{fn.lineno}: {cls.name}.{fn.name}: {problem}; expected: {expected.text}")
    for name, fn in defs.items():
        params = [a.arg for a in fn.args.args]
        if name not in rpc_names and params[1:] in (["request", "ctx"], ["requests", "ctx"]):
            report.append(
                f"{where}:{fn.lineno}: {cls.name}.{name}: not an RPC of {service.full_name} any more "
                "(removed or renamed in the contract)"
            )
    return report


def _handler_problems(fn: ast.FunctionDef | ast.AsyncFunctionDef, expected: Handler) -> list[str]:
    if not isinstance(fn, ast.AsyncFunctionDef) or _is_generator(fn):
        return ["must be `async def` returning once"]
    params = (fn.args.posonlyargs + fn.args.args)[1:]
    if len(params) != 2:
        return [f"takes {len(params)} parameter(s) after self, expected 2 (payload, ctx)"]
    found = []
    payload = params[0].annotation
    if payload is not None and _members(payload) != _members(ast.parse(expected.payload, mode="eval").body):
        found.append(f"{params[0].arg} is annotated {ast.unparse(payload)}")
    if fn.returns is not None and _members(fn.returns) != _members(
        ast.parse(expected.returns, mode="eval").body
    ):
        found.append(f"returns {ast.unparse(fn.returns)}")
    return found


def _interface_drift(
    path: Path, protocol: str, impl: str, expected: list[Handler], kind: str, gone: str
) -> list[str]:
    """Every way the ``impl(protocol)`` class at ``path`` differs from ``expected``.

    Args:
        path: The user's stub module.
        protocol: The generated interface its class subclasses.
        impl: The class name the stub was written with.
        expected: The interface's handlers.
        kind: What one handler serves (``operation``, ``job``), for the lines.
        gone: What a method the contract no longer has is not any more
            (``a receive operation of Orders``).
    """
    where = str(path)
    found = _stub_class(where, path.read_text(encoding="utf-8"), protocol, impl)
    if isinstance(found, str):
        return [found]
    cls, defs = found
    report: list[str] = []
    for handler in expected:
        fn = defs.get(handler.python_name)
        if fn is None:
            what = f"{kind} {handler.operation}"
            report.append(_missing(where, cls, handler.python_name, what, handler.text))
            continue
        for problem in _handler_problems(fn, handler):
            report.append(f"{where}:{fn.lineno}: {cls.name}.{fn.name}: {problem}; expected: {handler.text}")
    names = {h.python_name for h in expected}
    for name, fn in defs.items():
        if name not in names and [a.arg for a in fn.args.args][1:] == ["payload", "ctx"]:
            report.append(
                f"{where}:{fn.lineno}: {cls.name}.{name}: not {gone} any more "
                "(removed or renamed in the contract)"
            )
    return report


def consumer_drift(app: Application, path: Path, import_name: str) -> list[str]:
    """Every way the consumer stub at ``path`` differs from ``app``'s receive operations.

    Args:
        app: The AsyncAPI document.
        path: The user's stub module.
        import_name: The generated package's import name.

    Returns:
        Lines ``file:line: Class.method: problem; expected: signature``; empty
        when the stub matches.
    """
    expected = app.handlers(stub_names(app, import_name))
    gone = f"a receive operation of {app.spec.title or app.package}"
    return _interface_drift(path, app.consumer, app.stub_class, expected, "operation", gone)


def jobs_drift(contract: JobsContract, path: Path) -> list[str]:
    """Every way the job handler module at ``path`` differs from ``contract``'s jobs.

    Returns:
        Lines ``file:line: Class.method: problem; expected: signature``; empty
        when the module matches.
    """
    expected = [
        Handler(
            snake(job.name),
            f"{job.name} ({contract.source}:{job.line})",
            jobs.payload_type(job),
            jobs.result_type(job),
            jobs.handler_signature(job),
        )
        for job in contract.jobs
    ]
    protocol = f"{contract.stem}Handlers"
    return _interface_drift(path, protocol, contract.stem, expected, "job", f"a job of {contract.name}")


def _binds(args: ast.arguments, keywords: tuple[str, ...]) -> bool:
    """Whether a method with ``args`` (``self`` first) can be called with exactly these keywords."""
    positional = [*args.posonlyargs, *args.args]
    first_default = len(positional) - len(args.defaults)
    # Each parameter after self: (it, whether it has a default, whether a keyword can fill it).
    params = [(a, i >= first_default, a not in args.posonlyargs) for i, a in enumerate(positional)][1:]
    params += [(a, d is not None, True) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    if args.kwarg is None and not set(keywords) <= {a.arg for a, _, keyword in params if keyword}:
        return False
    return all(default or (keyword and a.arg in keywords) for a, default, keyword in params)


def _annotation_problems(args: ast.arguments, expected: str) -> list[str]:
    """The parameters annotated otherwise than the ``async def ...:`` line ``expected`` (the
    document changed a parameter's type since the stub was written); unannotated ones pass."""
    signature = ast.parse(f"{expected} ...").body[0]
    assert isinstance(signature, ast.AsyncFunctionDef)
    wanted = {a.arg: _members(a.annotation) for a in signature.args.kwonlyargs}
    return [
        f"{a.arg} is annotated {ast.unparse(a.annotation)}"
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if a.annotation is not None and a.arg in wanted and _members(a.annotation) != wanted[a.arg]
    ]


def _members(annotation: ast.expr | None) -> frozenset[str]:
    """The types a union annotation names: ``X | None``, ``Optional[X]`` and ``Union[None, X]``
    are one; module prefixes and quotes aside."""
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _members(annotation.left) | _members(annotation.right)
    if isinstance(annotation, ast.Subscript):
        kind = _norm(annotation.value)
        if kind == "Optional":
            return _members(annotation.slice) | {"None"}
        if kind == "Union":
            parts = annotation.slice
            elements = parts.elts if isinstance(parts, ast.Tuple) else [parts]
            return frozenset().union(*map(_members, elements))
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            return _members(ast.parse(annotation.value, mode="eval").body)
        except SyntaxError:
            pass
    return frozenset({_norm(annotation)})


def handlers_drift(stub: HandlerStub, path: Path) -> list[str]:
    """Every way the OpenAPI handler module at ``path`` differs from its tag's operations.

    Returns:
        Lines ``file:line: Class.method: problem; expected: signature``; empty
        when the module matches.
    """
    where = str(path)
    found = _stub_class(where, path.read_text(encoding="utf-8"), stub.protocol, stub.impl)
    if isinstance(found, str):
        return [found]
    cls, defs = found
    report: list[str] = []
    for name, operation_id, text, keywords in stub.handlers:
        fn = defs.get(name)
        if fn is None:
            report.append(_missing(where, cls, name, f"operation {operation_id}", text))
        elif not isinstance(fn, ast.AsyncFunctionDef) or _is_generator(fn):
            report.append(
                f"{where}:{fn.lineno}: {cls.name}.{name}: must be `async def` returning once; "
                f"expected: {text}"
            )
        elif not _binds(fn.args, keywords):
            given = ", ".join(f"{k}=" for k in keywords)
            report.append(
                f"{where}:{fn.lineno}: {cls.name}.{name}: cannot be called with ({given}): its "
                f"parameters are ({ast.unparse(fn.args)}); expected: {text}"
            )
        else:
            report.extend(
                f"{where}:{fn.lineno}: {cls.name}.{name}: {problem}; expected: {text}"
                for problem in _annotation_problems(fn.args, text)
            )
    names = {name for name, *_ in stub.handlers}
    for name, fn in defs.items():
        # A handler's shape: public, async, keyword arguments only; helpers are left alone.
        shaped = isinstance(fn, ast.AsyncFunctionDef) and len(fn.args.args) == 1 and not fn.args.vararg
        if shaped and name not in names and not name.startswith("_"):
            report.append(
                f"{where}:{fn.lineno}: {cls.name}.{name}: not an operation of {stub.title} any more "
                "(removed or renamed in the document)"
            )
    return report


def _exports(files: dict[str, str], import_name: str) -> dict[str, str]:
    """The generated package's modules by import name, each with its ``__all__`` (names a user
    imports), from the files of one generation (paths relative to the package)."""
    modules: dict[str, str] = {import_name: ""}
    for relative, text in files.items():
        if not relative.endswith(".py"):
            continue
        parts = relative.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts.pop()
        for depth in range(1, len(parts)):
            modules.setdefault(".".join([import_name, *parts[:depth]]), "")
        module = ".".join([import_name, *parts])
        if _private(module):
            modules[module] = ""
            continue
        names = next(
            (
                node.value
                for node in ast.parse(text).body
                if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            ),
            None,
        )
        modules[module] = " ".join(ast.literal_eval(names)) if names is not None else ""
    return modules


def _private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split("."))


def import_drift(folder: Path, import_name: str, files: dict[str, str]) -> list[str]:
    """Imports, in the user's modules under ``folder``, of generated modules this generation no
    longer writes: their contract was removed, renamed, or moved to another proto package.

    Args:
        folder: The user's stub package.
        import_name: The generated package's import name (``shop.gen``).
        files: The generation's files, by path relative to the generated package.

    Returns:
        Lines ``file:line: imports M, which microlib codegen no longer writes (...)``, naming
        where the imported names are now when the generation still exports them.
    """
    modules = _exports(files, import_name)
    found: list[str] = []
    for path in sorted(folder.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError:
            continue  # the stub checks report it, where they read this file
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported = [(node.module, [alias.name for alias in node.names])]
            elif isinstance(node, ast.Import):
                imported = [(alias.name, []) for alias in node.names]
            else:
                continue
            for module, names in imported:
                if not module.startswith(f"{import_name}.") or module in modules:
                    continue
                moved: dict[str, list[str]] = {}
                for name in names:
                    for public, exported in modules.items():
                        if name in exported.split() and not _private(public):
                            moved.setdefault(public, []).append(name)
                where_now = "; ".join(f"{', '.join(n)} in {m}" for m, n in sorted(moved.items()))
                found.append(
                    f"{path}:{node.lineno}: imports {module}, which microlib codegen no longer writes "
                    + (
                        f"(its contract was renamed or moved: {where_now} now)"
                        if moved
                        else "(its contract was removed or renamed)"
                    )
                )
    return found
