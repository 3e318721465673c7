"""The spec tells the truth about errors: every /v1 operation documents the error answers it can give,
all with the one shared error schema."""

from __future__ import annotations

from pathlib import Path

from support import make_settings

from app.main import create_app


def test_every_v1_operation_documents_its_errors(tmp_path: Path) -> None:
    spec = create_app(make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")).openapi()
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    assert spec["components"]["schemas"]["ErrorResponse"]["required"] == ["error"]
    checked = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = {int(c) for c in op["responses"] if c[0] == "4"}
            for code in codes:
                assert op["responses"][str(code)]["content"]["application/json"]["schema"] == error, (
                    path,
                    code,
                )
            if not path.startswith("/v1"):
                continue
            checked += 1
            assert {401, 429} <= codes, (method, path)
            if "requestBody" in op:
                assert {400, 413, 422} <= codes, (method, path)
            if "{" in path:
                assert 404 in codes, (method, path)
    assert checked >= 20
    answers = spec["paths"]["/v1/interviews/{interview_id}/answers"]["post"]["responses"]
    assert {"409", "413", "415"} <= set(answers)
    assert "403" in spec["paths"]["/v1/keys"]["post"]["responses"]
