"""Simulated users for `python -m benchmarks.load` (locust, headless): supervisors and caseworkers who list, open and
search cases, open new ones and move them through stages.

benchmarks.load passes two files through the environment: BENCH_FIXTURE (accounts, passphrase, and for each account
case ids in its scope and names to search for) and BENCH_ACKS, where every write the server acknowledged is
appended as a JSON line, so that the database can be checked for each of them afterwards.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import uuid
from datetime import date, timedelta

from locust import HttpUser, between, task

FIXTURE = json.loads(open(os.environ["BENCH_FIXTURE"]).read())  # noqa: SIM115 - read once at start-up
WAIT = tuple(float(x) for x in os.environ.get("BENCH_WAIT", "0.1,0.5").split(","))
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SUBMISSION_INPUT = re.compile(r'name="submission_token"[^>]*value="([^"]+)"')
CASE_URL = re.compile(r"/cases/([0-9a-f-]{36})$")
_accounts = itertools.cycle(FIXTURE["accounts"])
_acks = open(os.environ["BENCH_ACKS"], "a")  # noqa: SIM115 - one file for the whole run, closed at exit


def acknowledged(kind: str, **details) -> None:
    _acks.write(json.dumps({"kind": kind, **details}) + "\n")
    _acks.flush()


class CaseUser(HttpUser):
    wait_time = between(*WAIT)

    def on_start(self) -> None:
        self.account = next(_accounts)
        self.scope = FIXTURE["scopes"][self.account]
        self.rng = random.Random()  # noqa: S311 - choosing what to click, not secrets
        self.mine: dict[str, str] = {}  # cases this user opened during the run -> their stage now
        page = self.client.get("/login", name="/login")
        with self.client.post("/login", name="/login", catch_response=True, data={
            "username": self.account, "password": FIXTURE["password"], "code": "", "csrf_token": _token(page.text),
        }) as response:
            if "/login" in response.url:
                response.failure("login refused")
        self.token = _token(self.client.get("/cases/", name="/cases/").text)

    @task(4)
    def list_cases(self) -> None:
        page = self.rng.randint(1, self.scope["pages"])
        self.client.get(f"/cases/?page={page}", name="/cases/?page=[n]")

    @task(4)
    def view_case(self) -> None:
        self.client.get(f"/cases/{self.rng.choice(self.scope['case_ids'])}", name="/cases/[id]")

    @task(2)
    def search(self) -> None:
        term, reference = self.rng.choice(self.scope["names"])
        with self.client.post("/cases/search", name="/cases/search", catch_response=True,
                              data={"term": term, "csrf_token": self.token}) as response:
            if response.status_code == 200 and reference not in response.text:
                response.failure("search did not find a known person")

    @task(1)
    def open_case(self) -> None:
        # The form page first, as a caseworker opens it: it carries the single-use submission token.
        page = self.client.get("/cases/new", name="/cases/new (form)")
        token = SUBMISSION_INPUT.search(page.text)
        form = {
            "submission_token": token.group(1) if token else "",
            "given_name": "Carga", "family_name": f"Prueba {uuid.uuid4().hex[:8]}", "status": "Active",
            "date_of_birth": (date(1960, 1, 1) + timedelta(days=self.rng.randint(0, 16000))).isoformat(),
            "gender": "Feminine", "citizenship": "PE", "csrf_token": self.token,
        }
        with self.client.post("/cases/new", name="/cases/new", data=form, allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code == 409:  # possible duplicates shown (blind indexes collide by design): confirm
                response.success()
                response = self.client.post("/cases/new", name="/cases/new (confirmed)", allow_redirects=False,
                                            data={**form, "create_anyway": "yes"})
            match = CASE_URL.search(response.headers.get("Location", ""))
            if response.status_code == 302 and match:
                self.mine[match.group(1)] = "intake"
                acknowledged("create", case_id=match.group(1))
            elif response.status_code < 400:
                response.failure(f"case not created (HTTP {response.status_code})")

    @task(1)
    def change_stage(self) -> None:
        if not self.mine:
            return
        case_id = self.rng.choice(list(self.mine))
        to_stage = "counseling" if self.mine[case_id] == "shelter" else "shelter"
        with self.client.post(f"/cases/{case_id}/stage", name="/cases/[id]/stage", catch_response=True,
                              data={"to_stage": to_stage, "reason": "", "csrf_token": self.token}) as response:
            # The redirect lands on the case page, which says whether the move was saved.
            if response.status_code == 200 and "Stage changed to" in response.text:
                self.mine[case_id] = to_stage
                acknowledged("stage", case_id=case_id, to_stage=to_stage)
            elif response.status_code < 400:
                response.failure("stage change not confirmed")


def _token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    return match.group(1) if match else ""
