"""Notifications: what needs each user, on a list behind a bell, and optionally a count by e-mail.

Derived from the audit trail. Every step of the journey already writes its audit event (casemgmt.audit.record_event)
in the transaction that makes the change; when that transaction commits, derive.py reads its new events and asks
rules.py, one table from action to recipients, who needs to know. The audit package knows nothing of this: the
dependency points from notifications to audit. A notice is saved by the same commit as the change it reports, or not
at all.

A notice holds no personal data: a kind, the page to act on (a path), the case it is about (its reference is shown
only to a recipient who may open the case, at display time) and the times it was made, read and settled. Its text
is built when it is shown (kinds.py), in the reader's language.

Settled notices: when what a notice asks for is done, by the recipient or by anyone else (a colleague answered the
referral, another supervisor decided the closure, the task was completed), the notice is marked done. It stays on the
list, shown as already handled, so nobody wonders where it went, but it no longer counts on the bell or in e-mails.

Overdue tasks fire no event: sweep.py looks for them (`casemgmt notifications sweep`, and lazily from the home page
at most once an hour per organisation).

E-mail (mail.py) is off unless the installation has an SMTP server and the person turned it on: a digest of counts
("2 approvals are waiting for you") and a link, at most one per person per interval, written to an outbox in the
request's transaction and sent after the commit by a background thread or `casemgmt notifications send`.
"""
