//! Issue 9: a permit means what it says. These programs must not compile: a permit forged, reused or redeemed
//! outside core, a mailbox written or a message made without the gate. Each `.stderr` file holds the compiler's
//! error, so a change that lets one compile, or fails it for another reason, fails this test.
#[test]
fn permits_and_mailboxes_cannot_be_used_outside_the_gate() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
