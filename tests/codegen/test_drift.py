"""User stubs (written once) and the contract-drift report."""

from __future__ import annotations

from pathlib import Path

from tests.codegen.conftest import codegen


def _generate(contracts: Path, tmp_path: Path, *extra: str) -> tuple[str, str, int]:
    result = codegen(contracts, "--out", tmp_path / "gen", "--stubs", tmp_path / "services", *extra)
    return result.stdout, result.stderr, result.returncode


class TestStubs:
    def test_stubs_are_written_once_and_never_overwritten(self, tmp_path: Path, contracts: Path) -> None:
        """A stub per service appears on the first run; user edits survive the next run."""
        out, _, code = _generate(contracts, tmp_path)
        assert code == 0
        stub = tmp_path / "services" / "greeter_service.py"
        assert f"created stub {stub}" in out
        text = stub.read_text()
        assert "class GreeterServiceServicer(GreeterService):" in text
        assert 'raise Unimplemented("demo.v1.GreeterService/SayHello is not implemented yet")' in text
        edited = text.replace('raise Unimplemented("demo.v1.GreeterService/SayHello is not implemented yet")',
                              "return SayHelloResponse(message=request.name)")  # fmt: skip
        stub.write_text(edited)
        out, err, code = _generate(contracts, tmp_path)
        assert code == 0
        assert "created stub" not in out
        assert "drift" not in err
        assert stub.read_text() == edited


class TestDrift:
    def test_added_rpc_is_reported_with_the_expected_signature(self, tmp_path: Path, contracts: Path) -> None:
        """After an RPC is added the report names file, class, method and the signature to write."""
        assert _generate(contracts, tmp_path)[2] == 0
        proto = contracts / "demo" / "v1" / "greeter.proto"
        proto.write_text(
            proto.read_text().replace(
                "rpc SayHello(SayHelloRequest) returns (SayHelloResponse);",
                "rpc SayHello(SayHelloRequest) returns (SayHelloResponse);\n"
                "  rpc StreamHellos(SayHelloRequest) returns (stream SayHelloResponse);",
            )
        )
        _, err, code = _generate(contracts, tmp_path)
        assert code == 0
        stub = tmp_path / "services" / "greeter_service.py"
        assert (
            f"drift: {stub}:16: GreeterServiceServicer.stream_hellos: missing (RPC StreamHellos was added; "
            "it answers UNIMPLEMENTED until written); expected: def stream_hellos(self, "
            "request: SayHelloRequest, ctx: CallContext) -> AsyncIterator[SayHelloResponse]:"
        ) in err

    def test_removed_and_changed_rpcs_are_reported(self, tmp_path: Path, contracts: Path) -> None:
        """A stub method whose RPC is gone, or whose types changed, is named with what is expected now."""
        assert _generate(contracts, tmp_path)[2] == 0
        proto = contracts / "demo" / "v1" / "greeter.proto"
        text = proto.read_text().replace(
            "rpc SayHello(SayHelloRequest) returns (SayHelloResponse);",
            "rpc Greet(SayHelloRequest) returns (SayHelloResponse);",
        )
        proto.write_text(text)
        stub = tmp_path / "services" / "bookshop_service.py"
        before = "async def get_book(self, request: GetBookRequest"
        stub.write_text(stub.read_text().replace(before, before.replace("GetBook", "ListBooks")))
        _, err, _ = _generate(contracts, tmp_path)
        greeter = tmp_path / "services" / "greeter_service.py"
        assert f"{greeter}:" in err
        assert "GreeterServiceServicer.say_hello: not an RPC of demo.v1.GreeterService" in err
        assert "GreeterServiceServicer.greet: missing (RPC Greet was added" in err
        assert (
            "BookshopServiceServicer.get_book: request is annotated ListBooksRequest; expected: "
            "async def get_book(self, request: GetBookRequest, ctx: CallContext) -> Book:"
        ) in err

    def test_check_reports_drift_without_writing(self, tmp_path: Path, contracts: Path) -> None:
        """--check also reports stubs that are missing, and creates none."""
        result = codegen(contracts, "--out", tmp_path / "gen", "--stubs", tmp_path / "services", "--check")
        assert result.returncode == 1
        assert "missing stub for demo.v1.GreeterService" in result.stderr
        assert not (tmp_path / "services").exists()
