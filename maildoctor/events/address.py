"""One form per address, so records from every source meet (the checker's normalisation)."""

from __future__ import annotations

import functools
import re

from maildoctor.address.repair import fold_ime, ime_input
from maildoctor.address.syntax import check_syntax

__all__ = ["address_key"]

#: A dot-atom at a name of ASCII letters, digits and hyphens, no IDN: most addresses.
_PLAIN = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?!xn--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.(?!xn--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


@functools.lru_cache(maxsize=65536)
def address_key(raw: str) -> str:
    """``Taro@Docomo.NE.JP`` -> ``taro@docomo.ne.jp``; IDN domains in A-labels.

    The domain goes through the checker's normalisation (lower case, IDNA). The local
    part is folded to lower case too: bounces and ESPs lower-case it, and no Japanese
    carrier or webmail treats case as a different mailbox. An unparseable address is
    kept stripped and lower-cased, so it still finds itself. An address as a Japanese IME
    types it (``ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ``, pasted from the customer's message)
    is folded as the checker folds it: no log or ESP writes one, so it is the ASCII one.
    """
    text = raw.strip().strip("<>").strip()
    if ime_input(text, spaces=False):
        text = fold_ime(text)
    if _PLAIN.fullmatch(text):
        return text.lower()  # ASCII labels: the checker's form is the lower case
    parsed = check_syntax(text).parsed
    if parsed is None:
        return text.lower()
    return f"{parsed.local.lower()}@{parsed.ascii_domain}"
