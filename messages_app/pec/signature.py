"""The provider's S/MIME signature on an envelope or receipt, checked with the `openssl` command.

Two questions, two runs of `openssl cms -verify`:
- integrity: does the signature match the signed content and the signer certificate it embeds?
  (`-noverify`: the certificate chain is not asked about.) A failure here means the message was
  changed after the provider signed it: *tampered*.
- trust: does the signer's certificate chain up to one of the provider certificates in the
  configured trust file? Only asked when there is a file (the AgID index cannot be fetched here).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from messages_app.mime.headers import parse_header_block

TRUSTED = "trusted"  # intact, and the issuer is a configured provider
INTACT = "intact"  # intact; no trust file, so the issuer was not verified
UNTRUSTED = "untrusted"  # intact, but the issuer is not among the configured providers
TAMPERED = "tampered"  # the content does not match the signature
UNREADABLE = "unreadable"  # signed, but the signature could not be read
UNSIGNED = "unsigned"
UNCHECKED = "unchecked"  # openssl could not be run

SIGNED_TYPES = ("multipart/signed", "application/pkcs7-mime", "application/x-pkcs7-mime")
_TAMPER_MARKS = (b"digest failure", b"signature failure", b"content verify error", b"bad signature")


@dataclass(frozen=True)
class SignatureCheck:
    status: str
    signer: str = ""  # the signer certificate's subject, for the badge
    detail: str = ""  # openssl's own words on a failure, for the details

    @property
    def intact(self) -> bool:
        return self.status in (TRUSTED, INTACT, UNTRUSTED)


def _openssl(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "cms", "-verify", *args], capture_output=True, timeout=timeout, check=False)


def _subject(pem_path: Path) -> str:
    try:
        from cryptography import x509

        certificate = x509.load_pem_x509_certificates(pem_path.read_bytes())[0]
        return certificate.subject.rfc4514_string()[:500]
    except Exception:
        return ""


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:500]


def check_signature(raw: bytes, *, trust_file: str = "", timeout: float = 10.0) -> SignatureCheck:
    """Never raises: a missing or broken openssl is UNCHECKED, not an error."""
    content_type = (parse_header_block(raw).content_type or "").lower()
    if content_type not in SIGNED_TYPES:
        return SignatureCheck(UNSIGNED)
    with tempfile.TemporaryDirectory(prefix="postino-pec-") as directory:
        message = Path(directory) / "message.eml"
        signer = Path(directory) / "signer.pem"
        message.write_bytes(raw)
        common = ["-in", str(message), "-inform", "SMIME", "-out", str(Path(directory) / "content")]
        try:
            integrity = _openssl([*common, "-noverify", "-signer", str(signer)], timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            return SignatureCheck(UNCHECKED, detail=type(exc).__name__)
        if integrity.returncode != 0:
            stderr = integrity.stderr.lower()
            status = TAMPERED if any(mark in stderr for mark in _TAMPER_MARKS) else UNREADABLE
            return SignatureCheck(status, detail=_last_line(integrity.stderr))
        subject = _subject(signer)
        if not trust_file:
            return SignatureCheck(INTACT, signer=subject)
        try:
            trust = _openssl([*common, "-CAfile", trust_file, "-purpose", "any"], timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            return SignatureCheck(UNCHECKED, signer=subject, detail=type(exc).__name__)
        if trust.returncode != 0:
            return SignatureCheck(UNTRUSTED, signer=subject, detail=_last_line(trust.stderr))
        return SignatureCheck(TRUSTED, signer=subject)
