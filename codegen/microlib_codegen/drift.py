"""Contract drift: how a user stub no longer matches its service.

The stub module is parsed with :mod:`ast`, never imported, so a broken or
slow-to-import module still gets a report.
"""

from __future__ import annotations

import ast
import re

from microlib_codegen._signatures import ServerSignature, server_signature
from microlib_codegen.stubs import Stub, stub_class

__all__ = ["stub_drift"]

_QUALIFIED = re.compile(r"\b(?:\w+\.)+(\w+)")


def _norm(annotation: ast.expr | None) -> str:
    if annotation is None:
        return ""
    text = ast.unparse(annotation).replace("'", "").replace('"', "")
    return _QUALIFIED.sub(r"\1", text).replace(" ", "")


def _is_generator(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(node, ast.Yield | ast.YieldFrom) for node in ast.walk(fn))


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
    try:
        tree = ast.parse(source, filename=where)
    except SyntaxError as exc:
        return [f"{where}:{exc.lineno}: cannot check the stub: {exc.msg}"]
    service = stub.service
    cls = _find_class(tree, service.name)
    if cls is None:
        return [
            f"{where}: no class subclasses {service.name} (expected {stub_class(service)}({service.name}))"
        ]
    defs = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    report: list[str] = []
    rpc_names = set()
    for method in service.methods:
        rpc_names.add(method.python_name)
        expected = server_signature(method, stub.names[method.input], stub.names[method.output])
        fn = defs.get(method.python_name)
        if fn is None:
            report.append(
                f"{where}:{cls.lineno}: {cls.name}.{method.python_name}: missing (RPC {method.name} "
                f"was added; it answers UNIMPLEMENTED until written); expected: {expected.text}"
            )
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
