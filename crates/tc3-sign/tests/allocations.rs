//! Signing with a cached key allocates exactly once: the `Authorization` string.
#![allow(unsafe_code)] // a counting global allocator needs `unsafe impl GlobalAlloc`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tc3_sign::{Credentials, SignableRequest, SigningKey, UtcDate, sign, sign_with_key};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counted<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (value, ALLOCATIONS.with(Cell::get) - before)
}

#[test]
fn allocation_counts() {
    let body = br#"{"SnapshotId":"snap-ckgjwkqh","DestinationRegions":["ap-beijing"]}"#;
    let credentials = Credentials::new("AKIDEXAMPLE", "EXAMPLEKEYexamplekeyEXAMPLEKEY12");
    let request = SignableRequest::post_json("cbs.tencentcloudapi.com", body);
    let key = SigningKey::derive(
        credentials.secret_key(),
        UtcDate::from_unix(1_700_000_000).unwrap(),
        "cbs",
    );

    let (signed, n) = counted(|| sign_with_key(&request, &credentials, &key, 1_700_000_000));
    assert!(signed.is_ok());
    assert_eq!(
        n, 1,
        "cached-key signing allocates only the Authorization string"
    );

    let extra = [
        ("X-TC-Action", "CopySnapshotCrossRegions"),
        ("X-TC-Region", "ap-guangzhou"),
    ];
    let request = request.sign_headers(&extra);
    let (signed, n) = counted(|| sign_with_key(&request, &credentials, &key, 1_700_000_000));
    assert!(signed.is_ok());
    assert_eq!(n, 1, "extra signed headers are sorted without allocating");

    // A fresh derivation adds the key's copy of the service name.
    let (signed, n) = counted(|| sign(&request, &credentials, "cbs", 1_700_000_000));
    assert!(signed.is_ok());
    assert_eq!(n, 2);
}
