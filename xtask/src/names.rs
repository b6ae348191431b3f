//! Rust names for the API's PascalCase names.

// The rule lives with the model, whose names it makes; shared by path so that the
// generator does not depend on what it generates.
#[path = "../../crates/cbs-model/src/naming.rs"]
mod naming;
pub use naming::snake_case as snake;

/// A snake-case name usable as a field or method: keywords become raw identifiers.
pub fn field_ident(name: &str) -> String {
    let snake = snake(name);
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
        "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
        "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
        "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized",
        "use", "virtual", "where", "while", "yield",
    ];
    if KEYWORDS.contains(&snake.as_str()) {
        format!("r#{snake}")
    } else {
        snake
    }
}

/// `InvalidSnapshotId.NotFound` → `InvalidSnapshotIdNotFound`.
pub fn code_variant(code: &str) -> String {
    code.split('.')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases() {
        assert_eq!(snake("SnapshotId"), "snapshot_id");
        assert_eq!(snake("CPU"), "cpu");
        assert_eq!(snake("KMSKeyId"), "kms_key_id");
        assert_eq!(snake("DiskIds"), "disk_ids");
        assert_eq!(snake("ThroughputPerformance"), "throughput_performance");
        assert_eq!(snake("InstanceIdSet"), "instance_id_set");
        assert_eq!(snake("Disk2Id"), "disk2_id");
        assert_eq!(field_ident("Type"), "r#type");
    }

    #[test]
    fn code_variants() {
        assert_eq!(
            code_variant("InvalidSnapshotId.NotFound"),
            "InvalidSnapshotIdNotFound"
        );
        assert_eq!(code_variant("InternalError"), "InternalError");
    }
}
