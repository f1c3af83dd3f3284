"""One phonetic code per name part, for the spellings of Spanish, Portuguese, French and Haitian Creole.

Soundex, Metaphone and NYSIIS are made for English names and split exactly the variants intake produces here
("Pierre" / "Pyè", "Jozef" / "Joseph", "Edouard" / "Edwa", "Castillo" / "Castiyo", "Gonçalves" / "Goncalves"), and no
maintained library covers Haitian Creole, so the code is a short list of rewrites in the manner of those algorithms,
each for a sound the four languages spell differently, then the consonant skeleton. The code only finds candidates:
it is one blind index among several, and every candidate is decided by scoring the decrypted names (matching.score),
so a rule that over-merges costs a few decryptions, never a false match.
"""

from __future__ import annotations

import re

from casemgmt.matching.normalise import fold

# Applied in order to a folded part (lower-case ASCII). Capital letters are the code's own symbols.
_REWRITES: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"^h", ""),                       # a written h is silent in all four: Hernández / Ernandes
    (r"^es(?=[bcdfgkmnpqstvz])", "s"),  # Spanish adds an e before s and a consonant: Estefani / Stéphanie
    (r"sch|sh|ch", "S"),               # the sh sound: French and Creole "ch", Portuguese "x" below
    (r"ph", "f"),                      # Joseph / Jozef
    (r"th", "t"),
    (r"pt", "t"),                      # Baptiste / Batis
    (r"gu(?=[eiy])", "g"),             # Guerline / Gèlin: u only marks a hard g
    (r"g", "j"),                       # and g, soft or hard, is one letter with j: Georges / Jorge / Jòj
    (r"qu|q", "k"),                    # Quispe / Kispe
    (r"c(?=[eiy])", "s"),              # Cecilia / Sesilia
    (r"c", "k"),
    (r"ll", "Y"),                      # Castillo / Castiyo
    (r"(?<=[aeiou])y(?=[aeiou])", "Y"),  # y between vowels is that consonant; elsewhere a vowel (Pyè, Dyedone)
    (r"gn|nh|ny(?=[aeiou])", "N"),     # Montagne / Montaña / Ninha
    (r"ou|w", "u"),                    # Louis / Lwi, Edouard / Edwa
    (r"x|z", "s"),
    (r"v", "b"),                       # Valdivia / Baldibia
    (r"h", ""),                        # the remaining h (Johanna / Joana)
    (r"(.)\1+", r"\1"),                # doubled letters: Bernadette / Bènadèt, Pierre
    (r"(?<=.)e$", ""),                 # final e: Marie / Mari, Jose / Jos
    (r"r(?=[^aeiouy]|$)", ""),         # Creole drops an r after a vowel: Pierre / Pyè, Wilner / Wilnè
    (r"(?<=..)[stdx]+$", ""),          # French silent endings, kept in the other spellings: Louis / Lwi
))
_VOWELS = re.compile(r"[aeiouy]")


def code(part: str) -> str:
    """The phonetic code of one name part ("" for an empty part). Vowels are dropped after the first letter, whose
    vowel-ness is kept as "A", as Soundex keeps the first letter."""
    text = fold(part).replace(" ", "")
    if not text:
        return ""
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    if not text:
        return "A"
    head, tail = text[0], text[1:]
    head = "A" if head in "aeiouy" else head
    skeleton = re.sub(r"(.)\1+", r"\1", head + _VOWELS.sub("", tail))
    return skeleton
