"""A third party's word on the Organizations calls: the release binary asks
moto (an independent AWS emulator, from PyPI) which accounts its organization
holds, while GuardDuty stays on the project's emulator (moto does not emulate
GuardDuty's member APIs)."""

import os
import subprocess
import sys
from collections import Counter

import pytest

from harness import Stack, _stop, start_listening

boto3 = pytest.importorskip("boto3", reason="moto[server] is in tests/e2e/requirements.txt")


@pytest.fixture(scope="module")
def moto():
    exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc, port = start_listening(lambda port: [exe, "-H", "127.0.0.1", "-p", str(port)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        org = boto3.client("organizations", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        for n in range(30):
            org.create_account(Email=f"member{n}@example.com", AccountName=f"member{n}")
        accounts = []
        for page in org.get_paginator("list_accounts").paginate():
            accounts += [a["Id"] for a in page["Accounts"]]
        yield endpoint, org_id, accounts
    finally:
        _stop(proc)


@pytest.mark.parametrize("org_count", [2, 30])
def test_organization_members_per_moto_are_skipped(moto, org_count):
    endpoint, org_id, accounts = moto
    members = accounts[:org_count]
    outsiders = ["777777777777", "888888888888"]
    event = {
        "accountIds": members,
        "accounts": [{"accountId": a, "email": f"{a}@example.com"} for a in outsiders],
    }
    with Stack(env={"AWS_ENDPOINT_URL_ORGANIZATIONS": endpoint}) as stack:
        status, body, _ = stack.invoke(event)
        assert status == 200, body
        # The response's lists keep the event's first-seen order (promised).
        assert body["invitedAccounts"] == outsiders
        assert [s["accountId"] for s in body["skippedAccounts"]] == members
        assert all(s["reason"] == f"managed by AWS Organizations ({org_id})" for s in body["skippedAccounts"])
        assert body["unprocessedAccounts"] == []
        # On the wire, each outsider is invited exactly once and no member is;
        # the order inside InviteMembers is not promised (accounts join the
        # invite queue as their lookups answer).
        invited = [a for c in stack.emulator.calls() if c["op"] == "InviteMembers" for a in c["accounts"]]
        assert Counter(invited) == Counter(outsiders)
