"""The public API is what ``pinning/__init__.py`` exports, and ``import pinning`` loads only the
library: no command line, benchmark harness or optional integration."""

from __future__ import annotations

import json
import subprocess
import sys

import pinning

PUBLIC = [
    "BACKEND",
    "CertificateError",
    "DigestError",
    "HttpReporter",
    "LoggingReporter",
    "NotPinnableError",
    "OutcomeCounts",
    "Pin",
    "PinFailure",
    "PinMismatch",
    "PinPolicy",
    "PinRule",
    "PinningWarning",
    "PolicyError",
    "PolicyFile",
    "PolicyMetrics",
    "Status",
    "create_default_context",
    "find_pin_mismatch",
    "pin_context",
    "pinned_policy",
    "spki",
    "spki_sha256",
    "spki_sha256_many",
]


def test_the_public_names_are_exactly_these() -> None:
    assert sorted(pinning.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(pinning, name) is not None


def test_import_pinning_loads_no_command_line_and_no_optional_integration() -> None:
    code = "import json, sys, pinning; print(json.dumps(sorted(sys.modules)))"
    loaded = set(
        json.loads(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
            ).stdout
        )
    )
    assert not {name for name in loaded if name.startswith("pinning.cli")}
    for name in (
        "pinning.requests",
        "pinning.tls.requests",
        "requests",
        "truststore",
        "gevent",
        "eventlet",
        "urllib3",
        "httpx",
        "aiohttp",
        "pinning.twisted",
        "pinning.tls.twisted",
        "twisted",
        "OpenSSL",
        "service_identity",
        "pinning.dynamic",
        "tuf",
        "securesystemslib",
        "prometheus_client",
        "opentelemetry",
        "pinning.report.prometheus",
        "pinning.report.otel",
    ):
        assert name not in loaded, name
    for layer in ("core", "policy", "sources", "report", "tls"):
        assert f"pinning.{layer}" in loaded


def test_policy_loaders_are_registered_by_import_pinning() -> None:
    pins = ", ".join(f'"{pinning.Pin(bytes([n]) * 32)}"' for n in (1, 2))
    policy = pinning.PinPolicy.loads(f'[[rule]]\nhosts = ["example.com"]\npins = [{pins}]\n')
    assert policy.rule_for("example.com") is not None
