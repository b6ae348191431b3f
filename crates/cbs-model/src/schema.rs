//! The model's structure at run time: objects, their members and member types.

/// The type of a member, or of its elements when it is a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemberType {
    /// A string (dates and times are strings too).
    String,
    /// An unsigned 64-bit integer.
    U64,
    /// A signed 64-bit integer.
    I64,
    /// A floating-point number.
    F64,
    /// A boolean.
    Bool,
    /// An object, by name ([`object_schema`](crate::object_schema) finds it).
    Object(&'static str),
}

/// One member of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberSchema {
    /// The wire name.
    pub name: &'static str,
    /// Whether the member is a list of `ty`.
    pub list: bool,
    /// The member's (element) type.
    pub ty: MemberType,
    /// Whether requests must carry it (including the overlay's additions).
    pub required: bool,
}

/// An object of the model and its members in the model's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectSchema {
    /// The object's name (`Snapshot`, `DescribeSnapshotsRequest`, …).
    pub name: &'static str,
    /// Its members.
    pub members: &'static [MemberSchema],
}

impl ObjectSchema {
    /// The member with wire name `name`.
    pub fn member(&self, name: &str) -> Option<&'static MemberSchema> {
        self.members.iter().find(|m| m.name == name)
    }
}
