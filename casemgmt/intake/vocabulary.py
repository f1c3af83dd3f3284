"""The hotline's categories: codes stored in the database and exported, with translated labels for people.

HTCDS has no value sets for hotline contacts, so these follow the categories hotlines in the region report on
(channel, caller, call type, indicators heard, action taken); see DOMAIN.md, "Hotline intake".
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from casemgmt.htcds import ValueSet

CHANNELS = ValueSet("ContactChannel", {
    "phone": _l("Phone"),
    "sms": _l("SMS"),
    "chat": _l("Chat"),
    "email": _l("Email"),
    "walk_in": _l("Walk-in"),
    "referral": _l("Referral"),
})

CALLER_TYPES = ValueSet("CallerType", {
    "PotentialVictim": _l("Potential victim"),
    "FamilyOrFriend": _l("Family member or friend"),
    "CommunityMember": _l("Community member"),
    "Business": _l("Business"),
    "Agency": _l("Agency"),
    "LawEnforcement": _l("Law enforcement"),
    "Anonymous": _l("Anonymous"),
})

CALL_TYPES = ValueSet("CallType", {
    "crisis": _l("Crisis (help within 24 hours or imminent danger)"),
    "tip": _l("Tip"),
    "referral": _l("Referral"),
    "general_information": _l("General information"),
    "training_request": _l("Training request"),
})

# Common indicators of trafficking that an operator can hear in a call and a screener can observe.
INDICATORS = ValueSet("TraffickingIndicator", {
    "DocumentConfiscation": _l("Identity documents taken away"),
    "Debt": _l("Debt owed to an employer or recruiter"),
    "RestrictedMovement": _l("Not free to leave or move about"),
    "Threats": _l("Threats or violence against them or their family"),
    "UnderageCommercialSex": _l("Under 18 and in commercial sex"),
    "ExcessiveHours": _l("Excessive working hours"),
    "NoPay": _l("No pay or very little pay"),
    "JobDeception": _l("Deceived about the job or its conditions"),
    "Isolation": _l("Isolated, watched or kept from contact with others"),
    "LivesAtWorkplace": _l("Lives at the workplace or where the employer decides"),
    "ThirdPartyControl": _l("Someone else speaks or answers for them"),
})

ACTIONS = ValueSet("ContactAction", {
    "follow_up": _l("Follow-up"),
    "referral": _l("Referral to a service"),
    "emergency_coordination": _l("Emergency coordination"),
    "police_report": _l("Report to the police"),
})

# What agreed between the new person and a candidate of the duplicate check (matching.score's fields and levels),
# for the candidates the user may see.
MATCHED_FIELDS = ValueSet("DuplicateMatch", {
    "name": _l("Name"),
    "name_similar": _l("Name (spelt differently or in another order)"),
    "date_of_birth": _l("Date of birth"),
    "date_of_birth_swapped": _l("Date of birth (day and month exchanged)"),
    "birth_year": _l("Year of birth"),
    "document_number": _l("Identity document number"),
    "phone": _l("Phone"),
})


def join_codes(codes) -> str | None:
    """Multi-valued categories are stored as a sorted comma-separated list of codes (as Person.languages is)."""
    cleaned = sorted({c for c in (codes or []) if c})
    return ",".join(cleaned) or None


def split_codes(stored: str | None) -> list[str]:
    return stored.split(",") if stored else []
