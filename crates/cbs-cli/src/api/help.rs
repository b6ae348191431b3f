//! Help for the actions: the list, grouped, and one action's members.

use cbs_model::{ACTIONS, ActionInfo};

use super::members;

/// The groups `tccbs cbs --help` lists actions under, by what their names mention.
const GROUPS: &[(&str, &[&str])] = &[
    ("Remote disks", &["RemoteDisk"]),
    ("Auto snapshot policies", &["AutoSnapshotPolic"]),
    ("Snapshot groups", &["SnapshotGroup"]),
    ("Disk backups", &["DiskBackup"]),
    ("Snapshots", &["Snapshot", "SnapOverview"]),
    ("Prices and quotas", &["Price", "Quota", "Inquir"]),
    ("Disks", &["Disk"]),
];

fn group_of(action: &ActionInfo) -> &'static str {
    GROUPS
        .iter()
        .find(|(_, words)| words.iter().any(|w| action.name.contains(w)))
        .map_or("Other", |(name, _)| name)
}

/// Every action, grouped, with its safety and sites.
pub fn actions() -> String {
    let mut out = String::from(
        "Every CBS action, the way tccli takes it or in kebab-case:\n\n  \
         tccbs cbs DescribeSnapshots --SnapshotIds '[\"snap-1\"]' --Limit 5\n  \
         tccbs describe-snapshots --snapshot-ids snap-1 --limit 5\n\n\
         `tccbs cbs ACTION --help` lists an action's members. Options after the action: \
         --cli-input-json (JSON, file://PATH or -), --generate-cli-skeleton, --cli-unfold-argument, \
         --filter (JMESPath), --output json|text|table, --waiter (read-only actions), and the global ones.\n",
    );
    let mut names: Vec<&str> = GROUPS.iter().map(|(n, _)| *n).collect();
    names.push("Other");
    for group in names {
        let mut in_group: Vec<&ActionInfo> =
            ACTIONS.iter().filter(|a| group_of(a) == group).collect();
        if in_group.is_empty() {
            continue;
        }
        in_group.sort_by_key(|a| a.name);
        out.push_str(&format!("\n{group}:\n"));
        for action in in_group {
            let mut notes = vec![action.safety.as_str()];
            if action.availability != cbs_model::Availability::Both {
                notes.push(action.availability.as_str());
            }
            if action.deprecated {
                notes.push("deprecated");
            }
            out.push_str(&format!("  {:<42} {}\n", action.name, notes.join(", ")));
        }
    }
    out
}

/// One action: its forms, safety, sites and members.
pub fn action(action: &ActionInfo) -> String {
    let mut out = format!(
        "{name} ({safety}; {sites})\n\nUsage:\n  tccbs cbs {name} [--Member VALUE]... [OPTIONS]\n  tccbs {kebab} [--member VALUE]... [OPTIONS]\n",
        name = action.name,
        safety = action.safety.as_str(),
        sites = action.availability.as_str(),
        kebab = members::kebab(action.name),
    );
    if action.deprecated {
        out.push_str("\nThe service has deprecated this action.\n");
    }
    let request = members::schema(&format!("{}Request", action.name));
    out.push_str("\nMembers (lists and objects as JSON in the tccli form; repeat a kebab-case flag for each list element):\n");
    match request {
        Ok(request) if !request.members.is_empty() => {
            for member in request.members {
                out.push_str(&format!(
                    "  --{:<32} --{:<34} {}{}\n",
                    member.name,
                    members::kebab(member.name),
                    members::type_name(member),
                    if member.required { ", required" } else { "" }
                ));
            }
        }
        _ => out.push_str("  (none)\n"),
    }
    out.push_str(
        "\nOptions:\n  --cli-input-json JSON|file://PATH|-   the request as JSON (members given as flags override it)\n  \
         --generate-cli-skeleton              print a request with every member, for --cli-input-json\n  \
         --cli-unfold-argument                members as dotted paths: --Filters.0.Name n --Filters.0.Values a b\n  \
         --filter EXPR                        a JMESPath expression over the response\n  \
         --output json|text|table             json by default, as tccli\n",
    );
    if action.safety == cbs_model::Safety::ReadOnly {
        out.push_str(
            "  --waiter '{\"expr\": E, \"to\": V, \"timeout\": 180, \"interval\": 5, \"failure\": F}'\n                                       call again until E gives V\n",
        );
    }
    out
}
