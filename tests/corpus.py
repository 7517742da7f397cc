"""Where the shared mail corpus (../shared/corpus/mail-parser, beside the checkout) lives.

CI has ../shared beside the checkout; a clone elsewhere on this machine finds it under /work or
through POSTINO_SHARED_CORPUS.
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_corpus() -> Path:
    candidates = [os.environ.get("POSTINO_SHARED_CORPUS", ""),
                  REPO_ROOT.parent / "shared" / "corpus" / "mail-parser",
                  Path("/work/shared/corpus/mail-parser")]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return REPO_ROOT.parent / "shared" / "corpus" / "mail-parser"


SHARED_CORPUS = _shared_corpus()
