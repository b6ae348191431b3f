//! How the API's PascalCase names become the model's snake-case ones. The code
//! generator reads this file too (by path), so the generated field and method names and
//! anything derived from them at run time (the CLI's kebab-case flags) follow one rule.

/// The snake-case form of an API name: a word starts at an upper-case letter after a
/// lower-case letter or a digit, and at the last capital of an acronym followed by a
/// lower-case letter. `SnapshotId` → `snapshot_id`, `CPU` → `cpu`, `KMSKeyId` →
/// `kms_key_id`, `Disk2Id` → `disk2_id`.
///
/// ```
/// assert_eq!(cbs_model::snake_case("DiskChargePrepaid"), "disk_charge_prepaid");
/// assert_eq!(cbs_model::snake_case("CDCId"), "cdc_id");
/// ```
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
