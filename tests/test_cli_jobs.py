"""``verify`` and ``decrypt`` with ``--jobs``: worker processes, the serial run's output."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine.cli.commands import main
from engine.cli.pool import available_cpus, map_in_order, parse_jobs
from engine.clock import FixedClock
from engine.errors import InputError
from engine.pki.authority import OrgCA
from engine.pki.keys import KeyPool, private_key_pem
from engine.smime.encryption import encrypt
from engine.smime.signing import sign
from tests.conftest import EPOCH, enroll

AT = "2026-06-01T12:00:00Z"


def _message(index: int, sender: str = "alice@contoso.example") -> bytes:
    return (
        f"From: {sender}\r\nTo: bob@fabrikam.example\r\nSubject: m{index}\r\n\r\n"
        f"Message {index}.\r\n"
    ).encode()


@dataclass
class Mailbox:
    folder: Path
    root: Path
    paths: list[str]  # in input order
    expected: list[str]  # each input's status; "error" for an unreadable or malformed one
    bob_cert: Path
    bob_key: Path
    encrypted: list[str]


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> Mailbox:
    folder = tmp_path_factory.mktemp("jobs")
    clock = FixedClock(EPOCH)
    contoso = OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool)
    fabrikam = OrgCA.create("Fabrikam", "fabrikam.example", clock=clock, keys=key_pool)
    alice = enroll(contoso, "alice@contoso.example")
    bob = enroll(fabrikam, "bob@fabrikam.example")
    carol = enroll(fabrikam, "carol@fabrikam.example")
    paths: list[str] = []
    expected: list[str] = []

    def add(name: str, data: bytes, status: str) -> None:
        path = folder / name
        path.write_bytes(data)
        paths.append(str(path))
        expected.append(status)

    for index in range(40):  # several chunks for each worker
        signed = sign(_message(index), alice.signing, clock=clock, opaque=index % 10 == 1)
        if index % 10 == 3:
            tampered = signed.replace(f"Message {index}.".encode(), f"Massage {index}.".encode())
            assert tampered != signed
            add(f"m{index:02d}.eml", tampered, "tampered")
        elif index % 10 == 5:
            add(f"m{index:02d}.eml", sign(_message(index), bob.signing, clock=clock), "untrusted")
        elif index % 10 == 7:
            add(f"m{index:02d}.eml", b"not a message at all", "error")
        elif index % 10 == 8:
            add(f"m{index:02d}.eml", signed[: len(signed) // 2], "error")
        elif index % 10 == 9:
            forged = sign(_message(index, "mallory@contoso.example"), alice.signing, clock=clock)
            add(f"m{index:02d}.eml", forged, "address-mismatch")
        else:
            add(f"m{index:02d}.eml", signed, "valid")
    paths.append(str(folder / "missing.eml"))
    expected.append("error")

    encrypted = []
    for index in range(12):
        recipient = bob.encryption.certificate if index % 4 else carol.encryption.certificate
        path = folder / f"e{index:02d}.eml"
        path.write_bytes(encrypt(_message(index), [recipient]))
        encrypted.append(str(path))
    (folder / "e99.eml").write_bytes(b"garbage")
    encrypted.append(str(folder / "e99.eml"))

    root = folder / "root.pem"
    root.write_bytes(contoso.root.public_bytes(Encoding.PEM))
    bob_cert = folder / "bob.pem"
    bob_cert.write_bytes(bob.encryption.certificate.public_bytes(Encoding.PEM))
    bob_key = folder / "bob.key"
    bob_key.write_bytes(private_key_pem(bob.encryption.private_key))
    return Mailbox(folder, root, paths, expected, bob_cert, bob_key, encrypted)


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _verify(mailbox: Mailbox, *extra: str) -> list[str]:
    return ["verify", "--trust", str(mailbox.root), "--at", AT, *extra, *mailbox.paths]


def test_parallel_verify_prints_what_the_serial_run_prints(
    mailbox: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    serial = _run(capsys, _verify(mailbox, "-j", "1"))
    parallel = _run(capsys, _verify(mailbox, "-j", "3"))
    assert parallel == serial
    code, out, err = serial
    assert code == 2  # an unreadable or malformed input outranks a failed check
    good = [(p, s) for p, s in zip(mailbox.paths, mailbox.expected, strict=True) if s != "error"]
    lines = out.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [p for p, _ in good]
    for line, (_, status) in zip(lines, good, strict=True):
        assert line.split(": ", 1)[1].startswith(
            "untrusted-issuer" if status == "untrusted" else status
        )
    bad = [p for p, s in zip(mailbox.paths, mailbox.expected, strict=True) if s == "error"]
    errors = err.splitlines()
    assert len(errors) == len(bad) and "Traceback" not in err
    for line, path in zip(errors, bad, strict=True):
        assert line.startswith(f"smime-harness: error: {path}: expected ")


def test_parallel_verify_json_is_the_serial_json(
    mailbox: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    serial = _run(capsys, _verify(mailbox, "--json"))
    parallel = _run(capsys, _verify(mailbox, "--json", "-j", "2"))
    assert parallel == serial
    results = json.loads(serial[1])["results"]
    assert [r["file"] for r in results] == mailbox.paths
    statuses = [r["status"] for r in results]
    assert statuses == ["untrusted-issuer" if s == "untrusted" else s for s in mailbox.expected]
    assert all(r["error"].startswith(r["file"]) for r in results if r["status"] == "error")


def test_a_batch_of_good_messages_exits_0_and_a_failed_check_1(
    mailbox: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    valid = [p for p, s in zip(mailbox.paths, mailbox.expected, strict=True) if s == "valid"]
    tampered = mailbox.paths[mailbox.expected.index("tampered")]
    base = ["verify", "--trust", str(mailbox.root), "--at", AT, "-j", "2"]
    assert _run(capsys, [*base, *valid])[0] == 0
    code, out, err = _run(capsys, [*base, *valid, tampered])
    assert code == 1 and err == "" and out.splitlines()[-1].startswith(f"{tampered}: tampered")


def test_standard_input_among_the_inputs_is_read_by_this_process(
    mailbox: Mailbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    valid = [p for p, s in zip(mailbox.paths, mailbox.expected, strict=True) if s == "valid"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(Path(valid[0]).read_bytes())))
    code, out, err = _run(
        capsys, ["verify", "--trust", str(mailbox.root), "--at", AT, "-j", "2", *valid[1:4], "-"]
    )
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "-: valid"


def test_one_bad_input_alone_is_one_error_line_and_no_json(
    mailbox: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = mailbox.paths[mailbox.expected.index("error")]
    code, out, err = _run(
        capsys, ["verify", "--trust", str(mailbox.root), "--at", AT, "--json", bad]
    )
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(f"smime-harness: error: {bad}: expected ")


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5", "", "two"])
def test_bad_jobs_values_exit_2_with_one_line(
    value: str, mailbox: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main([*_verify(mailbox), "--jobs", value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "--jobs" in err and f"found {value!r}" in err


def test_jobs_auto_is_one_per_cpu() -> None:
    assert parse_jobs("auto") == available_cpus() >= 1
    assert parse_jobs("3") == 3
    with pytest.raises(InputError, match="positive number"):
        parse_jobs("0")


def test_parallel_decrypt_writes_and_prints_what_the_serial_run_does(
    mailbox: Mailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        out.mkdir()
        credential = ["--cert", str(mailbox.bob_cert), "--key", str(mailbox.bob_key)]
        argv = ["decrypt", *credential, "--out-dir", str(out), "-j", jobs, *mailbox.encrypted]
        code, text, err = _run(capsys, argv)
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        runs.append((code, text.replace(str(out), "OUT"), err, files))
    assert runs[0] == runs[1]
    code, text, err, files = runs[0]
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert code == 2 and len(errors) == 1 and "e99.eml: expected" in errors[0]
    # The rest of standard error: one EFAIL warning per decrypted (AES-CBC) input.
    warnings = [line for line in err.splitlines() if ": warning: " in line]
    assert len(warnings) == 9 and len(errors) + len(warnings) == err.count("\n")
    statuses = [line.split(": ", 1)[1].split()[0] for line in text.splitlines()]
    assert statuses == ["not-a-recipient" if i % 4 == 0 else "decrypted" for i in range(12)]
    assert sorted(files) == [f"e{i:02d}.eml" for i in range(12) if i % 4]
    assert files["e01.eml"].endswith(b"Message 1.\r\n")


def _pid(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


def test_map_in_order_keeps_order_and_works_in_other_processes() -> None:
    items = list(range(50))
    answers = map_in_order(_pid, items, jobs=2)
    assert [square for square, _ in answers] == [i * i for i in items]
    assert os.getpid() not in {pid for _, pid in answers}
    assert {pid for _, pid in map_in_order(_pid, items, jobs=1)} == {os.getpid()}


def _fails_on_odd_multiples_of_seven(item: int) -> int:
    if item % 7 == 0 and item % 2:
        raise ValueError(f"item {item}")
    return item


def test_map_in_order_raises_the_first_failure_in_input_order() -> None:
    for jobs in (1, 2):
        with pytest.raises(ValueError, match=r"^item 7$"):
            map_in_order(_fails_on_odd_multiples_of_seven, list(range(40)), jobs=jobs)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(
    not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
    reason="needs Linux /proc to see the workers",
)
def test_ctrl_c_stops_the_workers_without_a_traceback(mailbox: Mailbox) -> None:
    # Far more work than the test waits for: the interrupt always lands mid-batch.
    names = [Path(p).name for p in mailbox.paths]
    argv = ["verify", "--trust", "root.pem", "--at", AT, "-j", "2", *(names * 1000)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", *argv],
        cwd=mailbox.folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
        # As a terminal's command gets it: a shell starts background jobs with SIGINT ignored,
        # and Python then installs no KeyboardInterrupt handler (a pytest run started with `&`).
        preexec_fn=_default_sigint,
    )
    try:
        workers: list[int] = []
        deadline = time.monotonic() + 60  # for the interpreter to start, not a timing
        while not workers and proc.poll() is None and time.monotonic() < deadline:
            workers = _children(proc.pid)
            time.sleep(0.001)
        assert workers, "no worker started"
        # The first worker has just been forked, the next may be forking: an interrupt
        # raised then inside an at-fork handler was once lost and the batch ran on.
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failed test leaves no worker behind: end its group
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert (proc.returncode, out, err) == (130, b"", b"")
    for worker in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(worker, 0)
