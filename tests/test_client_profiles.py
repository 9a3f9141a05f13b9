"""Client profiles as data: TOML files read and validated like policies (issue 12).

A client nobody wrote Python for is one TOML file, selected by a step (relative to the
feature, inside its folder tree) or by a policy's ``[client] profile`` (relative to the
policy); a bad file is a one-line error naming the file, the key, what was expected and
what was found.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from engine._internal.toml_schema import MAX_TOML_NESTING
from engine.cli.commands import main
from engine.cms.algorithms import ContentCipher
from engine.mail.profile import (
    BUILTIN,
    OUTLOOK98,
    PROFILES,
    SCHEMA,
    THUNDERBIRD,
    ClientProfile,
    Fallback,
    ProfileError,
    Source,
    load_profile,
    load_profile_file,
    profile_from_text,
)
from engine.policy.document import PolicyError, load_policy, load_policy_file
from tests.conftest import smime_harness

GOLDEN = Path(__file__).resolve().parent / "golden" / "policy"
ALL_SOURCES = (Source.DIRECTORY, Source.CONTACTS, Source.REPLY)

# A client described without Python: every key, no ``extends``.
APPLEMAIL = """\
name = "applemail"
description = "Refuses where Outlook 98 prompts; no processing delay"
lookup_order = ["contacts", "directory"]
when_none_usable = "refuse"
when_some_usable = "refuse"
require_trusted_recipient = true
encrypt_to_self = false
auto_capture = false
processing_delay_minutes = 0
opaque_inside_encryption = false
capabilities = ["aes-128-gcm", "aes-256-cbc"]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- the built-in profiles are the TOML files, with the values the Python constants had ---


def test_the_built_in_profiles_are_the_toml_files_with_their_former_values() -> None:
    folder = resources.files("engine.mail").joinpath("profiles")
    assert BUILTIN == ("outlook98", "thunderbird")
    assert sorted(e.name for e in folder.iterdir() if e.name.endswith(".toml")) == [
        "outlook98.toml",
        "thunderbird.toml",
    ]
    assert tuple(PROFILES) == BUILTIN
    assert (
        ClientProfile(
            name="outlook98",
            lookup_order=ALL_SOURCES,
            when_none_usable=Fallback.PROMPT,
            when_some_usable=Fallback.PROMPT,
            auto_capture=False,
            processing_delay=dt.timedelta(minutes=5),
            encrypt_to_self=True,
            opaque_inside_encryption=True,
            require_trusted_recipient=True,
            capabilities=(
                ContentCipher.AES_256_CBC,
                ContentCipher.AES_128_CBC,
                ContentCipher.DES_EDE3_CBC,
            ),
        )
        == OUTLOOK98
    )
    assert (
        ClientProfile(
            name="thunderbird",
            lookup_order=ALL_SOURCES,
            when_none_usable=Fallback.REFUSE,
            when_some_usable=Fallback.REFUSE,
            auto_capture=True,
            processing_delay=dt.timedelta(0),
            encrypt_to_self=True,
            opaque_inside_encryption=False,
            require_trusted_recipient=True,
            capabilities=(
                ContentCipher.AES_256_GCM,
                ContentCipher.AES_128_GCM,
                ContentCipher.AES_256_CBC,
                ContentCipher.AES_128_CBC,
            ),
        )
        == THUNDERBIRD
    )
    # Each built-in file reads through the public loader too, by name or by path.
    for name in BUILTIN:
        path = Path(str(folder.joinpath(f"{name}.toml")))
        assert load_profile_file(path) == PROFILES[name] == load_profile(f" {name.upper()} ")


def test_a_profile_file_sets_every_field(tmp_path: Path) -> None:
    profile = load_profile_file(write(tmp_path / "applemail.toml", APPLEMAIL))
    assert profile == ClientProfile(
        name="applemail",
        lookup_order=(Source.CONTACTS, Source.DIRECTORY),
        when_none_usable=Fallback.REFUSE,
        when_some_usable=Fallback.REFUSE,
        auto_capture=False,
        processing_delay=dt.timedelta(0),
        encrypt_to_self=False,
        opaque_inside_encryption=False,
        require_trusted_recipient=True,
        capabilities=(ContentCipher.AES_128_GCM, ContentCipher.AES_256_CBC),
    )


def test_a_profile_may_extend_a_built_in_one(tmp_path: Path) -> None:
    text = 'extends = "outlook98"\nname = "patient"\nprocessing_delay_minutes = 60\n'
    profile = load_profile_file(write(tmp_path / "patient.toml", text))
    assert profile == dataclasses.replace(
        OUTLOOK98, name="patient", processing_delay=dt.timedelta(hours=1)
    )


# --- a bad profile file is one line naming file, key, expected and found ---------------------

BAD = [
    (
        APPLEMAIL.replace("auto_capture", "auto_captures"),
        "auto_captures: expected one of the keys name, description, extends, lookup_order, "
        "when_none_usable, when_some_usable, require_trusted_recipient, encrypt_to_self, "
        "auto_capture, processing_delay_minutes, opaque_inside_encryption, capabilities, "
        "found unknown key 'auto_captures' (did you mean 'auto_capture'?)",
    ),
    (
        APPLEMAIL.replace('when_none_usable = "refuse"', 'when_none_usable = "ask"'),
        "when_none_usable: expected one of prompt, refuse, found 'ask'",
    ),
    (
        APPLEMAIL.replace("encrypt_to_self = false", 'encrypt_to_self = "no"'),
        "encrypt_to_self: expected true or false, found string 'no'",
    ),
    (
        APPLEMAIL.replace("processing_delay_minutes = 0", "processing_delay_minutes = -5"),
        "processing_delay_minutes: expected an integer >= 0 and <= 10080, found -5",
    ),
    (
        APPLEMAIL.replace('capabilities = ["aes-128-gcm", "aes-256-cbc"]', "capabilities = []"),
        "capabilities: expected a non-empty list of distinct values from ",
    ),
    (
        APPLEMAIL.replace('"aes-128-gcm", "aes-256-cbc"', '"aes-128-gcm", "rc2-40"'),
        "capabilities[1]: expected a non-empty list of distinct values from ",
    ),
    (
        APPLEMAIL.replace('lookup_order = ["contacts", "directory"]\n', ""),
        "lookup_order: expected a non-empty list of distinct values from directory, contacts, "
        "reply, found nothing (the key is missing)",
    ),
    (
        APPLEMAIL.replace('name = "applemail"', 'name = "  "'),
        "name: expected a non-empty one-line name, found '  '",
    ),
    (
        APPLEMAIL.replace("auto_capture = false", "auto_capture = flase"),
        "line 8, column 16: expected valid TOML, found invalid value",
    ),
    (
        "name = " + "[" * (MAX_TOML_NESTING + 1) + "]" * (MAX_TOML_NESTING + 1) + "\n",
        f"line 1: expected arrays and tables nested at most {MAX_TOML_NESTING} levels deep",
    ),
    (
        'extends = "outlook2000"\nname = "x"\n',
        "extends: expected one of outlook98, thunderbird, found 'outlook2000'",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_a_bad_profile_file_is_a_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)
    assert caught.value.file == str(path)


def test_an_unreadable_profile_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"missing.toml: \(file\): expected a client profile"):
        load_profile_file(tmp_path / "missing.toml")
    (tmp_path / "latin1.toml").write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ProfileError, match="expected UTF-8 TOML text, found undecodable bytes"):
        load_profile_file(tmp_path / "latin1.toml")
    with pytest.raises(ValueError, match=r"outlook98, thunderbird\) or a .toml file, found 'x'"):
        load_profile("x")
    with pytest.raises(ValueError, match="built-in outlook98"):
        profile_from_text("name = 1\n", file="built-in outlook98")


# --- a policy selects a profile by name or by a file beside it -------------------------------

POLICY = """\
extends = "outlook98"
name = "apple-shop"
[client]
profile = "{profile}"
"""


def test_a_policy_selects_a_profile_file_relative_to_itself(tmp_path: Path) -> None:
    write(tmp_path / "org" / "clients" / "applemail.toml", APPLEMAIL)
    policy = load_policy_file(
        write(tmp_path / "org" / "policy.toml", POLICY.format(profile="clients/applemail.toml"))
    )
    assert policy.client.profile == "clients/applemail.toml"
    profile = policy.client_profile()
    # The profile's own behaviour, with the policy's delay, fallback and ciphers on top.
    assert profile.name == "applemail"
    assert profile.lookup_order == (Source.CONTACTS, Source.DIRECTORY)
    assert profile.encrypt_to_self is False and profile.opaque_inside_encryption is False
    assert profile.processing_delay == dt.timedelta(minutes=5)  # outlook98 policy's [client]
    assert profile.when_none_usable is Fallback.PROMPT
    assert profile.capabilities == (ContentCipher.AES_256_CBC, ContentCipher.AES_128_GCM)
    # From another working folder, through load_policy, the path is still the policy's.
    assert load_policy("policy.toml", base_dir=tmp_path / "org").client_profile() == profile


def test_a_bad_profile_reference_in_a_policy_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_file(write(tmp_path / "p.toml", POLICY.format(profile="applemail")))
    assert str(caught.value) == (
        f"{tmp_path / 'p.toml'}: client.profile: expected a built-in client profile "
        "(outlook98, thunderbird) or a .toml file, found 'applemail'"
    )
    write(tmp_path / "bad.toml", APPLEMAIL.replace("false", "0", 1))
    with pytest.raises(ProfileError, match=r"bad.toml: encrypt_to_self: expected true or false"):
        load_policy_file(write(tmp_path / "q.toml", POLICY.format(profile="bad.toml")))
    with pytest.raises(ProfileError, match=r"gone.toml: \(file\): expected a client profile file"):
        load_policy_file(write(tmp_path / "r.toml", POLICY.format(profile="gone.toml")))


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        (
            "applemail",
            "client.profile: expected a built-in client profile (outlook98, thunderbird)",
        ),
        ("bad.toml", "bad.toml: when_none_usable: expected one of prompt, refuse, found 'ask'"),
        ("gone.toml", "gone.toml: (file): expected a client profile file, found no such file"),
    ],
)
def test_check_cert_exits_2_on_a_bad_policy_profile_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], profile: str, message: str
) -> None:
    write(tmp_path / "bad.toml", APPLEMAIL.replace('none_usable = "refuse"', 'none_usable = "ask"'))
    policy = write(tmp_path / "policy.toml", POLICY.format(profile=profile))
    code = main(["check-cert", str(GOLDEN / "enrolled.pem"), "--policy", str(policy)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err, captured.err


# --- scenarios: a TOML profile next to the feature changes the outcome ----------------------

BACKGROUND = """\
Feature: Another client
  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserC has a mailbox at Fabrikam but is not enrolled
    And UserA trusts Fabrikam's certificate authority

"""


def run(folder: Path, feature: str) -> subprocess.CompletedProcess[str]:
    write(folder / "case.feature", feature)
    return smime_harness("run", "case.feature", cwd=folder)


def test_a_profile_added_as_toml_alone_is_selected_by_a_scenario_and_changes_its_outcome(
    tmp_path: Path,
) -> None:
    write(tmp_path / "clients" / "applemail.toml", APPLEMAIL)
    # outlook98 with no processing delay: the contact is usable at once (KB-13 otherwise).
    write(
        tmp_path / "clients" / "eager.toml",
        'extends = "outlook98"\nname = "eager"\nprocessing_delay_minutes = 0\n',
    )
    write(
        tmp_path / "org" / "policy.toml",
        POLICY.format(profile="../clients/applemail.toml") + 'unenrolled_recipients = "refuse"\n',
    )
    feature = BACKGROUND + (
        "  Scenario: The article's client prompts\n"
        "    When UserA sends an encrypted message to UserC\n"
        '    Then the outcome is "prompt"\n\n'
        "  Scenario: The described client refuses\n"
        '    Given UserA uses the "clients/applemail.toml" profile\n'
        "    When UserA sends an encrypted message to UserC\n"
        "    Then the sending is refused because "
        '"no usable certificate for userc@fabrikam.example"\n\n'
        "  Scenario: Every client follows the described client\n"
        '    Given every client uses the "clients/applemail.toml" profile\n'
        "    When UserA sends an encrypted message to UserC\n"
        '    Then the outcome is "refused"\n\n'
        "  Scenario: A policy selects the described client\n"
        '    Given the organization policy "org/policy.toml"\n'
        "    And UserA is enrolled at Contoso\n"
        "    When UserA sends an encrypted message to UserC\n"
        '    Then the outcome is "refused"\n\n'
        "  Scenario Outline: The processing delay is the profile's\n"
        '    Given UserA uses the "<profile>" profile\n'
        "    When UserB sends a signed message to UserA\n"
        "    And UserA opens the last message from UserB\n"
        "    And UserA adds UserB to Contacts\n"
        "    And UserA sends an encrypted message to UserB\n"
        '    Then the outcome is "<outcome>"\n\n'
        "    Examples:\n"
        "      | profile            | outcome |\n"
        "      | outlook98          | prompt  |\n"
        "      | clients/eager.toml | sent    |\n"
    )
    result = run(tmp_path, feature)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout, result.stdout


def test_a_bad_profile_named_by_a_step_fails_that_scenario_with_the_one_line_error(
    tmp_path: Path,
) -> None:
    write(
        tmp_path / "features" / "clients" / "bad.toml",
        APPLEMAIL.replace('when_none_usable = "refuse"', 'when_none_usable = "ask"'),
    )
    write(
        tmp_path / "features" / "clients" / "broken.toml",
        APPLEMAIL.replace("auto_capture = false", "auto_capture = flase"),
    )
    write(tmp_path / "outside.toml", APPLEMAIL)
    write(
        tmp_path / "features" / "org" / "policy.toml", POLICY.format(profile="../../outside.toml")
    )
    feature = BACKGROUND + "".join(
        f"  Scenario: case {n}\n    Given {step}\n"
        "    When UserA sends an encrypted message to UserC\n"
        '    Then the outcome is "refused"\n\n'
        for n, step in enumerate(
            [
                'UserA uses the "clients/bad.toml" profile',
                'every client uses the "clients/broken.toml" profile',
                'UserA uses the "../outside.toml" profile',
                'the organization policy "org/policy.toml"',
                'UserA uses the "applemail" profile',
                'UserA uses the "thunderbird" profile',
            ]
        )
    )
    result = run(tmp_path / "features", feature)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 passed, 5 failed" in out, out
    assert "Traceback" not in out + result.stderr
    assert "bad.toml: when_none_usable: expected one of prompt, refuse, found 'ask'" in out
    assert "broken.toml: line 8, column 16: expected valid TOML, found invalid value" in out
    # A profile file outside the feature's folder tree is refused before it is read, whether
    # a step or a policy inside the tree names it.
    assert out.count("expected a client profile file inside") == 2, out
    assert "expected a client profile (outlook98, thunderbird) or a .toml file" in out


def test_steps_lists_the_built_in_profiles_as_the_placeholder_values() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "engine", "steps"], capture_output=True, text=True, check=True
    ).stdout
    assert listed.count("{profile}: outlook98 | thunderbird") == 2


def test_the_readme_profile_example_loads_and_documents_every_key(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("```toml\n# applemail.toml\n", 1)[1].split("```", 1)[0]
    profile = load_profile_file(write(tmp_path / "applemail.toml", block))
    assert profile == dataclasses.replace(THUNDERBIRD, name="applemail")
    keys = {line.split("=", 1)[0].strip() for line in block.splitlines() if "=" in line}
    assert keys == set(SCHEMA)


def test_a_built_in_profile_file_must_carry_its_own_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.mail.profile as module

    text = APPLEMAIL.replace('name = "applemail"', 'name = "outlook"')
    monkeypatch.setattr(module, "_builtin_text", lambda name: text)
    with pytest.raises(ProfileError) as caught:
        module.builtin_profile.__wrapped__("outlook98")
    assert str(caught.value) == ("built-in outlook98: name: expected 'outlook98', found 'outlook'")
