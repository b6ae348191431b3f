"""Drives the emulator with the official Tencent Cloud Python SDK.

Usage: check_cbs.py HOST:PORT. Prints one line per check and `N passed, M failed`.

The checks: a runbook that sends every action of the API through the SDK's typed
models (TC3 signatures, POST JSON), the same reads signed the legacy v1 way (HmacSHA1
and HmacSHA256, POST form and GET), and refusals: a wrong key, a tampered v1 request.
"""
import json
import sys
import time
import urllib.parse
import urllib.request

from checklist import Checklist
from tencentcloud.cbs.v20170312 import cbs_client, models
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

SECRET_ID = "AKIDinterop0000000000000000000000000"
SECRET_KEY = "interop-secret-key"


def client(endpoint, key=SECRET_KEY, region="ap-guangzhou", sign_method=None, method="POST"):
    http_profile = HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=10, reqMethod=method)
    profile = ClientProfile(httpProfile=http_profile)
    if sign_method:
        profile.signMethod = sign_method
    return cbs_client.CbsClient(credential.Credential(SECRET_ID, key), region, profile)


def wait_until(what, probe, seconds=30):
    """Polls `probe` until it returns something true; bounded by `seconds`."""
    deadline = time.time() + seconds
    while True:
        value = probe()
        if value:
            return value
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


class Runbook:
    """Every action, through the SDK's typed request and response models."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.sent = set()

    def call(self, action, params, region="ap-guangzhou"):
        request = getattr(models, action + "Request")()
        request.from_json_string(json.dumps(params))
        response = getattr(client(self.endpoint, region=region), action)(request)
        self.sent.add(action)
        return json.loads(response.to_json_string())

    def snapshot(self, snapshot_id, region="ap-guangzhou"):
        found = self.call("DescribeSnapshots", {"SnapshotIds": [snapshot_id]}, region)
        return found["SnapshotSet"][0] if found["SnapshotSet"] else None

    def normal(self, snapshot_id, region="ap-guangzhou"):
        return wait_until(
            f"{snapshot_id} NORMAL",
            lambda: (self.snapshot(snapshot_id, region) or {}).get("SnapshotState") == "NORMAL",
        )

    def rolled_back(self, disk_ids):
        wait_until("the rollbacks", lambda: not any(
            d["Rollbacking"] for d in self.call("DescribeDisks", {"DiskIds": disk_ids})["DiskSet"]))

    def run(self):
        zone, instance = "ap-guangzhou-1", "ins-guan0001"
        c = self.call
        assert c("DescribeDiskConfigQuota", {"InquiryType": "INQUIRY_CBS_CONFIG", "Zones": [zone]})["DiskConfigSet"]
        price = c("InquiryPriceCreateDisks", {"DiskChargeType": "POSTPAID_BY_HOUR", "DiskType": "CLOUD_HSSD", "DiskSize": 100})
        assert price["DiskPrice"]["UnitPrice"] > 0, price
        create = {"Placement": {"Zone": zone}, "DiskChargeType": "POSTPAID_BY_HOUR", "DiskType": "CLOUD_HSSD",
                  "DiskSize": 100, "DiskCount": 2, "DiskName": "db", "ClientToken": "interop-disks"}
        d1, d2 = c("CreateDisks", create)["DiskIdSet"]
        assert c("CreateDisks", create)["DiskIdSet"] == [d1, d2], "a repeated ClientToken created again"
        attached = lambda: c("DescribeInstancesDiskNum", {"InstanceIds": [instance]})["AttachDetail"][0]["AttachedDiskCount"]
        before = attached()
        c("AttachDisks", {"InstanceId": instance, "DiskIds": [d1, d2]})
        assert attached() == before + 2
        c("ModifyDiskAttributes", {"DiskIds": [d1], "DiskName": "db-primary"})
        c("InquiryPriceResizeDisk", {"DiskId": d1, "DiskSize": 200})
        c("ResizeDisk", {"DiskId": d1, "DiskSize": 200})
        c("InquirePriceModifyDiskExtraPerformance", {"DiskId": d1, "ThroughputPerformance": 100})
        c("ModifyDiskExtraPerformance", {"DiskId": d1, "ThroughputPerformance": 100})
        disk = c("DescribeDisks", {"DiskIds": [d1]})["DiskSet"][0]
        assert (disk["DiskName"], disk["DiskSize"], disk["InstanceId"]) == ("db-primary", 200, instance), disk

        c("InquirePriceModifyDiskBackupQuota", {"DiskId": d1, "DiskBackupQuota": 1})
        c("ModifyDiskBackupQuota", {"DiskId": d1, "DiskBackupQuota": 1})
        backup = c("CreateDiskBackup", {"DiskId": d1})["DiskBackupId"]
        wait_until("the backup", lambda: c("DescribeDiskBackups", {"DiskBackupIds": [backup]})["DiskBackupSet"][0]["DiskBackupState"] == "NORMAL")
        c("ApplyDiskBackup", {"DiskBackupId": backup, "DiskId": d1, "AutoStopInstance": True})
        self.rolled_back([d1])
        c("DeleteDiskBackups", {"DiskBackupIds": [backup]})

        snap = c("CreateSnapshot", {"DiskId": d1, "SnapshotName": "db nightly"})["SnapshotId"]
        self.normal(snap)
        copy = c("CopySnapshotCrossRegions", {"SnapshotId": snap, "DestinationRegions": ["ap-beijing"]}, region="ap-guangzhou")
        replica = copy["SnapshotCopyResultSet"][0]["SnapshotId"]
        assert self.snapshot(snap)["CopyingToRegions"] == ["ap-beijing"]
        self.normal(replica, "ap-beijing")
        c("ModifySnapshotAttribute", {"SnapshotId": snap, "SnapshotName": "db nightly (kept)"})
        c("ModifySnapshotsSharePermission", {"SnapshotIds": [snap], "AccountIds": ["100000000042"], "Permission": "SHARE"})
        shared = c("DescribeSnapshotSharePermission", {"SnapshotId": snap})["SharePermissionSet"]
        assert shared[0]["AccountId"] == "100000000042", shared
        c("ModifySnapshotsSharePermission", {"SnapshotIds": [snap], "AccountIds": ["100000000042"], "Permission": "CANCEL"})
        c("ApplySnapshot", {"SnapshotId": snap, "DiskId": d1, "AutoStopInstance": True})
        self.rolled_back([d1])

        group = c("CreateSnapshotGroup", {"DiskIds": [d1, d2]})["SnapshotGroupId"]
        groups = wait_until("the group", lambda: [
            g for g in c("DescribeSnapshotGroups", {})["SnapshotGroupSet"]
            if g["SnapshotGroupId"] == group and g["SnapshotGroupState"] == "NORMAL"])
        members = c("DescribeSnapshots", {"SnapshotIds": groups[0]["SnapshotIdSet"]})["SnapshotSet"]
        c("ApplySnapshotGroup", {"SnapshotGroupId": group, "AutoStopInstance": True,
                                 "ApplyDisks": [{"SnapshotId": m["SnapshotId"], "DiskId": m["DiskId"]} for m in members]})
        c("DeleteSnapshotGroup", {"SnapshotGroupId": group})

        policy = c("CreateAutoSnapshotPolicy", {"Policy": [{"Hour": [1]}], "AutoSnapshotPolicyName": "nightly"})
        assert policy["NextTriggerTime"], policy
        policy_id = policy["AutoSnapshotPolicyId"]
        c("BindAutoSnapshotPolicy", {"AutoSnapshotPolicyId": policy_id, "DiskIds": [d2]})
        assert c("DescribeDiskAssociatedAutoSnapshotPolicy", {"DiskId": d2})["TotalCount"] == 1
        c("ModifyAutoSnapshotPolicyAttribute", {"AutoSnapshotPolicyId": policy_id, "RetentionDays": 7})
        found = c("DescribeAutoSnapshotPolicies", {"AutoSnapshotPolicyIds": [policy_id]})["AutoSnapshotPolicySet"]
        assert found[0]["RetentionDays"] == 7 and found[0]["DiskIdSet"] == [d2], found
        c("CopyAutoSnapshotPolicyCrossAccount", {"AutoSnapshotPolicyIds": [policy_id], "TargetAccountUin": "100000000042"})
        c("UnbindAutoSnapshotPolicy", {"AutoSnapshotPolicyId": policy_id, "DiskIds": [d2]})
        c("DeleteAutoSnapshotPolicies", {"AutoSnapshotPolicyIds": [policy_id]})

        listed = c("DescribeSnapshots", {})["TotalCount"]
        assert c("DescribeSnapshotOverview", {})["TotalNums"] == listed
        assert c("GetSnapOverview", {})["TotalNums"] == listed

        self.rolled_back([d1, d2])
        c("DetachDisks", {"DiskIds": [d1, d2]})
        c("InitializeDisks", {"DiskIds": [d2]})
        c("ModifyDisksChargeType", {"DiskIds": [d2], "DiskChargePrepaid": {"Period": 1}})
        c("ModifyDisksRenewFlag", {"DiskIds": [d2], "RenewFlag": "NOTIFY_AND_AUTO_RENEW"})
        c("InquiryPriceRenewDisks", {"DiskIds": [d2], "DiskChargePrepaids": [{"Period": 3}]})
        c("RenewDisk", {"DiskId": d2, "DiskChargePrepaid": {"Period": 3}})
        c("DescribeDiskStoragePool", {})
        c("DescribeDedicatedClusterDiskStatistics", {"DedicatedClusterId": "cluster-none"})

        c("SwitchParameterCreateRemoteDisks", {"Placement": {"Zone": zone}})
        c("InquirePriceCreateRemoteDisks", {"DiskChargeType": "POSTPAID_BY_HOUR", "DiskSize": 100})
        c("DescribeRemoteDiskConfigQuota", {})
        c("CreateRemoteDisks", {"DiskChargeType": "POSTPAID_BY_HOUR", "DiskSize": 100, "InstanceId": instance,
                                "Placement": {"Zone": zone}})
        remote = c("DescribeRemoteDisks", {})["RemoteDiskSet"][0]["RemoteDiskId"]
        c("DescribeRemoteDisksDeniedActions", {"RemoteDiskIds": [remote]})
        c("ModifyRemoteDiskAttributes", {"RemoteDiskIds": [remote], "DiskName": "scratch"})
        c("DetachRemoteDisks", {"InstanceId": instance, "RemoteDiskIds": [remote]})
        c("AttachRemoteDisks", {"InstanceId": instance, "RemoteDiskIds": [remote]})
        c("InquirePriceRenewRemoteDisks", {"RemoteDiskIds": [remote], "DiskChargePrepaidSet": [{"Period": 1}]})
        c("SwitchParameterRenewRemoteDisks", {})
        c("RenewRemoteDisk", {"RemoteDiskId": remote, "DiskChargePrepaid": {"Period": 1}})
        c("DetachRemoteDisks", {"InstanceId": instance, "RemoteDiskIds": [remote]})
        c("TerminateRemoteDisks", {"RemoteDiskIds": [remote]})

        c("DeleteSnapshots", {"SnapshotIds": [snap]})
        c("TerminateDisks", {"DiskIds": [d1, d2]})
        every = {name for name, _ in inspect_actions()}
        missing = sorted(every - self.sent)
        assert not missing, f"never sent: {missing}"
        return len(self.sent)


def inspect_actions():
    """The SDK's own list of actions: its client's public methods."""
    import inspect
    return [(n, f) for n, f in inspect.getmembers(cbs_client.CbsClient, inspect.isfunction) if n[0].isupper()]


def legacy_signatures(endpoint):
    """The reads, signed the v1 way: both digests, POST form and GET."""
    for method in ("POST", "GET"):
        for sign_method in ("HmacSHA1", "HmacSHA256"):
            response = client(endpoint, sign_method=sign_method, method=method).DescribeSnapshots(
                models.DescribeSnapshotsRequest())
            assert response.TotalCount >= 1, (method, sign_method, response.TotalCount)
            request = models.DescribeDisksRequest()
            request.Limit = 1
            disks = client(endpoint, sign_method=sign_method, method=method).DescribeDisks(request)
            assert len(disks.DiskSet) == 1, (method, sign_method)


def v1_get(endpoint, tamper):
    """A v1 GET signed with the SDK's own signing function, optionally changed after."""
    from tencentcloud.common.sign import Sign
    params = {"Action": "DescribeSnapshots", "Version": "2017-03-12", "Region": "ap-guangzhou",
              "Timestamp": int(time.time()), "Nonce": 4242, "SecretId": SECRET_ID,
              "SignatureMethod": "HmacSHA256", "Limit": 5}
    text = "GET" + endpoint + "/?" + "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["Signature"] = Sign.sign(SECRET_KEY, text, "HmacSHA256")
    if tamper:
        params["Limit"] = 100
    url = f"http://{endpoint}/?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())["Response"]


def tampered_v1_is_refused(endpoint):
    untouched = v1_get(endpoint, tamper=False)
    assert "Error" not in untouched, untouched
    tampered = v1_get(endpoint, tamper=True)
    assert tampered.get("Error", {}).get("Code") == "AuthFailure.SignatureFailure", tampered


def copy_snapshot(endpoint):
    request = models.CopySnapshotCrossRegionsRequest()
    request.SnapshotId = "snap-demo0001"
    request.DestinationRegions = ["ap-beijing", "xx-nowhere"]
    response = client(endpoint).CopySnapshotCrossRegions(request)
    results = {r.DestinationRegion: r for r in response.SnapshotCopyResultSet}
    assert results["ap-beijing"].Code == "Success", results["ap-beijing"].Code
    assert results["ap-beijing"].SnapshotId.startswith("snap-")
    assert results["xx-nowhere"].Code == "InvalidParameterValue", results["xx-nowhere"].Code
    assert len(response.RequestId) == 36
    return results["ap-beijing"].SnapshotId


def describe_copy(endpoint, snapshot_id):
    request = models.DescribeSnapshotsRequest()
    request.SnapshotIds = [snapshot_id]
    beijing = client(endpoint, region="ap-beijing")
    deadline = time.time() + 30
    states = []
    while True:
        response = beijing.DescribeSnapshots(request)
        assert response.TotalCount == 1, response.TotalCount
        snapshot = response.SnapshotSet[0]
        states.append((snapshot.SnapshotState, snapshot.Percent))
        if snapshot.SnapshotState == "NORMAL":
            break
        assert snapshot.SnapshotState == "COPYING_FROM_REMOTE", snapshot.SnapshotState
        assert time.time() < deadline, states
        time.sleep(0.3)
    assert states[0][0] == "COPYING_FROM_REMOTE", states
    assert states[-1] == ("NORMAL", 100), states


def wrong_key_is_refused(endpoint):
    request = models.DescribeSnapshotsRequest()
    try:
        client(endpoint, key="not-the-key").DescribeSnapshots(request)
    except TencentCloudSDKException as e:
        assert e.get_code() == "AuthFailure.SignatureFailure", e.get_code()
        assert e.get_request_id(), "error without a request id"
        return
    raise AssertionError("a wrong secret key was accepted")


def main():
    endpoint = sys.argv[1]
    checks = Checklist()
    check = checks.check
    snapshot_id = check("CopySnapshotCrossRegions", copy_snapshot, endpoint)
    if snapshot_id:
        check("DescribeSnapshots until NORMAL", describe_copy, endpoint, snapshot_id)
    else:
        checks.cannot("DescribeSnapshots until NORMAL", "no copy to describe")
    check("wrong secret key -> AuthFailure.SignatureFailure", wrong_key_is_refused, endpoint)
    check("v1 signatures (HmacSHA1, HmacSHA256; POST form, GET)", legacy_signatures, endpoint)
    check("a tampered v1 request -> AuthFailure.SignatureFailure", tampered_v1_is_refused, endpoint)
    sent = check("a runbook through every action", Runbook(endpoint).run)
    if sent:
        print(f"     ({sent} actions sent)")
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
