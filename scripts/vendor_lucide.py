"""Build static/vendor/lucide/sprite.svg from the npm package lucide-static (only the icons used).

    npm pack lucide-static && tar xzf lucide-static-*.tgz
    python scripts/vendor_lucide.py package/
"""

import re
import sys
from pathlib import Path

ICONS = (
    "inbox", "file-pen-line", "send", "shield-alert", "trash-2", "folder", "star", "share-2", "download",
    "clock", "mail-open", "mail", "folder-input", "paperclip", "chevron-left", "menu", "search", "archive",
    "undo-2", "settings", "log-out", "x", "circle-help", "check", "reply", "user", "info", "circle-alert",
    "reply-all", "forward", "square-pen", "users",
)
OUT = Path(__file__).resolve().parents[1] / "static" / "vendor" / "lucide"


def symbol(package: Path, name: str) -> str:
    svg = (package / "icons" / f"{name}.svg").read_text()
    body = re.search(r"<svg[^>]*>(.*)</svg>", svg, re.S).group(1)
    body = re.sub(r"\s+", " ", body).strip()
    # Fill and stroke come from the page's CSS (.icon), so a state can fill an icon (a set star).
    return f'<symbol id="{name}" viewBox="0 0 24 24">{body}</symbol>'


def main(package: Path) -> None:
    version = re.search(r'"version":\s*"([^"]+)"', (package / "package.json").read_text()).group(1)
    OUT.mkdir(parents=True, exist_ok=True)
    symbols = "\n".join(symbol(package, name) for name in ICONS)
    (OUT / "sprite.svg").write_text(
        f'<!-- lucide-static v{version}, ISC licence (LICENSE): only the icons Postino uses -->\n'
        f'<svg xmlns="http://www.w3.org/2000/svg">\n{symbols}\n</svg>\n')
    (OUT / "LICENSE").write_text((package / "LICENSE").read_text())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
