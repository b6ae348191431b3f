"""Reads back, with the official Tencent Cloud Python SDKs, the tags `tccbs replicate
apply` bound to its replicas.

Usage: check_tags.py HOST:PORT, after `tccbs replicate apply --policy
examples/dr.toml` ran against that emulator. Prints one line per check and
`N passed, M failed`.

The Tag SDK's own client signs for service `tag`; the emulator tells the services apart
by the signing scope, as the one port serves both.
"""
import json
import sys

from checklist import Checklist
from tencentcloud.cbs.v20170312 import cbs_client
from tencentcloud.cbs.v20170312 import models as cbs_models
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tag.v20180813 import models as tag_models
from tencentcloud.tag.v20180813 import tag_client

SECRET_ID = "AKIDinterop0000000000000000000000000"
SECRET_KEY = "interop-secret-key"
DESTINATIONS = ["ap-beijing", "ap-shanghai"]
DISKS = {"prod-db-1", "prod-db-2", "prod-web-1"}
OURS = {"tccbs:source", "tccbs:taken", "tccbs:rule", "tccbs:disk", "tccbs:name"}


def profile(endpoint):
    return ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=10))


def tag_call(endpoint, action, params):
    client = tag_client.TagClient(credential.Credential(SECRET_ID, SECRET_KEY), "", profile(endpoint))
    request = getattr(tag_models, action + "Request")()
    request.from_json_string(json.dumps(params))
    return json.loads(getattr(client, action)(request).to_json_string())


def cbs_call(endpoint, region, action, params):
    client = cbs_client.CbsClient(credential.Credential(SECRET_ID, SECRET_KEY), region, profile(endpoint))
    request = getattr(cbs_models, action + "Request")()
    request.from_json_string(json.dumps(params))
    return json.loads(getattr(client, action)(request).to_json_string())


def tag_map(tags):
    return {t["TagKey"]: t["TagValue"] for t in tags}


def by_tag(endpoint):
    """GetResources by the rule's tag: every replica, each with its inventory."""
    found = tag_call(endpoint, "GetResources", {
        "TagFilters": [{"TagKey": "tccbs:rule", "TagValue": ["prod"]}], "MaxResults": 50})
    replicas = {}
    for resource in found["ResourceTagMappingList"]:
        name = resource["Resource"]
        assert name.startswith("qcs::cvm:") and ":snapshot/snap-" in name, name
        region = name.split(":")[3]
        tags = tag_map(resource["Tags"])
        assert OURS <= tags.keys(), tags
        source_region, disk, snapshot = tags["tccbs:source"].split("/")
        assert source_region == "ap-guangzhou" and disk.startswith("disk-prod"), tags
        assert snapshot.startswith("snap-"), tags
        assert tags["tccbs:name"] in DISKS, tags
        replicas[(region, name.rsplit("/", 1)[1])] = tags
    regions = sorted({region for region, _ in replicas})
    assert regions == DESTINATIONS, regions
    assert len(replicas) == 2 * len(DISKS), sorted(replicas)
    return replicas


def by_ids(endpoint, replicas):
    """DescribeResourceTagsByResourceIds per destination agrees with GetResources."""
    for region in DESTINATIONS:
        ids = sorted(i for r, i in replicas if r == region)
        found = tag_call(endpoint, "DescribeResourceTagsByResourceIds", {
            "ServiceType": "cvm", "ResourcePrefix": "snapshot", "ResourceIds": ids,
            "ResourceRegion": region, "Limit": 100})
        seen = {}
        for tag in found["Tags"]:
            seen.setdefault(tag["ResourceId"], {})[tag["TagKey"]] = tag["TagValue"]
        for replica_id in ids:
            assert seen.get(replica_id) == replicas[(region, replica_id)], (replica_id, seen.get(replica_id))


def keys_and_values(endpoint):
    """GetTagKeys and GetTagValues list this tool's keys and the rule's name."""
    keys = tag_call(endpoint, "GetTagKeys", {"MaxResults": 1000})["TagKeys"]
    assert OURS <= set(keys), keys
    values = tag_call(endpoint, "GetTagValues", {"TagKeys": ["tccbs:rule"], "MaxResults": 1000})["Tags"]
    assert [(v["TagKey"], v["TagValue"]) for v in values] == [("tccbs:rule", "prod")], values


def in_cbs(endpoint, replicas):
    """The CBS SDK's DescribeSnapshots shows each replica with the same tags."""
    for region in DESTINATIONS:
        listed = cbs_call(endpoint, region, "DescribeSnapshots", {"Limit": 100})["SnapshotSet"]
        for snapshot in listed:
            key = (region, snapshot["SnapshotId"])
            if key in replicas:
                tags = {t["Key"]: t["Value"] for t in snapshot["Tags"]}
                assert tags == replicas[key], (key, tags)
                assert replicas[key]["tccbs:source"].split("/")[1] == snapshot["DiskId"], key


def main():
    endpoint = sys.argv[1]
    checks = Checklist()
    check = checks.check
    replicas = check("GetResources by tccbs:rule: every replica with its inventory", by_tag, endpoint)
    if replicas:
        check("DescribeResourceTagsByResourceIds agrees", by_ids, endpoint, replicas)
        check("DescribeSnapshots (CBS SDK) shows the same tags", in_cbs, endpoint, replicas)
    else:
        checks.cannot("DescribeResourceTagsByResourceIds agrees", "no replicas found")
        checks.cannot("DescribeSnapshots (CBS SDK) shows the same tags", "no replicas found")
    check("GetTagKeys and GetTagValues", keys_and_values, endpoint)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
