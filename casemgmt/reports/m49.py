"""UN M49 regions for every territory code casemgmt offers, to coarsen countries in shared data.

The tree follows CLDR's territory containment (common/supplemental/supplementalData.xml), which is M49 with its
intermediate regions where M49 has them: Africa splits into Northern, Western, Eastern, Middle and Southern Africa and
the Americas into Northern America, Central America, the Caribbean and South America. Those are the groupings the
counter-trafficking field reports by, and a sub-region as wide as "Sub-Saharan Africa" or "Latin America and the
Caribbean" would throw away most of what a supervisor needs to see.

The keys are exactly htcds.country_codes() (ISO 3166-1 and Kosovo); CLDR's groupings and pseudo-locales (EU, UN,
XA) are no country anyone is from, so a stored one falls to the suppressed value like any unknown code. Antarctica
(AQ) has no M49 sub-region, so it stands directly under Oceania (sub-region = region = 009), as in CLDR's "Outlying
Oceania".

Names come from Babel's CLDR data in the user's locale, like country names (htcds.country_name), so every language
Babel knows has them without new catalog entries.
"""

from __future__ import annotations

from casemgmt.htcds import country_name

PREFIX = "M49:"

AFRICA, AMERICAS, ASIA, EUROPE, OCEANIA = "002", "019", "142", "150", "009"

# sub-region -> (region, member territories)
_TREE: dict[str, tuple[str, str]] = {
    "015": (AFRICA, "DZ EG EH LY MA SD TN"),
    "011": (AFRICA, "BF BJ CI CV GH GM GN GW LR ML MR NE NG SH SL SN TG"),
    "014": (AFRICA, "BI DJ ER ET IO KE KM MG MU MW MZ RE RW SC SO SS TF TZ UG YT ZM ZW"),
    "017": (AFRICA, "AO CD CF CG CM GA GQ ST TD"),
    "018": (AFRICA, "BW LS NA SZ ZA"),
    "021": (AMERICAS, "BM CA GL PM US"),
    "013": (AMERICAS, "BZ CR GT HN MX NI PA SV"),
    "029": (AMERICAS, "AG AI AW BB BL BQ BS CU CW DM DO GD GP HT JM KN KY LC MF MQ MS PR SX TC TT VC VG VI"),
    "005": (AMERICAS, "AR BO BR BV CL CO EC FK GF GS GY PE PY SR UY VE"),
    "143": (ASIA, "KG KZ TJ TM UZ"),
    "030": (ASIA, "CN HK JP KP KR MN MO TW"),
    "034": (ASIA, "AF BD BT IN IR LK MV NP PK"),
    "035": (ASIA, "BN ID KH LA MM MY PH SG TH TL VN"),
    "145": (ASIA, "AE AM AZ BH CY GE IL IQ JO KW LB OM PS QA SA SY TR YE"),
    "151": (EUROPE, "BG BY CZ HU MD PL RO RU SK UA"),
    "154": (EUROPE, "AX DK EE FI FO GB GG IE IM IS JE LT LV NO SE SJ"),
    "155": (EUROPE, "AT BE CH DE FR LI LU MC NL"),
    "039": (EUROPE, "AD AL BA ES GI GR HR IT ME MK MT PT RS SI SM VA XK"),
    "053": (OCEANIA, "AU CC CX HM NF NZ"),
    "054": (OCEANIA, "FJ NC PG SB VU"),
    "057": (OCEANIA, "FM GU KI MH MP NR PW UM"),
    "061": (OCEANIA, "AS CK NU PF PN TK TO TV WF WS"),
    # No M49 sub-region: see the module docstring.
    OCEANIA: (OCEANIA, "AQ"),
}

# htcds.country_codes() -> ("M49:<sub-region>", "M49:<region>")
COUNTRY_REGIONS: dict[str, tuple[str, str]] = {
    country: (PREFIX + sub_region, PREFIX + region)
    for sub_region, (region, members) in _TREE.items()
    for country in members.split()
}


def sub_region(country: str) -> str | None:
    found = COUNTRY_REGIONS.get(country)
    return found[0] if found else None


def region(country: str) -> str | None:
    found = COUNTRY_REGIONS.get(country)
    return found[1] if found else None


def is_m49(code: str) -> bool:
    return code.startswith(PREFIX)


def name(code: str) -> str:
    """The translated name of "M49:005" (South America); CLDR names numeric regions in every locale."""
    return country_name(code.removeprefix(PREFIX))
