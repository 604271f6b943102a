"""PinPolicy.from_android_nsc: the pin sets of an Android network_security_config.xml."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import warnings
from pathlib import Path

import pytest
from _certs import Chain, make_chain

from pinning import PinPolicy
from pinning.core.errors import PinningWarning, PolicyError
from pinning.policy.failure import PinMismatch
from pinning.policy.pins import Pin
from pinning.sources.nsc import to_android_nsc

UTC = dt.timezone.utc


@pytest.fixture(autouse=True)
def _each_backend(active_backend: str) -> str:
    return active_backend


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_chain("api.example.com")


def b64(pin: Pin) -> str:
    return base64.b64encode(pin.digest).decode()


OTHER = Pin(bytes(range(32)))
BACKUP = Pin(bytes(range(32, 64)))
OLD = Pin(bytes([7]) * 32)


def realistic(chain: Chain) -> str:
    """A config as apps ship them: a base config, pinned API domains with a nested domain-config
    that inherits the pins, one with its own (expired) pin set, an unpinned cleartext domain,
    debug overrides, and the odd tools: attribute."""
    leaf, intermediate = chain.pins[0], chain.pins[1]
    return f"""\
<?xml version="1.0" encoding="utf-8"?>
<!-- res/xml/network_security_config.xml -->
<network-security-config xmlns:tools="http://schemas.android.com/tools">
    <base-config cleartextTrafficPermitted="false">
        <trust-anchors>
            <certificates src="system" />
        </trust-anchors>
    </base-config>

    <domain-config cleartextTrafficPermitted="false">
        <domain includeSubdomains="true">example.com</domain>
        <domain>api.example.net</domain>
        <pin-set expiration="2999-01-01">
            <!-- the issuing CA's key, and a backup key held offline -->
            <pin digest="SHA-256">{b64(intermediate)}</pin>
            <pin digest="SHA-256">
                {b64(BACKUP)}
            </pin>
        </pin-set>
        <trust-anchors>
            <certificates src="@raw/extra_ca" overridePins="false" />
        </trust-anchors>

        <domain-config>
            <domain>api.example.com</domain>
            <certificateTransparency enabled="true" />
        </domain-config>

        <domain-config tools:ignore="InsecureBaseConfiguration">
            <domain>legacy.example.com</domain>
            <pin-set expiration="2018-01-01">
                <pin digest="SHA-256">{b64(OLD)}</pin>
                <pin digest="SHA-256">{b64(BACKUP)}</pin>
            </pin-set>
        </domain-config>
    </domain-config>

    <domain-config>
        <domain includeSubdomains="true">cdn.example.org</domain>
        <pin-set>
            <pin digest="SHA-256">{b64(leaf)}</pin>
            <pin digest="SHA-256">{b64(OTHER)}</pin>
        </pin-set>
    </domain-config>

    <domain-config cleartextTrafficPermitted="true">
        <domain includeSubdomains="true">intranet.test</domain>
    </domain-config>

    <debug-overrides>
        <trust-anchors>
            <certificates src="user" />
        </trust-anchors>
    </debug-overrides>
</network-security-config>
"""


def write(tmp_path: Path, text: str, name: str = "network_security_config.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_realistic_config(tmp_path: Path, chain: Chain) -> None:
    policy = PinPolicy.from_android_nsc(write(tmp_path, realistic(chain)))
    api = frozenset({chain.pins[1], BACKUP})
    later = dt.datetime(2999, 1, 1, tzinfo=UTC)
    rules = {rule.pattern: (rule.pins, rule.expires) for rule in policy.rules}
    assert rules == {
        "**.example.com": (api, later),
        "api.example.net": (api, later),
        "api.example.com": (api, later),  # a nested domain-config inherits the pin set
        "legacy.example.com": (frozenset({OLD, BACKUP}), dt.datetime(2018, 1, 1, tzinfo=UTC)),
        "**.cdn.example.org": (frozenset({chain.pins[0], OTHER}), None),
    }
    assert policy.enforce is True
    assert policy.strict is False
    assert policy.expires is None
    assert policy.pins_for("intranet.test") is None  # no pin set: not pinned
    assert policy.pins_for("www.intranet.test") is None


def test_the_imported_policy_checks_chains(
    tmp_path: Path, chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    policy = PinPolicy.from_android_nsc(write(tmp_path, realistic(chain)))
    policy.check("api.example.com", chain.certs)  # the intermediate's key is pinned
    policy.check("static.cdn.example.org", chain.certs)  # the leaf's key is pinned
    with pytest.raises(PinMismatch):
        policy.check("api.example.com", [chain.leaf])  # the pinned CA is not in this chain
    with caplog.at_level(logging.WARNING, logger="pinning"):
        policy.check("legacy.example.com", chain.certs)  # expired in 2018: not enforced
    assert "'legacy.example.com' expired at 2018-01-01" in caplog.text
    policy.check("intranet.test", chain.certs)


def test_a_path_as_str(tmp_path: Path, chain: Chain) -> None:
    path = write(tmp_path, realistic(chain))
    assert len(PinPolicy.from_android_nsc(str(path)).rules) == 5


def test_reporter(tmp_path: Path, chain: Chain) -> None:
    seen: list[object] = []
    policy = PinPolicy.from_android_nsc(write(tmp_path, realistic(chain)), reporter=seen.append)
    with pytest.raises(PinMismatch):
        policy.check("api.example.com", [chain.leaf])
    assert len(seen) == 1


def test_unpadded_base64_is_read_as_android_reads_it(tmp_path: Path) -> None:
    text = b64(OTHER).rstrip("=")
    path = write(
        tmp_path,
        f"""<network-security-config><domain-config><domain>a.example</domain>
<pin-set><pin digest="SHA-256">{text}</pin><pin digest="SHA-256">{b64(BACKUP)}</pin></pin-set>
</domain-config></network-security-config>""",
    )
    assert PinPolicy.from_android_nsc(path).pins_for("a.example") == frozenset({OTHER, BACKUP})


def test_single_pin_warns_at_the_pin_set(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""<network-security-config>
  <domain-config>
    <domain>a.example</domain>
    <pin-set><pin digest="SHA-256">{b64(OTHER)}</pin></pin-set>
  </domain-config>
</network-security-config>""",
    )
    with pytest.warns(PinningWarning) as record:
        PinPolicy.from_android_nsc(path)
    assert [str(w.message) for w in record] == [
        f"{path}:4: the <pin-set> of a.example has a single pin and no backup pin: losing that "
        "key locks the app out"
    ]
    assert (record[0].filename, record[0].lineno) == (str(path), 4)


def test_unknown_elements_are_skipped_as_android_does_with_a_warning(tmp_path: Path) -> None:
    # A misspelt <pin-set> pins nothing on the phone either: say so, do not invent pins.
    path = write(
        tmp_path,
        f"""<network-security-config>
  <domain-config>
    <domain>a.example</domain>
    <pinset><pin digest="SHA-256">{b64(OTHER)}</pin></pinset>
  </domain-config>
  <domain-config>
    <domain>b.example</domain>
    <pin-set><pin digest="SHA-256">{b64(OTHER)}</pin><pin digest="SHA-256">{b64(BACKUP)}</pin>
    </pin-set>
  </domain-config>
</network-security-config>""",
    )
    with pytest.warns(PinningWarning) as record:
        policy = PinPolicy.from_android_nsc(path)
    assert [str(w.message) for w in record] == [
        f"{path}:4: unknown element <pinset> in <domain-config> skipped, as Android skips it"
    ]
    assert policy.pins_for("a.example") is None
    assert policy.pins_for("b.example") == frozenset({OTHER, BACKUP})


# -- refused configs: the exact error of each --------------------------------------------------

PIN = f'<pin digest="SHA-256">{b64(OTHER)}</pin><pin digest="SHA-256">{b64(BACKUP)}</pin>'


def config(body: str) -> str:
    return f"<network-security-config>\n{body}\n</network-security-config>\n"


def domain_config(inner: str) -> str:
    return config(f"<domain-config>\n{inner}\n</domain-config>")


BAD = [
    # XML that must never be expanded or fetched.
    (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
        "<network-security-config>&lol2;</network-security-config>",
        ":2: a document type declaration (DTD) is refused: entities are not allowed",
    ),
    (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>\n'
        "<network-security-config>&ext;</network-security-config>",
        ":2: a document type declaration (DTD) is refused: entities are not allowed",
    ),
    (
        '<!DOCTYPE network-security-config SYSTEM "http://example.com/nsc.dtd">\n'
        "<network-security-config/>",
        ":1: a document type declaration (DTD) is refused: entities are not allowed",
    ),
    (
        "<network-security-config>&ent;</network-security-config>",
        ":1: not well-formed XML: undefined entity",
    ),
    # Not XML, or not this XML.
    ("", ":1: not well-formed XML: no element found"),
    (
        config("<domain-config>\n</network-security-config>"),
        ":3: not well-formed XML: mismatched tag",
    ),
    ("<manifest/>", ":1: the root element is <manifest>, not <network-security-config>"),
    # What Android refuses.
    (
        domain_config(
            '<domain>a.example</domain>\n<pin-set><pin digest="SHA-1">AAAA</pin></pin-set>'
        ),
        ":4: <pin> digest 'SHA-1' is not supported: only 'SHA-256' is",
    ),
    (
        domain_config(f"<domain>a.example</domain>\n<pin-set><pin>{b64(OTHER)}</pin></pin-set>"),
        ":4: <pin> digest none is not supported: only 'SHA-256' is",
    ),
    (
        domain_config(
            '<domain>a.example</domain>\n<pin-set><pin digest="SHA-256">@@@@</pin></pin-set>'
        ),
        ":4: <pin> '@@@@' is not valid base64",
    ),
    (
        domain_config(
            '<domain>a.example</domain>\n<pin-set><pin digest="SHA-256">AAAA</pin></pin-set>'
        ),
        ":4: <pin> 'AAAA' decodes to 3 bytes; a SHA-256 digest is 32",
    ),
    (
        domain_config(
            f'<domain>a.example</domain>\n<pin-set expiration="2018-13-01">{PIN}</pin-set>'
        ),
        ":4: <pin-set expiration='2018-13-01'>: not a valid yyyy-MM-dd date",
    ),
    (
        domain_config(
            f'<domain>a.example</domain>\n<pin-set expiration="01/01/2018">{PIN}</pin-set>'
        ),
        ":4: <pin-set expiration='01/01/2018'>: not a valid yyyy-MM-dd date",
    ),
    (
        domain_config(
            f"<domain>a.example</domain>\n<pin-set>{PIN}</pin-set>\n<pin-set>{PIN}</pin-set>"
        ),
        ":5: only one <pin-set> is allowed in <domain-config>",
    ),
    (
        domain_config(f"<domain>a.example</domain>\n<pin-set>{PIN}</pin-set>").replace(
            "</network", "<domain-config><domain>A.Example</domain></domain-config>\n</network"
        ),
        ":6: <domain> a.example is already given on line 3",
    ),
    (
        domain_config(f"<pin-set>{PIN}</pin-set>"),
        ":2: <domain-config> has no <domain>",
    ),
    (
        config(f"<base-config><pin-set>{PIN}</pin-set></base-config>"),
        ":2: <pin-set> is not allowed in <base-config>",
    ),
    (
        config("<base-config><domain>a.example</domain></base-config>"),
        ":2: <domain> is not allowed in <base-config>",
    ),
    (
        config(
            "<debug-overrides><domain-config><domain>a</domain></domain-config></debug-overrides>"
        ),
        ":2: <domain-config> cannot be nested in <debug-overrides>",
    ),
    (
        config("<base-config/>\n<base-config/>"),
        ":3: only one <base-config> is allowed",
    ),
    (
        domain_config(
            f'<domain includeSubdomains="yes">a.example</domain><pin-set>{PIN}</pin-set>'
        ),
        ":3: includeSubdomains='yes': expected 'true' or 'false'",
    ),
    (
        domain_config(f"<domain>  </domain><pin-set>{PIN}</pin-set>"),
        ":3: <domain> holds no domain name",
    ),
    (
        domain_config(f"<domain>a.example<b/></domain><pin-set>{PIN}</pin-set>"),
        ":3: <domain> holds text only, not <b>",
    ),
    (
        domain_config(f"<domain>*.example.com</domain><pin-set>{PIN}</pin-set>"),
        ":3: <domain> '*.example.com' is a host name, not a pattern: use includeSubdomains",
    ),
    (
        domain_config(f"<domain>a..example</domain><pin-set>{PIN}</pin-set>"),
        ":3: <domain>: malformed host pattern 'a..example': empty label",
    ),
    # What a policy cannot express: Android leaves these unpinned below a pinned wildcard.
    (
        config(
            f'<domain-config><domain includeSubdomains="true">example.com</domain>\n'
            f"<pin-set>{PIN}</pin-set>\n"
            "<domain-config><domain>static.example.com</domain><pin-set/></domain-config>\n"
            "</domain-config>"
        ),
        ":4: <domain> static.example.com has no pins, but it is below the pinned <domain "
        'includeSubdomains="true"> example.com (line 2): Android does not pin it and a policy '
        "cannot exempt it; give its <domain-config> the pin set, or leave it out",
    ),
    (
        config(
            f'<domain-config><domain includeSubdomains="true">example.com</domain>\n'
            f"<pin-set>{PIN}</pin-set></domain-config>\n"
            '<domain-config><domain includeSubdomains="true">cdn.example.com</domain>\n'
            "</domain-config>"
        ),
        ":4: <domain> cdn.example.com has no pins, but it is below the pinned <domain "
        'includeSubdomains="true"> example.com (line 2): Android does not pin it and a policy '
        "cannot exempt it; give its <domain-config> the pin set, or leave it out",
    ),
    (
        config("<domain-config><domain>a.example</domain></domain-config>"),
        ": no <domain-config> has a <pin-set> with pins: nothing to import",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_refused(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        PinPolicy.from_android_nsc(path)
    assert str(info.value) == f"{path}{message}"
    assert "\n" not in str(info.value)


def test_nesting_is_bounded(tmp_path: Path) -> None:
    inner = f"<domain>d.example</domain><pin-set>{PIN}</pin-set>"
    for depth in range(100):
        inner = f"<domain-config><domain>d{depth}.example</domain>{inner}</domain-config>"
    path = write(tmp_path, config(inner))
    with pytest.raises(PolicyError, match="nested over 64 deep"):
        PinPolicy.from_android_nsc(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PinPolicy.from_android_nsc(tmp_path / "absent.xml")


# -- to_android_nsc: a policy written as a Network Security Config, and read back ---------------


def rules_of(policy: PinPolicy) -> set[tuple[str, frozenset[Pin], dt.datetime | None]]:
    return {(rule.pattern, rule.pins, rule.expires) for rule in policy.rules}


def round_trip(tmp_path: Path, policy: PinPolicy) -> PinPolicy:
    path = tmp_path / "network_security_config.xml"
    path.write_text(to_android_nsc(policy), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinningWarning)  # single pins: warned on both sides
        return PinPolicy.from_android_nsc(path)


def export_cases(chain: Chain) -> dict[str, PinPolicy]:
    leaf, intermediate = chain.pins[0], chain.pins[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinningWarning)
        return {
            "one host": PinPolicy({"api.example.com": [leaf, BACKUP]}),
            "include subdomains, policy expiry": PinPolicy(
                {("example.com", "**.cdn.example.com"): [intermediate, BACKUP]},
                expires=dt.date(2031, 5, 17),
            ),
            "several rules, own expiries": PinPolicy(
                [
                    (
                        ["api.example.com", "**.apis.example.com"],
                        [leaf, BACKUP],
                        dt.date(2030, 1, 2),
                    ),
                    ("**.example.org", [intermediate, OTHER]),
                    ("legacy.example.net", [OLD, BACKUP], dt.date(2018, 1, 1)),
                    ("single.example.net", [OLD]),
                ],
                expires=dt.datetime(2032, 1, 1, tzinfo=UTC),
            ),
            "same pins, two rules": PinPolicy(
                [("a.example", [OTHER, BACKUP]), ("b.example", [BACKUP, OTHER])]
            ),
        }


@pytest.mark.parametrize(
    "name",
    [
        "one host",
        "include subdomains, policy expiry",
        "several rules, own expiries",
        "same pins, two rules",
    ],
)
def test_export_reads_back_to_the_same_rules(tmp_path: Path, chain: Chain, name: str) -> None:
    policy = export_cases(chain)[name]
    back = round_trip(tmp_path, policy)
    assert rules_of(back) == rules_of(policy)
    assert (back.enforce, back.strict) == (True, False)
    assert to_android_nsc(back) == to_android_nsc(policy)  # and back again, to the same text


def test_exported_policy_pins_as_the_original(tmp_path: Path, chain: Chain) -> None:
    policy = export_cases(chain)["several rules, own expiries"]
    back = round_trip(tmp_path, policy)
    for pinned in (policy, back):
        pinned.check("api.example.com", chain.certs)
        pinned.check("v2.apis.example.com", chain.certs)
        pinned.check("www.example.org", chain.certs)
        with pytest.raises(PinMismatch):
            pinned.check("api.example.com", [chain.root])
        with pytest.raises(PinMismatch):
            pinned.check("single.example.net", chain.certs)


def test_export_is_the_xml_android_reads(chain: Chain) -> None:
    text = to_android_nsc(export_cases(chain)["include subdomains, policy expiry"])
    assert text.splitlines()[0] == '<?xml version="1.0" encoding="utf-8"?>'
    assert '<domain includeSubdomains="false">example.com</domain>' in text
    assert '<domain includeSubdomains="true">cdn.example.com</domain>' in text
    assert '<pin-set expiration="2031-05-17">' in text
    assert f'<pin digest="SHA-256">{b64(BACKUP)}</pin>' in text
    assert text.count("<domain-config>") == 1  # one pin set for both domains


@pytest.mark.parametrize(
    ("rules", "options", "message"),
    [
        ({"a.example": [OTHER, BACKUP]}, {"enforce": False}, "a report-only policy"),
        ({"a.example": [OTHER, BACKUP]}, {"strict": True}, "a strict policy"),
        ({"*.a.example": [OTHER, BACKUP]}, {}, r"'\*\.a\.example'.*matches one label exactly"),
        ({"*": [OTHER, BACKUP]}, {}, r"'\*' \(every host\) has no <domain>"),
        (
            {"a.example": [OTHER, BACKUP], "**.a.example": [OLD, BACKUP]},
            {},
            r"both <domain> a\.example.*merge them",
        ),
        (
            {"a.example": [OTHER, BACKUP]},
            {"expires": dt.datetime(2030, 1, 1, 12, tzinfo=UTC)},
            r"expires at 2030-01-01 12:00:00 UTC.*an expiration is a date",
        ),
    ],
)
def test_export_refuses_what_nsc_cannot_say(
    rules: dict[str, list[Pin]], options: dict[str, object], message: str
) -> None:
    policy = PinPolicy(rules, **options)  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match=message):
        to_android_nsc(policy)
