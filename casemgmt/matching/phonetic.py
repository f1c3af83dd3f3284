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
from functools import lru_cache

from casemgmt.matching.normalise import fold

# Applied in order to a folded part (lower-case ASCII). Capital letters are the code's own symbols.
_REWRITES: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"^h", ""),                       # a written h is silent in all four: Hernández / Ernandes
    (r"^es(?=[bcdfgkmnpqstvz])", "s"),  # Spanish adds an e before s and a consonant: Estefani / Stéphanie
    (r"^y(?=[aeiou])", "j"),           # a first y before a vowel is the j sound: Yesenia / Jesenia, Yamileth / Jamileth
    (r"^x", "j"),                      # the old Spanish x of Ximena / Jimena, Xavier / Javier
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


# A final "a" or "o" is the grammatical gender of a Spanish or Portuguese name and tells two people apart: Mario and
# María, Juan and Juana, Luis and Luisa may be twins, and a shared code would make their twin look like a spelling
# variant to the scoring (matching.score gives a shared code the similarity of a variant). It is kept in the code.
_GENDER_ENDING = re.compile(r"(?<=.)[ao]$")


# Scoring compares every part of a query with every part of each candidate, so the same few thousand name parts are
# coded again and again; a code is a pure function of the part, so it is kept (a bounded cache: names, not people).
@lru_cache(maxsize=50_000)
def code(part: str) -> str:
    """The phonetic code of one name part ("" for an empty part). Vowels are dropped after the first letter, whose
    vowel-ness is kept as "A", as Soundex keeps the first letter; a final gender vowel is kept (_GENDER_ENDING)."""
    text = fold(part).replace(" ", "")
    if not text:
        return ""
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    if not text:
        return "A"
    ending = _GENDER_ENDING.search(text)
    head, tail = text[0], text[1:]
    head = "A" if head in "aeiouy" else head
    skeleton = re.sub(r"(.)\1+", r"\1", head + _VOWELS.sub("", tail))
    return skeleton + (ending.group() if ending and len(text) > 1 else "")


@lru_cache(maxsize=50_000)
def gender_pair(a: str, b: str) -> bool:
    """Whether two name parts are one name in its two genders (Mario / María, Juan / Juana): different people, however
    alike the strings (matching.score then never calls them a spelling variant)."""
    ca, cb = code(a), code(b)
    if ca == cb or not ca or not cb:
        return False
    ends = {ca[-1], cb[-1]}
    if ends == {"a", "o"}:
        return ca[:-1] == cb[:-1]
    # One with the ending, the other ending in a consonant: Juan / Juana (but Mari is María spelt in Creole).
    (longer, shorter), plain = ((ca, cb), b) if len(ca) > len(cb) else ((cb, ca), a)
    return longer[-1] == "a" and longer[:-1] == shorter and fold(plain)[-1:] not in ("", *"aeiouy")
