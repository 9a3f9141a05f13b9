"""The policy loader: built-in policies, files, and one-line errors (file, key, expected, found)."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from engine.cms.algorithms import ContentCipher, DigestAlgorithm
from engine.errors import InputError
from engine.mail.profile import Fallback
from engine.policy.document import (
    BUILTIN,
    DEFAULT_POLICY,
    PolicyError,
    Verdict,
    builtin_policy,
    default_policy,
    load_policy,
    load_policy_file,
    policy_from_text,
)

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """\
name = "mine"

[algorithms]
content_encryption = ["aes-256-gcm", "aes-128-cbc"]
preferred_content_encryption = "aes-256-gcm"
unauthenticated_encryption = "warn"
key_transport = ["rsaes-oaep"]
signature_hashes = ["sha256"]
sha1 = "refuse"

[keys]
min_rsa_bits = 3072
curves = ["p-384"]

[certificates]
require_v3 = true
require_rfc822_name = true
require_key_usage = true
require_email_protection = true
email_protection_only = false

[revocation]
check = false

[client]
profile = "thunderbird"
processing_delay_minutes = 2
unenrolled_recipients = "refuse"
trust_on_first_use = true
"""


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(tmp_path: Path, text: str) -> PolicyError:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path)
    error = caught.value
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{path}: {error.key}: expected ")
    assert isinstance(error, InputError) and isinstance(error, ValueError)
    return error


# --- a complete file -------------------------------------------------------------


def test_a_complete_file_loads_every_setting(tmp_path: Path) -> None:
    policy = load_policy_file(write(tmp_path, MINIMAL))
    assert policy.name == "mine"
    assert policy.source == str(tmp_path / "policy.toml")
    assert policy.algorithms.content_encryption == (
        ContentCipher.AES_256_GCM,
        ContentCipher.AES_128_CBC,
    )
    assert policy.algorithms.sha1 is Verdict.REFUSE
    assert policy.algorithms.signature_hashes == (DigestAlgorithm.SHA256,)
    assert policy.keys.min_rsa_bits == 3072
    assert policy.keys.curves == ("p-384",)
    assert policy.certificates.max_validity_days is None
    assert policy.revocation_checking is False
    assert policy.client.processing_delay == dt.timedelta(minutes=2)
    assert policy.client.unenrolled_recipients is Fallback.REFUSE
    assert policy.client.trust_on_first_use is True


def test_the_client_profile_follows_the_policy(tmp_path: Path) -> None:
    profile = load_policy_file(write(tmp_path, MINIMAL)).client_profile()
    assert profile.name == "thunderbird"
    assert profile.processing_delay == dt.timedelta(minutes=2)
    assert profile.when_none_usable is Fallback.REFUSE
    assert profile.when_some_usable is Fallback.REFUSE
    # only allowed ciphers are announced, the preferred one first
    assert profile.capabilities == (ContentCipher.AES_256_GCM, ContentCipher.AES_128_CBC)


def test_a_file_may_extend_a_built_in_policy(tmp_path: Path) -> None:
    text = 'extends = "strict"\nname = "strict-tofu"\n[client]\ntrust_on_first_use = true\n'
    policy = load_policy_file(write(tmp_path, text))
    strict = builtin_policy("strict")
    assert policy.name == "strict-tofu"
    assert policy.client.trust_on_first_use is True
    assert policy.algorithms == strict.algorithms
    assert policy.certificates == strict.certificates


def test_the_feature_folder_example_extends_outlook98() -> None:
    policy = load_policy("policies/trust-on-first-use.toml", base_dir=ROOT / "features")
    assert policy.client.trust_on_first_use is True
    assert policy.algorithms == builtin_policy("outlook98").algorithms


# --- built-in policies -----------------------------------------------------------


@pytest.mark.parametrize("name", BUILTIN)
def test_each_built_in_policy_loads_through_the_same_reader(name: str) -> None:
    policy = load_policy(name)
    assert policy.name == name
    assert policy.source == f"built-in {name}"
    assert policy.description


def test_the_default_policy_is_outlook98() -> None:
    assert DEFAULT_POLICY == "outlook98"
    assert default_policy() is builtin_policy("outlook98")


def test_the_built_in_policies_differ_where_it_matters() -> None:
    outlook, rfc, strict = (builtin_policy(n) for n in ("outlook98", "rfc8551", "strict"))
    assert [p.algorithms.sha1 for p in (outlook, rfc, strict)] == [
        Verdict.ALLOW,
        Verdict.WARN,
        Verdict.REFUSE,
    ]
    assert [p.algorithms.unauthenticated_encryption for p in (outlook, rfc, strict)] == [
        Verdict.ALLOW,
        Verdict.WARN,
        Verdict.REFUSE,
    ]
    # RFC 8551 §2.7: AES-128 GCM and AES-256 GCM are MUST, AES-128 CBC MUST-.
    assert {ContentCipher.AES_128_GCM, ContentCipher.AES_256_GCM} <= set(rfc.content_ciphers)
    assert ContentCipher.AES_128_CBC in rfc.content_ciphers
    assert set(strict.content_ciphers) == {ContentCipher.AES_128_GCM, ContentCipher.AES_256_GCM}
    assert strict.certificates.max_validity_days == 825  # SMBR 6.3.2
    assert strict.keys.min_rsa_bits == 2048  # SMBR 6.1.5
    assert strict.certificates.email_protection_only
    assert outlook.client.unenrolled_recipients is Fallback.PROMPT  # KB-04
    assert strict.client.unenrolled_recipients is Fallback.REFUSE
    assert outlook.client.processing_delay == dt.timedelta(minutes=5)  # KB-13
    # the article's client keeps its own announcement, 3DES included
    assert outlook.client_profile().capabilities == (
        ContentCipher.AES_256_CBC,
        ContentCipher.AES_128_CBC,
        ContentCipher.DES_EDE3_CBC,
    )


def test_the_policy_files_ship_as_package_data() -> None:
    """A non-editable install carries engine/policy/builtin/*.toml (pyproject package-data)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["engine"]
    assert "policy/builtin/*.toml" in patterns
    shipped = sorted(p.stem for p in (ROOT / "engine" / "policy" / "builtin").glob("*.toml"))
    assert shipped == sorted(BUILTIN)


def test_an_unknown_name_says_what_is_known() -> None:
    with pytest.raises(InputError, match=r"outlook98, rfc8551, strict.*'lenient'"):
        load_policy("lenient")


# --- errors: file, key path, expected, found ----------------------------------------


def test_an_unknown_key_is_named_with_its_path_and_a_suggestion(tmp_path: Path) -> None:
    error = refused(tmp_path, MINIMAL.replace("sha1 = ", "sha_1 = "))
    assert error.key == "algorithms.sha_1"
    assert "unknown key 'sha_1'" in error.found
    assert "did you mean 'sha1'?" in error.found
    assert "preferred_content_encryption" in error.expected


def test_an_unknown_top_level_table_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, MINIMAL + "\n[mystery]\nx = 1\n")
    assert error.key == "mystery"
    assert "unknown key 'mystery'" in error.found


def test_a_wrong_type_says_what_was_expected_and_found(tmp_path: Path) -> None:
    error = refused(tmp_path, MINIMAL.replace("min_rsa_bits = 3072", 'min_rsa_bits = "3072"'))
    assert error.key == "keys.min_rsa_bits"
    assert error.expected == "an integer >= 1024 and <= 16384"
    assert error.found == "string '3072'"


def test_a_boolean_is_not_an_integer(tmp_path: Path) -> None:
    error = refused(
        tmp_path, MINIMAL.replace("processing_delay_minutes = 2", "processing_delay_minutes = true")
    )
    assert error.key == "client.processing_delay_minutes"
    assert error.found == "boolean true"


def test_a_string_where_a_table_belongs(tmp_path: Path) -> None:
    text = MINIMAL.replace("[revocation]\ncheck = false\n", "").replace(
        'name = "mine"', "name = \"mine\"\nrevocation = 'yes'"
    )
    error = refused(tmp_path, text)
    assert (error.key, error.expected, error.found) == ("revocation", "a table", "string 'yes'")


def test_a_value_outside_the_choices_lists_them(tmp_path: Path) -> None:
    error = refused(tmp_path, MINIMAL.replace('sha1 = "refuse"', 'sha1 = "maybe"'))
    assert error.key == "algorithms.sha1"
    assert error.expected == "one of allow, warn, refuse"
    assert error.found == "'maybe'"


def test_an_unknown_list_item_is_named_by_index(tmp_path: Path) -> None:
    error = refused(tmp_path, MINIMAL.replace('"aes-128-cbc"]', '"rc2-40"]'))
    assert error.key == "algorithms.content_encryption[1]"
    assert error.found == "'rc2-40'"


def test_sha1_is_governed_by_its_own_key(tmp_path: Path) -> None:
    error = refused(
        tmp_path, MINIMAL.replace('signature_hashes = ["sha256"]', 'signature_hashes = ["sha1"]')
    )
    assert error.key == "algorithms.signature_hashes[0]"
    assert "sha256, sha384, sha512" in error.expected


def test_an_empty_allowed_list_is_refused(tmp_path: Path) -> None:
    error = refused(
        tmp_path, MINIMAL.replace('key_transport = ["rsaes-oaep"]', "key_transport = []")
    )
    assert error.key == "algorithms.key_transport"
    assert error.found == "an empty list"


def test_a_duplicate_list_item_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, MINIMAL.replace('curves = ["p-384"]', 'curves = ["p-384", "p-384"]'))
    assert (error.key, error.found) == ("keys.curves", "'p-384' twice")


def test_a_missing_key_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, MINIMAL.replace("require_key_usage = true\n", ""))
    assert error.key == "certificates.require_key_usage"
    assert error.found == "nothing (the key is missing)"


def test_the_preferred_cipher_must_be_allowed(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'preferred_content_encryption = "aes-256-gcm"',
        'preferred_content_encryption = "aes-128-gcm"',
    )
    error = refused(tmp_path, text)
    assert error.key == "algorithms.preferred_content_encryption"
    assert error.expected == "one of algorithms.content_encryption (aes-256-gcm, aes-128-cbc)"
    assert error.found == "'aes-128-gcm'"


def test_refusing_unauthenticated_encryption_while_allowing_cbc_is_impossible(
    tmp_path: Path,
) -> None:
    text = MINIMAL.replace(
        'unauthenticated_encryption = "warn"', 'unauthenticated_encryption = "refuse"'
    )
    error = refused(tmp_path, text)
    assert error.key == "algorithms.content_encryption"
    assert "aes-128-cbc (unauthenticated CBC)" in error.found


def test_3des_cannot_be_preferred(tmp_path: Path) -> None:
    text = MINIMAL.replace('["aes-256-gcm", "aes-128-cbc"]', '["des-ede3-cbc"]').replace(
        'preferred_content_encryption = "aes-256-gcm"',
        'preferred_content_encryption = "des-ede3-cbc"',
    )
    error = refused(tmp_path, text)
    assert error.key == "algorithms.preferred_content_encryption"
    assert "decrypt-only" in error.expected


def test_email_protection_only_needs_email_protection(tmp_path: Path) -> None:
    text = MINIMAL.replace("require_email_protection = true", "require_email_protection = false")
    text = text.replace("email_protection_only = false", "email_protection_only = true")
    error = refused(tmp_path, text)
    assert error.key == "certificates.email_protection_only"


def test_a_toml_syntax_error_names_the_line_and_column(tmp_path: Path) -> None:
    error = refused(tmp_path, MINIMAL.replace("min_rsa_bits = 3072", "min_rsa_bits = = 3072"))
    assert error.key == "line 12, column 16"
    assert error.expected == "valid TOML"
    assert error.found.startswith("invalid value")


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"no-such\.toml: \(file\): expected a policy file"):
        load_policy_file(tmp_path / "no-such.toml")


def test_undecodable_bytes_are_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(PolicyError, match="UTF-8 TOML text"):
        load_policy_file(path)


def test_text_is_named_by_the_file_given() -> None:
    with pytest.raises(PolicyError, match=r"^inline: name: expected a string, found integer 3$"):
        policy_from_text(MINIMAL.replace('name = "mine"', "name = 3"), file="inline")
