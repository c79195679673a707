"""Two disjoint halves of a split's solo clips, by clip id.

DSOL trains stage one on one half of the solo videos and makes the synthetic cocktails from the other (Hu et
al. 2020, Sec. 4.1), so stage two never sees a video stage one learned from. The dataset build
(``build.mixing.cocktail_solos: half``) and the DSOL recipe (``dsol.stage_one_solos: half``) read the same rule.
"""

from __future__ import annotations

import zlib

STAGE_ONE_HALF, COCKTAIL_HALF = 0, 1


def solo_half(clip_id: str) -> int:
    """``STAGE_ONE_HALF`` or ``COCKTAIL_HALF``: the parity of the id's CRC-32 (the same on every machine and run,
    and independent of which other clips a split holds)."""
    return zlib.crc32(clip_id.encode("utf-8")) & 1
