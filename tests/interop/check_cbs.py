"""Drives the emulator with the official Tencent Cloud Python SDK.

Usage: check_cbs.py HOST:PORT. Prints one line per check and `N passed, M failed`.
"""
import sys
import time

from tencentcloud.cbs.v20170312 import cbs_client, models
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

SECRET_ID = "AKIDinterop0000000000000000000000000"
SECRET_KEY = "interop-secret-key"


def client(endpoint, key=SECRET_KEY, region="ap-guangzhou"):
    http_profile = HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=10)
    profile = ClientProfile(httpProfile=http_profile)
    return cbs_client.CbsClient(credential.Credential(SECRET_ID, key), region, profile)


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
    passed = failed = 0
    snapshot_id = None

    def check(name, fn, *args):
        nonlocal passed, failed
        try:
            result = fn(*args)
            print(f"ok   {name}")
            passed += 1
            return result
        except Exception as e:  # report every failure, keep going
            print(f"FAIL {name}: {e!r}")
            failed += 1
            return None

    snapshot_id = check("CopySnapshotCrossRegions", copy_snapshot, endpoint)
    if snapshot_id:
        check("DescribeSnapshots until NORMAL", describe_copy, endpoint, snapshot_id)
    else:
        print("FAIL DescribeSnapshots until NORMAL: no copy to describe")
        failed += 1
    check("wrong secret key -> AuthFailure.SignatureFailure", wrong_key_is_refused, endpoint)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
