"""The audit trail in people's words: one translated sentence per kind of event.

Each kind has a short name (for the filter's select) and one whole sentence with named placeholders, so that each
language puts the words in its own order; nothing here glues pieces together. The placeholders are:

- %(actor)s: who did it (their display name, "The system", "Someone");
- %(case)s: the case's reference. A case the reader may not know (another organisation's, which their user was
  refused or reached through a personal grant) is never named: its events read as OTHER_CASE says;
- %(target)s: the account an account event is about; %(organisation)s: the organisation a referral or transfer went
  to; %(role)s: a role; %(from_stage)s, %(to_stage)s: stage names; %(attempt)s: what a denied attempt tried.

A kind without a sentence reads "%(actor)s: %(action)s" with its short name (or its code). Details are read only for
codes that turn into words (stages, roles, a login failure's reason); never a value a person typed, and the details
JSON itself holds field names and ids only (audit/models.py).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from casemgmt import htcds
from casemgmt.navigation import role_label

# kind: (short name, sentence). Grouped as the features are.
KINDS: dict[str, tuple] = {
    # Cases
    "case.view": (_l("Case viewed"), _l("%(actor)s viewed the case %(case)s")),
    "case.create": (_l("Case opened"), _l("%(actor)s opened the case %(case)s")),
    "case.update": (_l("Case edited"), _l("%(actor)s edited the case %(case)s")),
    "case.stage_change": (_l("Stage changed"),
                          _l("%(actor)s moved the case %(case)s from %(from_stage)s to %(to_stage)s")),
    "case.stage_followed": (_l("Stage moved by a record"),
                            _l("The case %(case)s moved from %(from_stage)s to %(to_stage)s after a record by "
                               "%(actor)s")),
    "case.stage_not_followed": (_l("Stage move refused"),
                                _l("The case %(case)s stayed in %(from_stage)s after a record by %(actor)s: a "
                                   "check refused the move to %(to_stage)s")),
    "case.search": (_l("Case search"), _l("%(actor)s searched the cases")),
    "case.erase": (_l("Case erased"), _l("%(actor)s erased the personal data of the case %(case)s")),
    "case.export": (_l("Case exported"), _l("%(actor)s exported the case %(case)s")),
    "case.timeline_view": (_l("Timeline viewed"), _l("%(actor)s viewed the timeline of the case %(case)s")),
    "case.tasks_view": (_l("Case tasks viewed"), _l("%(actor)s viewed the tasks of the case %(case)s")),
    "case.closure_view": (_l("Closure viewed"), _l("%(actor)s viewed the closure of the case %(case)s")),
    "revision.view": (_l("Earlier versions viewed"),
                      _l("%(actor)s viewed the earlier versions of a record of the case %(case)s")),
    "closure.request": (_l("Closure requested"), _l("%(actor)s asked to close the case %(case)s")),
    "closure.approve": (_l("Closure approved"), _l("%(actor)s approved the closure of the case %(case)s")),
    "closure.reject": (_l("Closure refused"), _l("%(actor)s refused the closure of the case %(case)s")),
    "closure.withdraw": (_l("Closure request withdrawn"),
                         _l("%(actor)s withdrew the request to close the case %(case)s")),
    "closure.record_earlier": (_l("Earlier closure recorded"),
                               _l("%(actor)s recorded an earlier closure of the case %(case)s")),
    # Intake
    "contact.log": (_l("Contact logged"), _l("%(actor)s logged a contact")),
    "contact.view": (_l("Contact viewed"), _l("%(actor)s viewed a contact")),
    "contact.handled": (_l("Contact handled"), _l("%(actor)s marked a contact as handled")),
    "contact.correct": (_l("Contact corrected"), _l("%(actor)s corrected a contact")),
    "contact.delete": (_l("Contact deleted"), _l("%(actor)s deleted a contact")),
    "intake.case_opened": (_l("Case opened from a contact"),
                           _l("%(actor)s opened the case %(case)s from a contact")),
    "intake.contact_attach": (_l("Contact attached to a case"),
                              _l("%(actor)s attached a contact to the case %(case)s")),
    "intake.duplicate_check": (_l("Duplicate check"), _l("%(actor)s checked for possible duplicates")),
    "screening.record": (_l("Screening recorded"), _l("%(actor)s recorded a screening for the case %(case)s")),
    "screening.view": (_l("Screening viewed"), _l("%(actor)s viewed the screening of the case %(case)s")),
    "consent.record": (_l("Consent recorded"), _l("%(actor)s recorded consent for the case %(case)s")),
    "consent.view": (_l("Consent viewed"), _l("%(actor)s viewed the consent of the case %(case)s")),
    "consent.withdraw": (_l("Consent withdrawn"),
                         _l("%(actor)s recorded a withdrawal of consent for the case %(case)s")),
    # Shelter
    "placement.admit": (_l("Shelter admission"), _l("%(actor)s admitted the person of case %(case)s to a shelter")),
    "placement.discharge": (_l("Shelter discharge"),
                            _l("%(actor)s discharged the person of case %(case)s from a shelter")),
    "placement.record_past": (_l("Past placement recorded"),
                              _l("%(actor)s recorded a past placement for the case %(case)s")),
    "placement.correct": (_l("Placement corrected"), _l("%(actor)s corrected a placement of the case %(case)s")),
    "placement.delete": (_l("Placement deleted"), _l("%(actor)s deleted a placement of the case %(case)s")),
    "facility.create": (_l("Facility added"), _l("%(actor)s added a shelter facility")),
    "facility.update": (_l("Facility edited"), _l("%(actor)s edited a shelter facility")),
    "facility.view_occupants": (_l("Occupants viewed"), _l("%(actor)s viewed the occupants of a shelter facility")),
    # Counseling
    "counseling.record": (_l("Counseling session recorded"),
                          _l("%(actor)s recorded a counseling session for the case %(case)s")),
    "counseling.read_notes": (_l("Counseling notes read"),
                              _l("%(actor)s read the counseling notes of the case %(case)s")),
    "counseling.correct": (_l("Counseling session corrected"),
                           _l("%(actor)s corrected a counseling session of the case %(case)s")),
    "counseling.delete": (_l("Counseling session deleted"),
                          _l("%(actor)s deleted a counseling session of the case %(case)s")),
    # Referrals, transfers and shared access
    "referral.create": (_l("Referral sent"), _l("%(actor)s referred the case %(case)s to %(organisation)s")),
    "referral.accept": (_l("Referral accepted"), _l("%(actor)s accepted the referral of the case %(case)s")),
    "referral.decline": (_l("Referral declined"), _l("%(actor)s declined the referral of the case %(case)s")),
    "referral.revoke": (_l("Referral revoked"), _l("%(actor)s revoked the referral of the case %(case)s")),
    "referral.resume": (_l("Referral resumed"), _l("%(actor)s resumed the referral of the case %(case)s")),
    "referral.consent_override": (_l("Shared without consent"),
                                  _l("%(actor)s shared the case %(case)s without the person's consent")),
    "transfer.request": (_l("Transfer requested"),
                         _l("%(actor)s asked to transfer the case %(case)s to %(organisation)s")),
    "transfer.approve": (_l("Transfer approved"), _l("%(actor)s approved the transfer of the case %(case)s")),
    "transfer.reject": (_l("Transfer refused"), _l("%(actor)s refused the transfer of the case %(case)s")),
    "transfer.cancel": (_l("Transfer cancelled"), _l("%(actor)s cancelled the transfer of the case %(case)s")),
    "transfer.accept": (_l("Transfer accepted"), _l("%(actor)s accepted the transfer of the case %(case)s")),
    "transfer.decline": (_l("Transfer declined"), _l("%(actor)s declined the transfer of the case %(case)s")),
    "grant.create": (_l("Access granted"), _l("%(actor)s gave access to the case %(case)s")),
    "grant.suspend": (_l("Access suspended"), _l("%(actor)s suspended access to the case %(case)s")),
    "grant.resume": (_l("Access resumed"), _l("%(actor)s resumed access to the case %(case)s")),
    "grant.revoke": (_l("Access revoked"), _l("%(actor)s revoked access to the case %(case)s")),
    "match.cross_check": (_l("Cross-organisation check"), _l("%(actor)s checked for matches in other organisations")),
    "match.cross_organisation": (_l("Cross-organisation match"),
                                 _l("%(actor)s found possible matches with other organisations' cases")),
    # Families and tracing
    "family.view": (_l("Family viewed"), _l("%(actor)s viewed the family of the case %(case)s")),
    "family.add": (_l("Family member added"), _l("%(actor)s added a family member to the case %(case)s")),
    "family.edit": (_l("Family member edited"), _l("%(actor)s edited a family member of the case %(case)s")),
    "family.remove": (_l("Family member removed"), _l("%(actor)s removed a family member of the case %(case)s")),
    "tracing.view": (_l("Tracing viewed"), _l("%(actor)s viewed the family tracing of the case %(case)s")),
    "tracing.open": (_l("Tracing opened"), _l("%(actor)s opened a family tracing request for the case %(case)s")),
    "tracing.action": (_l("Tracing action"), _l("%(actor)s recorded a tracing action for the case %(case)s")),
    "tracing.visit": (_l("Family visit"), _l("%(actor)s recorded a family assessment visit for the case %(case)s")),
    "tracing.close": (_l("Tracing closed"), _l("%(actor)s closed a family tracing request of the case %(case)s")),
    "tracing.own_matches": (_l("Tracing matches viewed"),
                            _l("%(actor)s looked for matches to a tracing request of the case %(case)s")),
    "tracing.cross_check": (_l("Tracing cross-check"),
                            _l("%(actor)s checked a tracing request of the case %(case)s against other "
                               "organisations' cases")),
    # Best interests
    "bestinterests.view": (_l("Best interests viewed"),
                           _l("%(actor)s viewed the best-interests page of the case %(case)s")),
    "bid.view": (_l("Determination viewed"),
                 _l("%(actor)s viewed a best-interests determination of the case %(case)s")),
    "bia.record": (_l("Best-interests assessment"),
                   _l("%(actor)s recorded a best-interests assessment for the case %(case)s")),
    "bid.convene": (_l("Panel convened"),
                    _l("%(actor)s convened a best-interests panel for the case %(case)s")),
    "bid.sign": (_l("Determination signed"),
                 _l("%(actor)s signed the best-interests determination of the case %(case)s")),
    "bid.determined": (_l("Determination made"),
                       _l("The best-interests determination of the case %(case)s was made (last signature by "
                          "%(actor)s)")),
    "bid.not_agreed": (_l("Panel did not agree"),
                       _l("The best-interests panel of the case %(case)s did not agree (last vote by %(actor)s)")),
    "bid.withdraw": (_l("Determination withdrawn"),
                     _l("%(actor)s withdrew a best-interests determination of the case %(case)s")),
    "guardian.add": (_l("Guardian added"), _l("%(actor)s recorded a guardian for the case %(case)s")),
    "guardian.end": (_l("Guardianship ended"), _l("%(actor)s ended a guardianship of the case %(case)s")),
    "care.add": (_l("Care arrangement added"), _l("%(actor)s recorded a care arrangement for the case %(case)s")),
    "care.end": (_l("Care arrangement ended"), _l("%(actor)s ended a care arrangement of the case %(case)s")),
    # Returns
    "return.view": (_l("Return viewed"), _l("%(actor)s viewed the return plan of the case %(case)s")),
    "return.plan_create": (_l("Return plan started"), _l("%(actor)s started a return plan for the case %(case)s")),
    "return.destination": (_l("Return destination"),
                           _l("%(actor)s recorded the destination of the return of case %(case)s")),
    "return.risk_assessment": (_l("Return risk assessment"),
                               _l("%(actor)s recorded the risk assessment of the return of case %(case)s")),
    "return.family_assessment": (_l("Return family assessment"),
                                 _l("%(actor)s recorded the family assessment of the return of case %(case)s")),
    "return.travel_document": (_l("Travel document"),
                               _l("%(actor)s recorded the travel document of the return of case %(case)s")),
    "return.consular_contact": (_l("Consular contact"),
                                _l("%(actor)s recorded the consular contact of the return of case %(case)s")),
    "return.itinerary": (_l("Return itinerary"),
                         _l("%(actor)s recorded the itinerary of the return of case %(case)s")),
    "return.submit": (_l("Return plan submitted"),
                      _l("%(actor)s submitted the return plan of the case %(case)s for approval")),
    "return.approve": (_l("Return plan approved"), _l("%(actor)s approved the return plan of the case %(case)s")),
    "return.depart": (_l("Departure recorded"), _l("%(actor)s recorded the departure of the case %(case)s")),
    "return.arrive": (_l("Arrival recorded"), _l("%(actor)s recorded the arrival of the case %(case)s")),
    "return.cancel": (_l("Return cancelled"), _l("%(actor)s cancelled the return of the case %(case)s")),
    # Reintegration
    "reintegration.view": (_l("Reintegration viewed"),
                           _l("%(actor)s viewed the reintegration of the case %(case)s")),
    "reintegration.plan_create": (_l("Reintegration plan started"),
                                  _l("%(actor)s started a reintegration plan for the case %(case)s")),
    "reintegration.plan_update": (_l("Reintegration plan edited"),
                                  _l("%(actor)s edited the reintegration plan of the case %(case)s")),
    "reintegration.service": (_l("Reintegration service"),
                              _l("%(actor)s recorded a reintegration service for the case %(case)s")),
    "reintegration.visit": (_l("Monitoring visit"),
                            _l("%(actor)s recorded a monitoring visit for the case %(case)s")),
    "reintegration.service_correct": (_l("Service corrected"),
                                      _l("%(actor)s corrected a reintegration service of the case %(case)s")),
    "reintegration.service_delete": (_l("Service deleted"),
                                     _l("%(actor)s deleted a reintegration service of the case %(case)s")),
    "reintegration.visit_correct": (_l("Visit corrected"),
                                    _l("%(actor)s corrected a monitoring visit of the case %(case)s")),
    "reintegration.visit_delete": (_l("Visit deleted"),
                                   _l("%(actor)s deleted a monitoring visit of the case %(case)s")),
    # Residence and family reunification
    "residence.view": (_l("Residence viewed"), _l("%(actor)s viewed the residence status of the case %(case)s")),
    "status.record": (_l("Residence status recorded"),
                      _l("%(actor)s recorded a residence status for the case %(case)s")),
    "status.update": (_l("Residence status edited"),
                      _l("%(actor)s edited a residence status of the case %(case)s")),
    "reunification.view": (_l("Reunification viewed"),
                           _l("%(actor)s viewed the family reunification of the case %(case)s")),
    "reunification.open": (_l("Reunification opened"),
                           _l("%(actor)s opened a family reunification for the case %(case)s")),
    "reunification.member_add": (_l("Reunification member added"),
                                 _l("%(actor)s added a family member to the reunification of case %(case)s")),
    "reunification.member_update": (_l("Reunification member edited"),
                                    _l("%(actor)s edited a family member of the reunification of case %(case)s")),
    "reunification.arrived": (_l("Family arrived"),
                              _l("%(actor)s recorded a family member's arrival for the case %(case)s")),
    "reunification.service": (_l("Reunification service"),
                              _l("%(actor)s recorded a reunification service for the case %(case)s")),
    "reunification.cancel": (_l("Reunification cancelled"),
                             _l("%(actor)s cancelled the family reunification of the case %(case)s")),
    # Tasks and documents
    "task.create": (_l("Task added"), _l("%(actor)s added a task to the case %(case)s")),
    "task.update": (_l("Task edited"), _l("%(actor)s edited a task of the case %(case)s")),
    "task.complete": (_l("Task done"), _l("%(actor)s completed a task of the case %(case)s")),
    "task.reopen": (_l("Task reopened"), _l("%(actor)s reopened a task of the case %(case)s")),
    "document.upload": (_l("Document uploaded"), _l("%(actor)s uploaded a document to the case %(case)s")),
    "document.download": (_l("Document downloaded"),
                          _l("%(actor)s downloaded a document of the case %(case)s")),
    # Assistance fund
    "fund.view": (_l("Fund request viewed"), _l("%(actor)s viewed an assistance fund request of the case %(case)s")),
    "fund.request": (_l("Fund request made"),
                     _l("%(actor)s requested assistance from the fund for the case %(case)s")),
    "fund.approve": (_l("Fund request approved"),
                     _l("%(actor)s approved an assistance fund request of the case %(case)s")),
    "fund.decline": (_l("Fund request declined"),
                     _l("%(actor)s declined an assistance fund request of the case %(case)s")),
    "fund.cancel": (_l("Fund request cancelled"),
                    _l("%(actor)s cancelled an assistance fund request of the case %(case)s")),
    "fund.disburse": (_l("Fund payment"), _l("%(actor)s recorded a fund payment for the case %(case)s")),
    "fund.receipt": (_l("Fund receipt"), _l("%(actor)s recorded a receipt of a fund payment for the case %(case)s")),
    "fund.refund": (_l("Fund refund"), _l("%(actor)s recorded a refund to the fund for the case %(case)s")),
    "fund.request_correct": (_l("Fund request corrected"),
                             _l("%(actor)s corrected an assistance fund request of the case %(case)s")),
    "fund.request_delete": (_l("Fund request deleted"),
                            _l("%(actor)s deleted an assistance fund request of the case %(case)s")),
    "fund.payment_correct": (_l("Fund payment corrected"),
                             _l("%(actor)s corrected a fund payment of the case %(case)s")),
    "fund.payment_delete": (_l("Fund payment deleted"), _l("%(actor)s deleted a fund payment of the case %(case)s")),
    # Programmes, donors and reports
    "project.create": (_l("Project added"), _l("%(actor)s added a project")),
    "project.update": (_l("Project edited"), _l("%(actor)s edited a project")),
    "project.export": (_l("Project exported"), _l("%(actor)s exported a project's figures")),
    "donor.create": (_l("Donor added"), _l("%(actor)s added a donor")),
    "enrolment.view": (_l("Enrolments viewed"), _l("%(actor)s viewed the programme enrolments of the case %(case)s")),
    "enrolment.create": (_l("Enrolment"), _l("%(actor)s enrolled the case %(case)s in a project")),
    "enrolment.end": (_l("Enrolment ended"), _l("%(actor)s ended an enrolment of the case %(case)s")),
    "attribution.create": (_l("Cost attributed"),
                           _l("%(actor)s attributed a record of the case %(case)s to a project")),
    "attribution.change": (_l("Attribution changed"),
                           _l("%(actor)s changed the project of a record of the case %(case)s")),
    "attribution.remove": (_l("Attribution removed"),
                           _l("%(actor)s removed the project of a record of the case %(case)s")),
    "exchange_rate.create": (_l("Exchange rate added"), _l("%(actor)s recorded an exchange rate")),
    "exchange_rate.correct": (_l("Exchange rate corrected"), _l("%(actor)s corrected an exchange rate")),
    "report.dashboard": (_l("Dashboard viewed"), _l("%(actor)s viewed the dashboard")),
    "report.donor": (_l("Donor report viewed"), _l("%(actor)s viewed a donor report")),
    "report.donor_export": (_l("Donor report exported"), _l("%(actor)s exported a donor report")),
    "export.identified": (_l("Identified export"), _l("%(actor)s exported cases with names")),
    "export.deidentified": (_l("De-identified export"), _l("%(actor)s exported de-identified case data")),
    "export.caseload": (_l("Caseload export"), _l("%(actor)s exported the caseload")),
    # Accounts and sign-in
    "login.success": (_l("Logged in"), _l("%(actor)s logged in")),
    "login.failure": (_l("Failed login"), _l("%(actor)s failed to log in")),
    "login.throttled": (_l("Login while locked"), _l("%(actor)s tried to log in while the account was locked")),
    "login.locked": (_l("Account locked"), _l("The account of %(actor)s was locked after repeated failed logins")),
    "login.recovery_code": (_l("Recovery code used"), _l("%(actor)s logged in with a recovery code")),
    "logout": (_l("Logged out"), _l("%(actor)s logged out")),
    "reauth.failure": (_l("Wrong passphrase on a confirmation"),
                       _l("%(actor)s gave a wrong passphrase to confirm a change")),
    "account.change_password": (_l("Passphrase changed"), _l("%(actor)s changed their passphrase")),
    "account.enable_2fa": (_l("Two-step login turned on"), _l("%(actor)s turned on two-step login")),
    "account.disable_2fa": (_l("Two-step login turned off"), _l("%(actor)s turned off two-step login")),
    "account.recovery_codes": (_l("Recovery codes renewed"), _l("%(actor)s made new recovery codes")),
    "account.enrol": (_l("Account enrolled"), _l("%(actor)s set up their account")),
    "account.notification_settings": (_l("Notification settings"),
                                      _l("%(actor)s changed their notification settings")),
    "user.create": (_l("Account created"), _l("%(actor)s created the account of %(target)s as %(role)s")),
    "user.set_role": (_l("Role changed"), _l("%(actor)s changed the role of %(target)s to %(role)s")),
    "user.enable": (_l("Account enabled"), _l("%(actor)s enabled the account of %(target)s")),
    "user.disable": (_l("Account disabled"), _l("%(actor)s disabled the account of %(target)s")),
    "user.reset": (_l("Account reset"), _l("%(actor)s reset the account of %(target)s")),
    "user.enrol_link": (_l("Enrolment link"), _l("%(actor)s made an enrolment link for %(target)s")),
    "user.export_grant": (_l("Export permission"), _l("%(actor)s changed the export permission of %(target)s")),
    "account_request.create": (_l("Account request"), _l("%(actor)s asked for an account change for %(target)s")),
    "account_request.approve": (_l("Account request approved"),
                                _l("%(actor)s approved an account change for %(target)s")),
    "account_request.refuse": (_l("Account request refused"),
                               _l("%(actor)s refused an account change for %(target)s")),
    "account_request.withdraw": (_l("Account request withdrawn"),
                                 _l("%(actor)s withdrew an account change for %(target)s")),
    "organisation.create": (_l("Organisation added"), _l("%(actor)s added an organisation")),
    "organisation.time_zone": (_l("Time zone changed"), _l("%(actor)s changed the organisation's time zone")),
    # Security and operations
    "access.denied": (_l("Denied attempt"), _l("%(actor)s was refused: %(attempt)s")),
    "access.not_found": (_l("Page not found"), _l("%(actor)s asked for a record that does not exist")),
    "ratelimit.exceeded": (_l("Too many requests"), _l("%(actor)s made too many requests and was slowed down")),
    "ratelimit.burst": (_l("Burst of requests"), _l("%(actor)s made a burst of requests")),
    "crypto.decrypt_failed": (_l("Decryption failed"),
                              _l("A record of the case %(case)s could not be decrypted for %(actor)s")),
    "keys.rotate.start": (_l("Key rotation started"), _l("%(actor)s started a key rotation")),
    "keys.rotate.finish": (_l("Key rotation finished"), _l("%(actor)s finished a key rotation")),
    "keys.rewrap_contacts": (_l("Contact keys rewrapped"), _l("%(actor)s rewrapped the contacts' keys")),
    "keys.reseal_2fa": (_l("Two-step secrets resealed"), _l("%(actor)s resealed the two-step login secrets")),
    "indexes.rebuild.start": (_l("Index rebuild started"), _l("%(actor)s started rebuilding the search indexes")),
    "indexes.rebuild.finish": (_l("Index rebuild finished"), _l("%(actor)s finished rebuilding the search indexes")),
    "backup.created": (_l("Backup made"), _l("%(actor)s made a backup")),
    "backup.restored": (_l("Backup restored"), _l("%(actor)s restored a backup")),
    "audit.anchor_restart": (_l("Audit anchor restarted"), _l("%(actor)s restarted the audit trail's anchor")),
}

# Kinds whose event may concern no case (a general task): their sentence without one.
WITHOUT_CASE = {
    "task.create": _l("%(actor)s added a general task"),
    "task.update": _l("%(actor)s edited a general task"),
    "task.complete": _l("%(actor)s completed a general task"),
    "task.reopen": _l("%(actor)s reopened a general task"),
    "access.denied": _l("%(actor)s was refused: %(attempt)s"),
    "crypto.decrypt_failed": _l("A record could not be decrypted for %(actor)s"),
}

# Why a login failed (login.failure's "reason"), each a whole sentence.
LOGIN_FAILURES = {
    "password": _l("%(actor)s failed to log in: wrong passphrase"),
    "one_time_code": _l("%(actor)s failed to log in: wrong one-time code"),
    "inactive": _l("%(actor)s failed to log in: the account is disabled"),
    "unknown_account": _l("Someone failed to log in with an unknown username"),
}

# What a denied attempt tried (access.denied's "action", a policy action), each a whole sentence; others read
# "%(actor)s was refused: %(attempt)s" with the attempt's short name or code.
DENIALS = {
    "case.view": _l("%(actor)s was refused access to the case %(case)s"),
    "case.view_identity": _l("%(actor)s was refused the identity of the person of case %(case)s"),
    "case.edit": _l("%(actor)s was refused an edit of the case %(case)s"),
    "case.change_stage": _l("%(actor)s was refused a stage change of the case %(case)s"),
    "case.access_log": _l("%(actor)s was refused the access log of the case %(case)s"),
    "case.erase": _l("%(actor)s was refused the erasure of the case %(case)s"),
    "contact.view": _l("%(actor)s was refused access to a contact"),
}

FALLBACK = _l("%(actor)s: %(action)s")

# A case whose reference the reader may not learn (audit.queries._known_cases).
OTHER_CASE = _l("%(actor)s: %(action)s (a case of another organisation)")
OTHER_CASE_REFUSED = _l("%(actor)s was refused access to a case of another organisation")

STAGE_KINDS = frozenset({"case.stage_change", "case.stage_followed", "case.stage_not_followed"})


class _Words(dict):
    """The placeholders of one sentence; one a translation uses that this event has not is a dash, never a
    KeyError on the page."""

    def __missing__(self, key):
        return "—"


def _code(value) -> str | None:
    """A code from the details, or None: an old or odd row (a list, a number) is no reason for a failed page."""
    return value if isinstance(value, str) else None


def kind_label(kind: str) -> str:
    """The short name of a kind of event, for the filter's select and the fallback sentence; the code when unknown."""
    entry = KINDS.get(kind)
    return str(entry[0]) if entry else kind


def kind_choices() -> list[tuple[str, str]]:
    """(code, short name) of every kind, sorted by the name in the reader's language."""
    return sorted(((code, kind_label(code)) for code in KINDS), key=lambda pair: pair[1].casefold())


def _template(kind: str, details: dict, has_case: bool, case_hidden: bool):
    if kind == "login.failure" and _code(details.get("reason")) in LOGIN_FAILURES:
        return LOGIN_FAILURES[details["reason"]]
    if case_hidden:
        return OTHER_CASE_REFUSED if kind == "access.denied" else OTHER_CASE
    if kind == "access.denied" and has_case and _code(details.get("action")) in DENIALS:
        return DENIALS[details["action"]]
    if not has_case and kind in WITHOUT_CASE:
        return WITHOUT_CASE[kind]
    entry = KINDS.get(kind)
    return entry[1] if entry else FALLBACK


def sentence(kind: str, details: dict, *, actor: str, case: str | None = None, case_hidden: bool = False,
             target: str | None = None, organisation: str | None = None) -> str:
    """The event in one sentence in the reader's language. `details` is the event's decoded JSON; only codes are
    read from it (stages, roles, a failure's reason, a denial's action). case_hidden: the event is about a case
    whose reference the reader may not learn."""
    words = _Words(actor=actor, action=kind_label(kind), attempt=kind_label(_code(details.get("action")) or "—"))
    if case is not None:
        words["case"] = case
    if target is not None:
        words["target"] = target
    if organisation is not None:
        words["organisation"] = organisation
    if kind in STAGE_KINDS:
        words["from_stage"] = htcds.STAGES.label(_code(details.get("from"))) or "—"
        words["to_stage"] = htcds.STAGES.label(_code(details.get("to"))) or "—"
    role = _code(details.get("role")) or (_code(details.get("to")) if kind == "user.set_role" else None)
    if role:
        words["role"] = role_label(role)
    return str(_template(kind, details, case is not None, case_hidden)) % words
