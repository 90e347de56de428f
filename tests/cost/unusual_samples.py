"""Seeded unusual inputs for the heuristic's band: random, base64, hex, CJK, emoji, repeats, digits.

Issue 9 found a quote of 1,171 ±45 % for text the provider counted as 10,008: the band must hold
for input unlike the calibration corpus. Each sample is rebuilt identically from its seed.
"""

from __future__ import annotations

import base64
import random
import string


def unusual(scale: int = 1) -> dict[str, str]:
    """Name → text; `scale` multiplies the length (keep small with a pure-Python exact tokenizer)."""
    rng = random.Random(7)
    n = 1000 * scale
    emoji = "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘👍🏽👨‍👩‍👧‍👦🇸🇦🇦🇪"
    return {
        "base64": base64.b64encode(rng.randbytes(3 * n // 4 * 3)).decode(),
        "hex": rng.randbytes(n).hex(),
        "random_ascii": "".join(
            rng.choice(string.ascii_letters + string.digits + string.punctuation) for _ in range(3 * n)
        ),  # fmt: skip
        "random_words": " ".join(
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 12)))
            for _ in range(n // 2)
        ),  # fmt: skip
        "cjk_random": "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(n)),
        "japanese": "日本語のテキストはトークンが多くなります。" * (n // 20),
        "emoji": "".join(rng.choice(emoji) for _ in range(n)),
        "repeat_letter": "a" * (3 * n),
        "repeat_punct": "." * (3 * n),
        "repeat_word": "hello " * n,
        "digits": "".join(rng.choice(string.digits) for _ in range(3 * n)),
        "cyrillic": "Привет, как дела? Это тестовый текст на русском языке. " * (n // 50),
        "urls": "\n".join(
            f"https://example.com/{rng.randbytes(8).hex()}/{rng.randint(0, 99999)}?q={rng.randbytes(4).hex()}"
            for _ in range(n // 50)
        ),  # fmt: skip
        "spaces": " " * (n // 2),
        "newlines": "\n" * (n // 2),
        "mixed_case_random": "".join(rng.choice(string.ascii_letters) for _ in range(2 * n)),
        "vocalised_arabic": "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ ٱلْحَمْدُ لِلَّهِ رَبِّ ٱلْعَٰلَمِينَ " * (n // 60),
        "arabic_digits": "٠١٢٣٤٥٦٧٨٩ " * (n // 10),
    }
